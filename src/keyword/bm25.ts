/**
 * The BM25 formula the keyword engine ranks with: SQLite FTS5's bm25(), which biencoder used before
 * it had its own engine, so scores and rankings carry over.
 *
 *   score(D, Q) = sum over distinct query terms t of  idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |D| / avgdl))
 *   idf(t)      = ln((N - n(t) + 0.5) / (n(t) + 0.5)), floored at 1e-6 (a term in more than half of
 *                 the documents still counts a little, as in FTS5)
 *
 * N is the number of documents, n(t) the number holding t, |D| the number of terms the analyzer
 * produced for D (stopwords included) and avgdl their mean over the collection.
 */

export interface Bm25Parameters {
  /** Term-frequency saturation; default 1.2. */
  readonly k1: number;
  /** Document-length normalization; default 0.75. */
  readonly b: number;
}

export const DEFAULT_BM25: Bm25Parameters = { k1: 1.2, b: 0.75 };

/**
 * A query's distinct terms with how often it gives each: a term given twice counts twice (FTS5 sums a
 * query's phrases: "computer computers" is the stem twice). Both stores weight idf by it.
 */
export function queryTermWeights(terms: readonly string[]): Map<string, number> {
  const weights = new Map<string, number>();
  for (const term of terms) weights.set(term, (weights.get(term) ?? 0) + 1);
  return weights;
}

/** FTS5's idf: ln((N - n + 0.5) / (n + 0.5)), at least 1e-6. */
export function bm25Idf(docs: number, docFrequency: number): number {
  const idf = Math.log((docs - docFrequency + 0.5) / (docFrequency + 0.5));
  return idf > 1e-6 ? idf : 1e-6;
}

/**
 * The per-query constants of the length normalization: a document of `length` terms scores a
 * posting with term frequency tf as idf * tf * (k1 + 1) / (tf + base + slope * length).
 */
export interface LengthNorm {
  readonly base: number;
  readonly slope: number;
  readonly k1plus1: number;
}

export function lengthNorm(params: Bm25Parameters, averageLength: number): LengthNorm {
  const avg = averageLength > 0 ? averageLength : 1;
  return { base: params.k1 * (1 - params.b), slope: (params.k1 * params.b) / avg, k1plus1: params.k1 + 1 };
}

/** One posting's contribution before idf. */
export function tfWeight(norm: LengthNorm, tf: number, length: number): number {
  return (tf * norm.k1plus1) / (tf + norm.base + norm.slope * length);
}
