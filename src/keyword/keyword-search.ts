/**
 * Keyword top-k over the inverted index: the query's terms prepared once, then scored by the strategy
 * that costs less for this query. MaxScore (max-score.ts) skips documents that cannot reach the k-th
 * score, which pays when a query's postings are many against k; scoring every match term at a time
 * (term-at-a-time.ts) has no per-document bookkeeping, which pays when k is large against the postings
 * (hybrid's 1,000 candidates on a small collection). Both are exact and return the same list.
 */
import type { InvertedIndex } from './inverted-index.ts';
import { maxScoreTopK } from './max-score.ts';
import { prepareQuery } from './prepared-query.ts';
import { termAtATimeTopK } from './term-at-a-time.ts';
import { EMPTY_TOP_K, type KeywordTopK } from './top-k-heap.ts';

export type { KeywordTopK } from './top-k-heap.ts';

export type KeywordStrategy = 'auto' | 'max-score' | 'term-at-a-time';

export interface KeywordSearchOptions {
  /** Only keys this allows (applied while searching, so k results come back whenever k documents match). */
  readonly accept?: (key: number) => boolean;
  /** Default 'auto' (see TERM_AT_A_TIME_POSTINGS_PER_RESULT); the others are for tests and measurements. */
  readonly strategy?: KeywordStrategy;
  /** Best first (default); false returns the k best in no particular order, for a caller that fuses them by key. */
  readonly sorted?: boolean;
}

/**
 * 'auto' scores every match when the query has at most this many postings per result wanted. Measured by
 * npm run bench:keyword-strategies (BENCHMARKS.md), k = 1,000: scifact 0.42 ms a query by MaxScore
 * against 0.31 ms; the synthetic corpus at 100k documents, queries of at most 16 postings per result
 * 0.66 against 0.44 ms, at most 64: 1.18 against 0.88; at 1M, 1.13 against 0.71 and 2.33 against 2.24
 * (k = 100 and 10 alike). Beyond 64 MaxScore wins (at most 256: 4.14 against 5.87 ms at 1M).
 */
export const TERM_AT_A_TIME_POSTINGS_PER_RESULT = 64;

/**
 * The k best live documents for analyzed query terms (a term listed twice weighs double), by score
 * descending, ties by key ascending.
 */
export function searchTopK(index: InvertedIndex, terms: readonly string[], k: number, options: KeywordSearchOptions = {}): KeywordTopK {
  if (k <= 0) return EMPTY_TOP_K;
  const prepared = prepareQuery(index, terms);
  if (prepared === undefined) return EMPTY_TOP_K;
  const strategy = options.strategy ?? 'auto';
  const sorted = options.sorted ?? true;
  const exhaustive = strategy === 'term-at-a-time' || (strategy === 'auto' && prepared.postings <= TERM_AT_A_TIME_POSTINGS_PER_RESULT * k);
  return exhaustive ? termAtATimeTopK(index, prepared, k, options.accept, sorted) : maxScoreTopK(index, prepared, k, options.accept, sorted);
}
