/** Query adapters: learned maps of query embeddings, trained from a collection's own judgements (see docs/tune.md). */
export { QueryAdapter, type QueryAdapterHeader } from './query-adapter.ts';
export {
  trainQueryAdapter, matrixSpace, meanNdcg10, type AdapterTrainingData, type DocumentSpace, type TrainQueryAdapterOptions, type TrainQueryAdapterResult, type AdapterEpoch,
} from './train-query-adapter.ts';
export { crossValidateQueryAdapter, type CrossValidationFold, type CrossValidationOptions, type CrossValidationResult } from './cross-validate.ts';
export { collectionSpace } from './collection-space.ts';
export { tuneCollection, type TuneCollectionOptions, type TuneCollectionResult } from './tune-collection.ts';
