/**
 * Brute-force, exact BM25 over analyzed documents: the ground truth for the keyword engine's tests
 * and the scorer of bench/xquad-keyword.ts. The formula is SQLite FTS5's bm25() (k1 1.2, b 0.75),
 * so figures stay comparable with the FTS5 index it replaces:
 *   idf(t)   = ln((N - n(t) + 0.5) / (n(t) + 0.5)), floored at 1e-6 (FTS5 keeps very common terms just above 0)
 *   score(d) = sum over query terms t of idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
 * where dl counts every term of the document (stopwords included). Only documents holding at least
 * one query term are returned; ties go to the lower document index.
 */

export interface Bm25Hit {
  /** Index of the document in the array given to the constructor. */
  readonly index: number;
  readonly score: number;
}

export interface ExactBm25Options {
  readonly k1?: number;
  readonly b?: number;
}

const IDF_FLOOR = 1e-6;

export class ExactBm25 {
  readonly documentCount: number;
  readonly averageLength: number;
  private readonly k1: number;
  private readonly b: number;
  private readonly lengths: Float64Array;
  /** term -> [document index, term frequency] pairs, ascending document index. */
  private readonly postings = new Map<string, { docs: number[]; tfs: number[] }>();

  constructor(documents: readonly (readonly string[])[], options: ExactBm25Options = {}) {
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    this.documentCount = documents.length;
    this.lengths = new Float64Array(documents.length);
    let total = 0;
    documents.forEach((terms, index) => {
      this.lengths[index] = terms.length;
      total += terms.length;
      const counts = new Map<string, number>();
      for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
      for (const [t, tf] of counts) {
        let p = this.postings.get(t);
        if (p === undefined) this.postings.set(t, (p = { docs: [], tfs: [] }));
        p.docs.push(index);
        p.tfs.push(tf);
      }
    });
    this.averageLength = documents.length > 0 ? total / documents.length : 0;
  }

  /** Number of documents holding term. */
  documentFrequency(term: string): number {
    return this.postings.get(term)?.docs.length ?? 0;
  }

  idf(term: string): number {
    const n = this.documentFrequency(term);
    const idf = Math.log((this.documentCount - n + 0.5) / (n + 0.5));
    return idf > IDF_FLOOR ? idf : IDF_FLOOR;
  }

  /** The BM25 score of every document holding a query term (each term counted as often as it is given). */
  scoreAll(queryTerms: readonly string[]): Map<number, number> {
    const scores = new Map<number, number>();
    for (const term of queryTerms) {
      const p = this.postings.get(term);
      if (p === undefined) continue;
      const idf = this.idf(term);
      for (let i = 0; i < p.docs.length; i++) {
        const doc = p.docs[i];
        const tf = p.tfs[i];
        const norm = this.k1 * (1 - this.b + (this.b * this.lengths[doc]) / this.averageLength);
        scores.set(doc, (scores.get(doc) ?? 0) + (idf * tf * (this.k1 + 1)) / (tf + norm));
      }
    }
    return scores;
  }

  /** The k best documents for the query terms: score descending, then document index ascending. */
  search(queryTerms: readonly string[], k: number): Bm25Hit[] {
    const hits: Bm25Hit[] = [];
    for (const [index, score] of this.scoreAll(queryTerms)) hits.push({ index, score });
    hits.sort((x, y) => y.score - x.score || x.index - y.index);
    return hits.slice(0, Math.max(0, k));
  }
}
