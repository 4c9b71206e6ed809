/**
 * Retrieval metrics with trec_eval / pytrec_eval semantics (what BEIR and MTEB report).
 *
 * - Ranking: a query's hits are ordered by score descending, ties by document id descending
 *   (trec_eval's order; ids compare as JavaScript strings, i.e. by UTF-16 code units). Pass
 *   `keepOrder: true` to use the given order instead. A document listed twice counts once (its first
 *   position after sorting).
 * - Relevant: grade >= 1 (trec_eval's default relevance level).
 * - nDCG@k: linear gains (gain = grade, grades <= 0 gain nothing), discount 1/log2(rank + 1); the
 *   ideal DCG ranks all judged documents of the query by grade. 0 when the query has no relevant document.
 * - MRR@k: 1 / rank of the first relevant hit within the top k, else 0.
 * - Recall@k: relevant hits in the top k / all relevant documents of the query (0 when there are none).
 * - P@k: relevant hits in the top k / k (fewer than k hits still divide by k, as trec_eval does).
 * - MAP@k: sum of P@rank over relevant hits within the top k / all relevant documents (trec_eval map_cut).
 *
 * Queries: every query with at least one judgement is evaluated; a judged query missing from the
 * run counts as retrieving nothing (pytrec_eval would leave it out, silently inflating the mean). Run
 * entries for queries without judgements are skipped and counted in `skipped`.
 * BEIR's rule for datasets whose queries are also documents (ArguAna, Quora): with
 * `ignoreIdenticalIds`, a hit whose id equals the query id is dropped before cutting.
 */
import { BiencoderError } from '../errors.ts';

/** query id -> (document id -> grade). */
export type Qrels = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface RankedHit {
  readonly id: string;
  readonly score: number;
}

/** query id -> hits (any order; see keepOrder). */
export type Run = ReadonlyMap<string, readonly RankedHit[]>;

export type MetricName = 'ndcg' | 'mrr' | 'recall' | 'map' | 'precision';
export const METRIC_NAMES: readonly MetricName[] = ['ndcg', 'mrr', 'recall', 'map', 'precision'];
export const DEFAULT_CUTOFFS: readonly number[] = [1, 3, 5, 10, 100];

export interface EvaluateOptions {
  /** Cutoffs k; default DEFAULT_CUTOFFS. */
  readonly cutoffs?: readonly number[];
  /** Drop a hit whose id equals its query id (BEIR's rule). Default false. */
  readonly ignoreIdenticalIds?: boolean;
  /** Use the run's order as given instead of sorting by score, then id descending. Default false. */
  readonly keepOrder?: boolean;
}

/** Metric values keyed "ndcg@10", "recall@100", ... */
export type MetricValues = Record<string, number>;

export interface Evaluation {
  /** Number of evaluated (judged) queries. */
  readonly queries: number;
  /** Run entries skipped because their query has no judgement. */
  readonly skipped: number;
  /** Mean of each metric over the evaluated queries. */
  readonly mean: MetricValues;
  readonly perQuery: ReadonlyMap<string, MetricValues>;
}

export function metricKey(name: MetricName, k: number): string {
  return `${name}@${k}`;
}

/** The trec_eval order: score descending, then id descending; duplicates dropped. */
export function trecOrder(hits: readonly RankedHit[]): RankedHit[] {
  const sorted = [...hits].sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return dedupe(sorted);
}

function dedupe(hits: readonly RankedHit[]): RankedHit[] {
  const seen = new Set<string>();
  return hits.filter((h) => (seen.has(h.id) ? false : (seen.add(h.id), true)));
}

/** Metrics of one query's ranked document ids against its judgements. */
export function queryMetrics(ranked: readonly string[], judged: ReadonlyMap<string, number>, cutoffs: readonly number[]): MetricValues {
  const grades = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a);
  const relevantCount = grades.filter((g) => g >= 1).length;
  const out: MetricValues = {};
  for (const k of cutoffs) {
    let dcg = 0;
    let idcg = 0;
    let hits = 0;
    let firstRank = 0;
    let apSum = 0;
    const n = Math.min(k, ranked.length);
    for (let i = 0; i < n; i++) {
      const g = judged.get(ranked[i]) ?? 0;
      if (g > 0) dcg += g / Math.log2(i + 2);
      if (g >= 1) {
        hits++;
        if (firstRank === 0) firstRank = i + 1;
        apSum += hits / (i + 1);
      }
    }
    for (let i = 0; i < Math.min(k, grades.length); i++) idcg += grades[i] / Math.log2(i + 2);
    out[metricKey('ndcg', k)] = idcg > 0 ? dcg / idcg : 0;
    out[metricKey('mrr', k)] = firstRank > 0 ? 1 / firstRank : 0;
    out[metricKey('recall', k)] = relevantCount > 0 ? hits / relevantCount : 0;
    out[metricKey('map', k)] = relevantCount > 0 ? apSum / relevantCount : 0;
    out[metricKey('precision', k)] = hits / k;
  }
  return out;
}

export function evaluateRun(run: Run, qrels: Qrels, options: EvaluateOptions = {}): Evaluation {
  const cutoffs = checkCutoffs(options.cutoffs ?? DEFAULT_CUTOFFS);
  if (!(run instanceof Map)) throw new BiencoderError('INVALID_ARGUMENT', 'run must be a Map of query id -> hits');
  if (!(qrels instanceof Map)) throw new BiencoderError('INVALID_ARGUMENT', 'qrels must be a Map of query id -> Map of document id -> grade');
  let skipped = 0;
  for (const qid of run.keys()) if (!qrels.has(qid)) skipped++;
  const perQuery = new Map<string, MetricValues>();
  const sums: MetricValues = {};
  for (const [qid, judged] of qrels) {
    if (judged.size === 0) continue;
    const hits = run.get(qid) ?? [];
    let ordered = options.keepOrder ? dedupe(hits) : trecOrder(hits);
    if (options.ignoreIdenticalIds) ordered = ordered.filter((h) => h.id !== qid);
    const values = queryMetrics(ordered.map((h) => h.id), judged, cutoffs);
    perQuery.set(qid, values);
    for (const [key, v] of Object.entries(values)) sums[key] = (sums[key] ?? 0) + v;
  }
  const mean: MetricValues = {};
  for (const name of METRIC_NAMES) for (const k of cutoffs) mean[metricKey(name, k)] = perQuery.size > 0 ? (sums[metricKey(name, k)] ?? 0) / perQuery.size : 0;
  return { queries: perQuery.size, skipped, mean, perQuery };
}

function checkCutoffs(cutoffs: readonly number[]): number[] {
  if (!Array.isArray(cutoffs) || cutoffs.length === 0) throw new BiencoderError('INVALID_ARGUMENT', 'cutoffs must be a non-empty array of positive integers');
  for (const k of cutoffs) if (!Number.isInteger(k) || k < 1) throw new BiencoderError('INVALID_ARGUMENT', `a cutoff must be a positive integer, got ${String(k)}`);
  return [...new Set(cutoffs)].sort((a, b) => a - b);
}
