/**
 * `biencoder eval --adapter SPLIT` and `--cv K`: dense (flat) retrieval with a query adapter, as rows of
 * the eval table beside the others, with the same metrics.
 * - --adapter SPLIT: an adapter trained on another split of the dataset (e.g. train), evaluated on --split.
 * - --cv K: K-fold cross-validation over --split's judged queries (for datasets without a train split):
 *   each query is searched with the adapter of the fold that held it out (or without one, when that
 *   fold's training kept none; train-query-adapter.ts explains when); the fold's relevant documents are
 *   kept out of the other folds' training (cross-validate.ts).
 * The documents are the eval cache's flat collection: nothing is re-embedded.
 */
import { Collection } from '../collection/collection.ts';
import { BiencoderError } from '../errors.ts';
import type { Encoder } from '../encoders/encoder.ts';
import { loadBeirDataset, type BeirDataset } from '../eval/beir.ts';
import { evaluateRun, type Evaluation, type RankedHit, type Run } from '../eval/metrics.ts';
import { cacheCollectionDir, encodeQueries } from '../eval/runner.ts';
import { pickRows, type Matrix } from '../matrix.ts';
import { collectionSpace } from '../tune/collection-space.ts';
import { crossValidateQueryAdapter, type CrossValidationResult } from '../tune/cross-validate.ts';
import { trainQueryAdapter, type TrainQueryAdapterResult } from '../tune/train-query-adapter.ts';

export interface AdapterEvalRow {
  readonly name: string;
  readonly evaluation: Evaluation;
  /** What the row's adapter(s) did on validation, for the report. */
  readonly detail: Readonly<Record<string, unknown>>;
}


export async function adapterRows(
  dataset: BeirDataset, options: { adapterSplit?: string; folds?: number; datasetDir: string; seed?: number },
  run: { encoder: Encoder; cacheDir: string; k: number; cutoffs?: readonly number[]; ignoreIdenticalIds?: boolean; log: (line: string) => void },
): Promise<AdapterEvalRow[]> {
  const collection = await Collection.open(cacheCollectionDir(run.cacheDir, 'flat'), { encoder: run.encoder, readOnly: true });
  const space = collectionSpace(collection);
  const evaluate = (r: Run): Evaluation => evaluateRun(r, dataset.qrels, { cutoffs: run.cutoffs, ignoreIdenticalIds: run.ignoreIdenticalIds });
  const search = async (queries: Matrix, ids: readonly string[], into: Map<string, RankedHit[]>): Promise<void> => {
    const hits = await collection.searchBatch(queries, { k: run.k, mode: 'dense' });
    hits.forEach((list, i) => into.set(ids[i], list.map((h) => ({ id: h.id, score: h.score }))));
  };
  try {
    const out: AdapterEvalRow[] = [];
    const { matrix } = await encodeQueries(run.encoder, dataset.queries.map((q) => q.text));
    const ids = dataset.queries.map((q) => q.id);
    if (options.adapterSplit !== undefined) {
      if (options.adapterSplit === dataset.split) throw new BiencoderError('INVALID_ARGUMENT', `--adapter ${options.adapterSplit} is the evaluated split: train on another split (e.g. train), or use --cv K`);
      const train = loadBeirDataset(options.datasetDir, { split: options.adapterSplit, skipCorpus: true });
      run.log(`training a query adapter on ${train.split} (${train.queries.length} queries)`);
      const trainMatrix = (await encodeQueries(run.encoder, train.queries.map((q) => q.text))).matrix;
      const trained: TrainQueryAdapterResult = await trainQueryAdapter({ queries: trainMatrix, queryIds: train.queries.map((q) => q.id), documents: space, qrels: train.qrels }, { seed: options.seed });
      const ranked = new Map<string, RankedHit[]>();
      await search(trained.adapter === undefined ? matrix : trained.adapter.apply(matrix), ids, ranked);
      out.push({
        name: 'flat+adapter',
        evaluation: evaluate(ranked),
        detail: { trainedOn: train.split, kept: trained.adapter !== undefined, ...(trained.reason === undefined ? {} : { reason: trained.reason }), validation: trained.validation, epochs: trained.epochs, seconds: trained.seconds },
      });
    }
    if (options.folds !== undefined) {
      const ranked = new Map<string, RankedHit[]>();
      const searches: Promise<void>[] = [];
      const cv: CrossValidationResult = await crossValidateQueryAdapter({ queries: matrix, queryIds: ids, documents: space, qrels: dataset.qrels }, options.folds, {
        seed: options.seed,
        onFold: (fold, detail) => {
          run.log(`fold ${fold.fold}/${options.folds}: ${fold.queries} queries, nDCG@10 ${fold.baseNdcg10.toFixed(4)} -> ${fold.adaptedNdcg10.toFixed(4)}${fold.adapted ? '' : ' (no adapter kept)'}`);
          const held = pickRows(matrix, detail.heldOut);
          searches.push(search(detail.adapter === undefined ? held : detail.adapter.apply(held), detail.heldOut.map((i) => ids[i]), ranked));
        },
      });
      await Promise.all(searches);
      // queries without a judgement were in no fold: searched without an adapter
      const rest = ids.map((id, i) => (ranked.has(id) ? -1 : i)).filter((i) => i >= 0);
      if (rest.length > 0) await search(pickRows(matrix, rest), rest.map((i) => ids[i]), ranked);
      out.push({ name: `flat+adapter(cv${options.folds})`, evaluation: evaluate(ranked), detail: { folds: cv.folds, baseNdcg10: cv.baseNdcg10, adaptedNdcg10: cv.adaptedNdcg10 } });
    }
    return out;
  } finally {
    await collection.close();
  }
}
