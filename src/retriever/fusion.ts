/**
 * Fusion of ranked lists (dense and keyword) into one ranking. Pure functions over {id, score}
 * lists that are sorted best first.
 *
 * - Reciprocal-rank fusion (Cormack, Clarke & Buettcher 2009): score(d) = sum over lists of
 *   1 / (rrfK + rank(d)), rank 1-based; a list that misses d adds nothing. rrfK defaults to 60.
 * - Convex fusion: each list's scores are normalized over that list's candidates (see
 *   ScoreNormalization), a document missing from a list gets that list's floor (0 for 'minmax' and
 *   'dbsf', the lowest z-score for 'zscore'), and score(d) = weight x dense(d) + (1 - weight) x keyword(d).
 *
 * Ties are broken by first appearance: the dense list's order, then the keyword list's, so the
 * result is deterministic.
 */
import { BiencoderError } from '../errors.ts';

export interface Scored<Id> {
  readonly id: Id;
  readonly score: number;
}

export type FusionMethod = 'rrf' | 'convex';

/**
 * How convex fusion puts each list's scores on one scale, over that list's candidates:
 * - 'minmax': (s - min) / (max - min), in [0, 1]; a list whose scores are all equal normalizes to 1.
 * - 'zscore': (s - mean) / std; a constant list normalizes to 0.
 * - 'dbsf' (distribution-based score fusion): (s - (mean - 3 std)) / (6 std), clipped to [0, 1].
 */
export type ScoreNormalization = 'minmax' | 'zscore' | 'dbsf';
export const SCORE_NORMALIZATIONS: readonly ScoreNormalization[] = ['minmax', 'zscore', 'dbsf'];

export interface HybridOptions {
  /** Default 'convex' (measured better than RRF when one retriever is much weaker; see docs/eval.md). */
  readonly fusion?: FusionMethod;
  /** Convex fusion: the weight of the dense scores, in [0, 1] (keyword gets 1 - weight). Default DEFAULT_CONVEX_WEIGHT. */
  readonly weight?: number;
  /** Convex fusion: the score normalization. Default DEFAULT_NORMALIZATION. */
  readonly normalization?: ScoreNormalization;
  /** RRF constant; default 60. */
  readonly rrfK?: number;
  /** Candidates taken from each side before fusing; default max(k, DEFAULT_HYBRID_CANDIDATES). */
  readonly candidates?: number;
}

export const DEFAULT_RRF_K = 60;
/*
 * The convex-fusion defaults were chosen together on scifact's train split (809 queries) with the
 * embedded default model (USE lite), by `npm run bench:quality`: every normalization x candidates
 * per side in {20, 50, 100, 200, 500, 1000} x dense weight 0..1 step 0.01, maximizing nDCG@10
 * (tuneConvexFusion in src/eval/runner.ts); the test splits played no part. The train figures are in
 * docs/eval.md. Another model wants its own: `biencoder eval --tune-on train` finds them.
 */
/** Candidates per side for hybrid search (see above). */
export const DEFAULT_HYBRID_CANDIDATES = 1000;
/** The dense weight of convex fusion (see above). */
export const DEFAULT_CONVEX_WEIGHT = 0.18;
/** The score normalization of convex fusion (see above). */
export const DEFAULT_NORMALIZATION: ScoreNormalization = 'minmax';
export const DEFAULT_FUSION: FusionMethod = 'convex';

export interface ResolvedHybridOptions {
  readonly fusion: FusionMethod;
  readonly weight: number;
  readonly normalization: ScoreNormalization;
  readonly rrfK: number;
  readonly candidates: number;
}

const HYBRID_KEYS = ['fusion', 'weight', 'normalization', 'rrfK', 'candidates'];

/** Validates hybrid options (INVALID_ARGUMENT naming the field) and fills in defaults for a search of k results. */
export function resolveHybridOptions(options: HybridOptions | undefined, k: number): ResolvedHybridOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw invalid(`hybrid must be an object { ${HYBRID_KEYS.map((key) => `${key}?`).join(', ')} }`);
  const unknown = Object.keys(o).filter((key) => !HYBRID_KEYS.includes(key));
  if (unknown.length > 0) throw invalid(`unknown hybrid option(s): ${unknown.join(', ')}`);
  const fusion = o.fusion ?? DEFAULT_FUSION;
  if (fusion !== 'rrf' && fusion !== 'convex') throw invalid(`hybrid.fusion must be "rrf" or "convex", got ${JSON.stringify(fusion)}`);
  const weight = o.weight ?? DEFAULT_CONVEX_WEIGHT;
  if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) throw invalid(`hybrid.weight must be a number in [0, 1], got ${String(weight)}`);
  const normalization = o.normalization ?? DEFAULT_NORMALIZATION;
  if (!SCORE_NORMALIZATIONS.includes(normalization)) throw invalid(`hybrid.normalization must be one of ${SCORE_NORMALIZATIONS.join(', ')}, got ${JSON.stringify(normalization)}`);
  const rrfK = o.rrfK ?? DEFAULT_RRF_K;
  if (typeof rrfK !== 'number' || !Number.isFinite(rrfK) || rrfK < 0) throw invalid(`hybrid.rrfK must be a finite number >= 0, got ${String(rrfK)}`);
  const candidates = o.candidates ?? Math.max(k, DEFAULT_HYBRID_CANDIDATES);
  if (!Number.isInteger(candidates) || candidates < 1 || candidates > 100_000) throw invalid(`hybrid.candidates must be an integer in 1..100000, got ${String(candidates)}`);
  return { fusion, weight, normalization, rrfK, candidates: Math.max(candidates, k) };
}

