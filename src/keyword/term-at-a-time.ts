/**
 * Top-k BM25 by scoring every matching document, one term's postings at a time into an accumulator
 * indexed by ordinal (no cursors, no per-document minimum over the terms). When k is large against
 * the postings (hybrid search asks for 1,000 candidates; a small collection matches a few thousand
 * documents), MaxScore can prune little and its cursor bookkeeping costs more than the scoring.
 *
 * Scores are summed per document over the terms in the prepared order, as max-score.ts sums them, and
 * the k best are selected in the same order (score descending, key ascending; quickselect instead of a
 * heap, since every candidate is known), so both strategies return the same keys and bit-identical scores.
 */
import type { InvertedIndex } from './inverted-index.ts';
import type { PreparedQuery } from './prepared-query.ts';
import { selectTopK, type KeywordTopK } from './top-k-heap.ts';

/** The k best live documents of a prepared query, optionally only keys `accept` allows; best first when `sorted`. */
export function termAtATimeTopK(index: InvertedIndex, prepared: PreparedQuery, k: number, accept: ((key: number) => boolean) | undefined, sorted: boolean): KeywordTopK {
  const ordKey = index.ordKey;
  const ordLength = index.ordLength;
  const live = index.live;
  const { base, slope, k1plus1 } = prepared.norm;
  const acc = index.accumulator(); // all zero; left all zero
  const touched = new Int32Array(prepared.postings);
  let n = 0;
  for (const term of prepared.terms) {
    const idf = term.idf;
    for (const s of term.segments) {
      const { docs, tfs } = s;
      for (let p = s.start; p < s.end; p++) {
        const d = docs[p];
        const tf = tfs[p];
        // the expression and order of max-score.ts: 0 + first term's share + the next's ...
        const share = (idf * tf * k1plus1) / (tf + (base + slope * ordLength[d]));
        if (acc[d] === 0) touched[n++] = d; // every share is > 0
        acc[d] += share;
      }
    }
  }
  // The matches (live, accepted) with their scores, then the k best of them.
  const scores = new Float64Array(n);
  const keys = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const d = touched[i];
    const score = acc[d];
    acc[d] = 0;
    if (live[d] === 0) continue;
    const key = ordKey[d];
    if (accept !== undefined && !accept(key)) continue;
    scores[m] = score;
    keys[m++] = key;
  }
  return selectTopK(scores, keys, m, k, sorted);
}
