/**
 * A keyword query made ready for either search strategy: each distinct analyzed term that occurs in a
 * live document, with its idf (times how often the query repeats it) and the most one document can
 * score on it (from its postings' block bounds), ordered by that bound, lowest first. Both strategies
 * sum a document's score over the terms in this order, so they give bit-identical scores.
 */
import { bm25Idf, lengthNorm, queryTermWeights, type LengthNorm } from './bm25.ts';
import type { InvertedIndex, PostingSegment } from './inverted-index.ts';

/** Bounds carry a relative slack of 1e-9 so that a score summed in another order can never exceed its bound. */
const SLACK = 1 + 1e-9;

export interface PreparedTerm {
  readonly segments: readonly PostingSegment[];
  readonly idf: number;
  readonly bound: number;
}

export interface PreparedQuery {
  readonly terms: readonly PreparedTerm[];
  readonly norm: LengthNorm;
  /** Postings of the query's terms, deleted documents' included (the work of scoring every match). */
  readonly postings: number;
}

/** The most a document can get from a term: idf x the best tf weight any block of its postings allows. */
function termBound(segments: readonly PostingSegment[], idf: number, norm: LengthNorm): number {
  let best = 0;
  for (const s of segments) {
    for (let b = s.firstBlock; b < s.endBlock; b++) {
      const tf = s.blockMaxTf[b];
      const w = (tf * norm.k1plus1) / (tf + norm.base + norm.slope * s.blockMinLength[b]);
      if (w > best) best = w;
    }
  }
  return idf * best * SLACK;
}

/** The query's terms as the index knows them; undefined when none occurs in a live document (or the index is empty). */
export function prepareQuery(index: InvertedIndex, terms: readonly string[]): PreparedQuery | undefined {
  const n = index.size;
  if (n === 0) return undefined;
  const norm = lengthNorm(index.params, index.totalLength / n);
  const prepared: PreparedTerm[] = [];
  let postings = 0;
  for (const [term, weight] of queryTermWeights(terms)) {
    const id = index.termId(term);
    if (id < 0) continue;
    const df = index.documentFrequency(id);
    if (df <= 0) continue;
    const segments = index.segments(id);
    const idf = bm25Idf(n, df) * weight;
    for (const s of segments) postings += s.end - s.start;
    prepared.push({ segments, idf, bound: termBound(segments, idf, norm) });
  }
  if (prepared.length === 0) return undefined;
  prepared.sort((a, b) => a.bound - b.bound);
  return { terms: prepared, norm, postings };
}