/** Reciprocal-rank fusion of any number of ranked lists (best first). */
export function reciprocalRankFusion<Id>(lists: readonly (readonly Scored<Id>[])[], rrfK: number = DEFAULT_RRF_K): Scored<Id>[] {
  const fused = new Map<Id, { score: number; order: number }>();
  let order = 0;
  for (const list of lists) {
    list.forEach((hit, rank) => {
      const entry = fused.get(hit.id);
      const add = 1 / (rrfK + rank + 1);
      if (entry === undefined) fused.set(hit.id, { score: add, order: order++ });
      else entry.score += add;
    });
  }
  return sortFused(fused);
}

/** Min-max normalization to [0, 1]; all-equal (or a single) score normalizes to 1. */
export function minMaxNormalize(scores: readonly number[]): number[] {
  return normalizeScores(scores, 'minmax').values;
}

/** Normalized scores of one list, and the value a document missing from that list gets. */
export interface NormalizedScores {
  readonly values: number[];
  readonly missing: number;
}

/**
 * Normalizes one list's scores (see ScoreNormalization). A document that the list does not hold
 * gets `missing`: 0 for 'minmax' and 'dbsf' (the bottom of their [0, 1] range), and the lowest
 * z-score of the list for 'zscore'. An empty list gives no values and missing 0.
 */
export function normalizeScores(scores: readonly number[], method: ScoreNormalization): NormalizedScores {
  const norm = scoreNormalization(scores, method);
  return { values: scores.map((s) => norm.value(s)), missing: norm.missing };
}

/**
 * A list's normalization as constants: (s - offset) / divisor, clipped to [0, 1] for dbsf, or a
 * constant for a list without spread. A class rather than a closure per list, so that the per-score
 * call is inlined and its doubles are not boxed (keyed-fusion.ts calls it for every candidate).
 */
export class ScoreScale {
  constructor(
    readonly offset: number,
    readonly divisor: number,
    /** The value of every score when the list has no spread (divisor 0), else NaN. */
    readonly constant: number,
    readonly clip: boolean,
    /** What a document missing from the list gets. */
    readonly missing: number,
  ) {}

  value(s: number): number {
    if (this.constant === this.constant) return this.constant; // not NaN
    const v = (s - this.offset) / this.divisor;
    return this.clip ? Math.min(1, Math.max(0, v)) : v;
  }
}

/**
 * The constants of normalizeScores for a list, its scores in the list's order (zscore and dbsf sum
 * them, and a floating-point sum depends on the order).
 */
