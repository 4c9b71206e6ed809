/**
 * Training a collection's query adapter from judged queries (the library call behind `biencoder tune`):
 * the queries are embedded by the collection's encoder without any adapter, the documents are the
 * collection's stored vectors (collection-space.ts: nothing is re-embedded), and the adapter is stored
 * with the collection only when it beat the identity on its validation queries.
 */
import { BiencoderError } from '../errors.ts';
import type { CollectionApi } from '../collection/collection-api.ts';
import type { Qrels } from '../eval/metrics.ts';
import { collectionSpace } from './collection-space.ts';
import { trainQueryAdapter, type TrainQueryAdapterOptions, type TrainQueryAdapterResult } from './train-query-adapter.ts';

export interface TuneCollectionOptions extends TrainQueryAdapterOptions {
  /** Store the adapter with the collection when one is kept; default true. */
  readonly save?: boolean;
}

export interface TuneCollectionResult extends TrainQueryAdapterResult {
  /** Whether an adapter was stored with the collection. */
  readonly saved: boolean;
}

export async function tuneCollection(
  collection: CollectionApi, queries: readonly { readonly id: string; readonly text: string }[], qrels: Qrels, options: TuneCollectionOptions = {},
): Promise<TuneCollectionResult> {
  if (collection.encoder === undefined) {
    throw new BiencoderError('ENCODER_REQUIRED', 'training a query adapter embeds the queries with the collection\'s encoder: open the collection with { encoder }');
  }
  if (options.save !== false && collection.readOnly) throw new BiencoderError('READ_ONLY', 'the collection was opened read-only: the adapter could not be stored (pass save: false to train without storing)');
  const judged = queries.filter((q) => [...(qrels.get(q.id) ?? new Map<string, number>())].some(([, g]) => g > 0));
  const matrix = await collection.embedQueries(judged.map((q) => q.text), { adapter: false, signal: options.signal });
  const result = await trainQueryAdapter({ queries: matrix, queryIds: judged.map((q) => q.id), documents: collectionSpace(collection), qrels }, options);
  let saved = false;
  if (result.adapter !== undefined && options.save !== false) {
    await collection.setQueryAdapter(result.adapter, {
      validation: {
        queries: result.validation.queries, ndcg10Without: result.validation.baseNdcg10, ndcg10With: result.validation.bestNdcg10,
        epoch: result.validation.bestEpoch, trainingQueries: result.trainingQueries, trainingPairs: result.trainingPairs,
      },
    });
    saved = true;
  }
  return { ...result, saved };
}
