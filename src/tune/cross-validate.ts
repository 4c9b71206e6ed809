/**
 * K-fold cross-validation of query adapters, for datasets without a train split (cranfield, cisi):
 * the judged queries are shuffled (seeded) into K folds; for each fold an adapter is trained on the
 * other folds (with its own validation split and early stopping, train-query-adapter.ts) and the
 * fold's queries are searched with it — or without one, when that fold's training kept none. The
 * fold's relevant documents are kept out of the training pairs and hard negatives (excludeDocuments):
 * a query is never scored by an adapter that saw its query or its documents, so memorizing judged
 * documents cannot raise the figure. nDCG@10 is the mean over all queries.
 */
import { BiencoderError } from '../errors.ts';
import { pickRows } from '../matrix.ts';
import type { QueryAdapter } from './query-adapter.ts';
import { mulberry32, shuffle } from './seeded-random.ts';
import { meanNdcg10, trainQueryAdapter, type AdapterTrainingData, type TrainQueryAdapterOptions } from './train-query-adapter.ts';

export interface CrossValidationFold {
  readonly fold: number;
  readonly queries: number;
  readonly baseNdcg10: number;
  readonly adaptedNdcg10: number;
  /** Whether this fold's training kept an adapter (else its queries were searched without one). */
  readonly adapted: boolean;
  readonly reason?: string;
  readonly seconds: number;
}

export interface CrossValidationResult {
  readonly folds: readonly CrossValidationFold[];
  /** Mean nDCG@10 over every judged query, without and with the adapters. */
  readonly baseNdcg10: number;
  readonly adaptedNdcg10: number;
  readonly queries: number;
}


/** 0..n-1 shuffled by a seeded stream (the folds' assignment). */
function seededOrder(n: number, seed: number): number[] {
  return shuffle(Array.from({ length: n }, (_, i) => i), mulberry32(seed));
}

export interface CrossValidationOptions extends TrainQueryAdapterOptions {
  /** Called after each fold with its adapter (undefined when none was kept) and its held-out query rows. */
  readonly onFold?: (fold: CrossValidationFold, detail: { readonly adapter: QueryAdapter | undefined; readonly heldOut: readonly number[] }) => void;
}

export async function crossValidateQueryAdapter(data: AdapterTrainingData, folds: number, options: CrossValidationOptions = {}): Promise<CrossValidationResult> {
  if (!Number.isInteger(folds) || folds < 2 || folds > 20) throw new BiencoderError('INVALID_ARGUMENT', `cross-validation takes 2..20 folds, got ${String(folds)}`);
  const judged = data.queryIds.map((id, i) => ([...(data.qrels.get(id) ?? new Map<string, number>())].some(([, g]) => g > 0) ? i : -1)).filter((i) => i >= 0);
  if (judged.length < folds * 5) throw new BiencoderError('INVALID_ARGUMENT', `${folds}-fold cross-validation needs at least ${folds * 5} judged queries, got ${judged.length}`);
  const order = seededOrder(judged.length, (options.seed ?? 42) + 1).map((i) => judged[i]);
  const results: CrossValidationFold[] = [];
  let base = 0;
  let adapted = 0;
  for (let f = 0; f < folds; f++) {
    const started = performance.now();
    const held = order.filter((_, i) => i % folds === f).sort((a, b) => a - b);
    const rest = order.filter((_, i) => i % folds !== f).sort((a, b) => a - b);
    const excluded = new Set(held.flatMap((i) => [...(data.qrels.get(data.queryIds[i]) ?? new Map<string, number>())].filter(([, g]) => g > 0).map(([id]) => id)));
    const trained = await trainQueryAdapter({ ...data, queries: pickRows(data.queries, rest), queryIds: rest.map((i) => data.queryIds[i]) }, { ...options, excludeDocuments: excluded });
    const heldQueries = pickRows(data.queries, held);
    const heldIds = held.map((i) => data.queryIds[i]);
    const b = await meanNdcg10(heldQueries, heldIds, data.documents, data.qrels);
    const a = trained.adapter === undefined ? b : await meanNdcg10(trained.adapter.apply(heldQueries), heldIds, data.documents, data.qrels);
    const fold: CrossValidationFold = {
      fold: f + 1, queries: held.length, baseNdcg10: b, adaptedNdcg10: a, adapted: trained.adapter !== undefined,
      ...(trained.reason === undefined ? {} : { reason: trained.reason }), seconds: (performance.now() - started) / 1000,
    };
    options.onFold?.(fold, { adapter: trained.adapter, heldOut: held });
    results.push(fold);
    base += b * held.length;
    adapted += a * held.length;
  }
  return { folds: results, baseNdcg10: base / judged.length, adaptedNdcg10: adapted / judged.length, queries: judged.length };
}