export function scoreNormalization(scores: ArrayLike<number>, method: ScoreNormalization): ScoreScale {
  const n = scores.length;
  if (n === 0) return new ScoreScale(0, 1, 0, false, 0);
  let min = Infinity;
  let max = -Infinity;
  // indexed loops: for-of over a typed array boxes every double
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (!Number.isFinite(s)) throw invalid(`scores to normalize must be finite numbers, got ${String(s)}`);
    if (s < min) min = s;
    if (s > max) max = s;
  }
  if (method === 'minmax') {
    const span = max - min;
    return new ScoreScale(min, span, span > 0 ? Number.NaN : 1, false, 0);
  }
  if (method !== 'zscore' && method !== 'dbsf') throw invalid(`normalization must be one of ${SCORE_NORMALIZATIONS.join(', ')}, got ${JSON.stringify(method)}`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += scores[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (scores[i] - mean) ** 2;
  const std = Math.sqrt(variance / n);
  if (method === 'zscore') {
    const z = new ScoreScale(mean, std, std > 0 ? Number.NaN : 0, false, 0);
    return new ScoreScale(mean, std, z.constant, false, z.value(min)); // missing: the lowest z-score (the scale is monotone)
  }
  return new ScoreScale(mean - 3 * std, 6 * std, std > 0 ? Number.NaN : 1, true, 0);
}

/**
 * The two lists of a convex fusion, normalized once and aligned on the union of their ids (first
 * appearance order: the dense list's, then the keyword list's). Computing this once and calling
 * combineConvex for many weights is what weight tuning does.
 */
export interface ConvexInputs<Id> {
  readonly ids: readonly Id[];
  readonly dense: Float64Array;
  readonly keyword: Float64Array;
}

export function prepareConvexFusion<Id>(dense: readonly Scored<Id>[], keyword: readonly Scored<Id>[], normalization: ScoreNormalization = DEFAULT_NORMALIZATION): ConvexInputs<Id> {
  const d = normalizeScores(dense.map((h) => h.score), normalization);
  const kw = normalizeScores(keyword.map((h) => h.score), normalization);
  const position = new Map<Id, number>();
  const ids: Id[] = [];
  const denseValues: number[] = [];
  const keywordValues: number[] = [];
  dense.forEach((hit, i) => {
    if (position.has(hit.id)) return; // a repeated id keeps its first (best) score
    position.set(hit.id, ids.length);
    ids.push(hit.id);
    denseValues.push(d.values[i]);
    keywordValues.push(kw.missing);
  });
  const seenKeyword = new Set<Id>();
  keyword.forEach((hit, i) => {
    if (seenKeyword.has(hit.id)) return;
    seenKeyword.add(hit.id);
    const at = position.get(hit.id);
    if (at !== undefined) {
      keywordValues[at] = kw.values[i];
      return;
    }
    position.set(hit.id, ids.length);
    ids.push(hit.id);
    denseValues.push(d.missing);
    keywordValues.push(kw.values[i]);
  });
  return { ids, dense: Float64Array.from(denseValues), keyword: Float64Array.from(keywordValues) };
}

/** weight x dense + (1 - weight) x keyword over prepared inputs; the best `limit` (default all), best first, ties by first appearance. */
export function combineConvex<Id>(inputs: ConvexInputs<Id>, weight: number, limit: number = Infinity): Scored<Id>[] {
  const n = inputs.ids.length;
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) scores[i] = weight * inputs.dense[i] + (1 - weight) * inputs.keyword[i];
  return topIndices(scores, limit).map((i) => ({ id: inputs.ids[i], score: scores[i] }));
}

/** Convex combination of normalized dense and keyword scores; weight is the dense share. */
export function convexFusion<Id>(
  dense: readonly Scored<Id>[], keyword: readonly Scored<Id>[], weight: number, normalization: ScoreNormalization = DEFAULT_NORMALIZATION, limit: number = Infinity,
): Scored<Id>[] {
  return combineConvex(prepareConvexFusion(dense, keyword, normalization), weight, limit);
}

/**
 * Indices of the `limit` highest scores, best first, ties by lower index. Small limits keep a
 * sorted buffer (one pass; most scores fail the threshold test), large ones sort everything.
 */
function topIndices(scores: Float64Array, limit: number): number[] {
  const n = scores.length;
  if (limit >= n || limit > 256) {
    const all = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
    return limit >= n ? all : all.slice(0, limit);
  }
  return bestIndices(n, limit, (a, b) => scores[a] > scores[b] || (scores[a] === scores[b] && a < b));
}

/**
 * The `limit` best of indices 0..n-1 under a strict total order (`better`), best first, in one pass over
 * a sorted buffer of `limit`: for small limits, where most candidates fail the threshold test.
 */
export function bestIndices(n: number, limit: number, better: (a: number, b: number) => boolean): number[] {
  const top: number[] = [];
  if (limit <= 0) return top;
  for (let i = 0; i < n; i++) {
    if (top.length === limit && !better(i, top[limit - 1])) continue;
    let at = top.length === limit ? limit - 1 : top.length;
    while (at > 0 && better(i, top[at - 1])) {
      top[at] = top[at - 1];
      at--;
    }
    top[at] = i;
  }
  return top;
}

/** Fuses a dense and a keyword list as the options say, and keeps the best k. */
export function fuseRankings<Id>(dense: readonly Scored<Id>[], keyword: readonly Scored<Id>[], options: ResolvedHybridOptions, k: number): Scored<Id>[] {
  if (options.fusion === 'rrf') return reciprocalRankFusion([dense, keyword], options.rrfK).slice(0, k);
  return convexFusion(dense, keyword, options.weight, options.normalization, k);
}

function sortFused<Id>(fused: Map<Id, { score: number; order: number }>): Scored<Id>[] {
  return [...fused.entries()]
    .sort((a, b) => b[1].score - a[1].score || a[1].order - b[1].order)
    .map(([id, e]) => ({ id, score: e.score }));
}

function invalid(message: string): BiencoderError {
  return new BiencoderError('INVALID_ARGUMENT', message);
}
