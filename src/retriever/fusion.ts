/**
 * Fusion of ranked lists (dense and keyword) into one ranking. Pure functions over {id, score}
 * lists that are sorted best first.
 *
 * - Reciprocal-rank fusion (Cormack, Clarke & Buettcher 2009): score(d) = sum over lists of
 *   1 / (rrfK + rank(d)), rank 1-based; a list that misses d adds nothing. rrfK defaults to 60.
 * - Convex fusion: each list's scores are min-max normalized to [0, 1] over that list (a list whose
 *   scores are all equal normalizes to 1), a document missing from a list gets 0 from it, and
 *   score(d) = weight x dense(d) + (1 - weight) x keyword(d).
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

export interface HybridOptions {
  /** Default 'convex' (measured better than RRF when one retriever is much weaker; see docs/eval.md). */
  readonly fusion?: FusionMethod;
  /** Convex fusion: the weight of the dense scores, in [0, 1] (keyword gets 1 - weight). Default DEFAULT_CONVEX_WEIGHT. */
  readonly weight?: number;
  /** RRF constant; default 60. */
  readonly rrfK?: number;
  /** Candidates taken from each side before fusing; default max(k, 100). */
  readonly candidates?: number;
}

export const DEFAULT_RRF_K = 60;
export const DEFAULT_HYBRID_CANDIDATES = 100;
/**
 * The dense weight of convex fusion, tuned on scifact's train split (809 queries) with the embedded
 * default (USE lite) by `npm run bench:quality` (grid 0..1 step 0.05, maximizing nDCG@10: 0.2 gave
 * 0.7083 against 0.7015 for BM25 alone and 0.2410 for dense alone). Another model wants its own
 * weight: `biencoder eval --tune-on train` finds it. See docs/eval.md.
 */
export const DEFAULT_CONVEX_WEIGHT = 0.2;
export const DEFAULT_FUSION: FusionMethod = 'convex';

export interface ResolvedHybridOptions {
  readonly fusion: FusionMethod;
  readonly weight: number;
  readonly rrfK: number;
  readonly candidates: number;
}

/** Validates hybrid options (INVALID_ARGUMENT naming the field) and fills in defaults for a search of k results. */
export function resolveHybridOptions(options: HybridOptions | undefined, k: number): ResolvedHybridOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw invalid('hybrid must be an object { fusion?, weight?, rrfK?, candidates? }');
  const unknown = Object.keys(o).filter((key) => !['fusion', 'weight', 'rrfK', 'candidates'].includes(key));
  if (unknown.length > 0) throw invalid(`unknown hybrid option(s): ${unknown.join(', ')}`);
  const fusion = o.fusion ?? DEFAULT_FUSION;
  if (fusion !== 'rrf' && fusion !== 'convex') throw invalid(`hybrid.fusion must be "rrf" or "convex", got ${JSON.stringify(fusion)}`);
  const weight = o.weight ?? DEFAULT_CONVEX_WEIGHT;
  if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) throw invalid(`hybrid.weight must be a number in [0, 1], got ${String(weight)}`);
  const rrfK = o.rrfK ?? DEFAULT_RRF_K;
  if (typeof rrfK !== 'number' || !Number.isFinite(rrfK) || rrfK < 0) throw invalid(`hybrid.rrfK must be a finite number >= 0, got ${String(rrfK)}`);
  const candidates = o.candidates ?? Math.max(k, DEFAULT_HYBRID_CANDIDATES);
  if (!Number.isInteger(candidates) || candidates < 1 || candidates > 100_000) throw invalid(`hybrid.candidates must be an integer in 1..100000, got ${String(candidates)}`);
  return { fusion, weight, rrfK, candidates: Math.max(candidates, k) };
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
  if (scores.length === 0) return [];
  let min = Infinity;
  let max = -Infinity;
  for (const s of scores) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const span = max - min;
  return scores.map((s) => (span > 0 ? (s - min) / span : 1));
}

/** Convex combination of min-max normalized dense and keyword scores; weight is the dense share. */
export function convexFusion<Id>(dense: readonly Scored<Id>[], keyword: readonly Scored<Id>[], weight: number): Scored<Id>[] {
  const fused = new Map<Id, { score: number; order: number }>();
  let order = 0;
  const addList = (list: readonly Scored<Id>[], w: number): void => {
    const normalized = minMaxNormalize(list.map((h) => h.score));
    list.forEach((hit, i) => {
      const entry = fused.get(hit.id);
      const add = w * normalized[i];
      if (entry === undefined) fused.set(hit.id, { score: add, order: order++ });
      else entry.score += add;
    });
  };
  addList(dense, weight);
  addList(keyword, 1 - weight);
  return sortFused(fused);
}

/** Fuses a dense and a keyword list as the options say, and keeps the best k. */
export function fuseRankings<Id>(dense: readonly Scored<Id>[], keyword: readonly Scored<Id>[], options: ResolvedHybridOptions, k: number): Scored<Id>[] {
  const fused = options.fusion === 'rrf' ? reciprocalRankFusion([dense, keyword], options.rrfK) : convexFusion(dense, keyword, options.weight);
  return fused.slice(0, k);
}

function sortFused<Id>(fused: Map<Id, { score: number; order: number }>): Scored<Id>[] {
  return [...fused.entries()]
    .sort((a, b) => b[1].score - a[1].score || a[1].order - b[1].order)
    .map(([id, e]) => ({ id, score: e.score }));
}

function invalid(message: string): BiencoderError {
  return new BiencoderError('INVALID_ARGUMENT', message);
}
