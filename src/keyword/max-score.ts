/**
 * Top-k BM25 over the inverted index with MaxScore pruning (Turtle & Flood 1995, as Lucene 9 runs
 * disjunctions): the query's terms are ordered by the most any one document can score on them
 * (from the block bounds of their postings); once k documents are held, the cheapest terms whose
 * bounds together cannot reach the k-th score become "non-essential": only documents of the other
 * terms are candidates, and a candidate looks the non-essential terms up (a galloping search in
 * their lists) only while its score plus their remaining bounds can still reach the k-th score.
 * Frequent query words thus cost a lookup per candidate instead of a pass over their whole list.
 *
 * Exact: every document that could rank in the top k is fully scored; ties are broken by key,
 * ascending (SQLite's ORDER BY bm25(), rowid). One of the two strategies keyword-search.ts picks from.
 */
import { NO_MORE, type InvertedIndex, type PostingSegment } from './inverted-index.ts';
import type { PreparedQuery } from './prepared-query.ts';
import { TopK, type KeywordTopK } from './top-k-heap.ts';

/** A cursor over one term's postings: its segments (base, then tail) in order. */
class Cursor {
  doc = NO_MORE;
  docs: Uint32Array = new Uint32Array(0);
  tfs: Uint16Array = new Uint16Array(0);
  pos = 0;
  end = 0;
  #segment = -1;
  readonly #segments: readonly PostingSegment[];

  constructor(segments: readonly PostingSegment[]) {
    this.#segments = segments;
    this.#enter(0);
  }

  #enter(i: number): void {
    const segs = this.#segments;
    while (i < segs.length && segs[i].start >= segs[i].end) i++;
    this.#segment = i;
    if (i >= segs.length) {
      this.doc = NO_MORE;
      return;
    }
    const s = segs[i];
    this.docs = s.docs;
    this.tfs = s.tfs;
    this.pos = s.start;
    this.end = s.end;
    this.doc = s.docs[s.start];
  }

  next(): void {
    if (++this.pos < this.end) this.doc = this.docs[this.pos];
    else this.#enter(this.#segment + 1);
  }

  /** Moves to the first posting >= target (galloping, then binary search). */
  advance(target: number): void {
    while (this.doc < target) {
      const docs = this.docs;
      let hi = this.end - 1;
      if (docs[hi] < target) {
        this.#enter(this.#segment + 1);
        continue;
      }
      let lo = this.pos + 1;
      let step = 1;
      while (lo + step < hi && docs[lo + step] < target) {
        lo += step;
        step <<= 1;
      }
      if (lo + step < hi) hi = lo + step;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (docs[mid] < target) lo = mid + 1;
        else hi = mid;
      }
      this.pos = lo;
      this.doc = docs[lo];
    }
  }
}

/**
 * The k best live documents of a prepared query by MaxScore, optionally only keys `accept` allows (checked
 * while searching, so k results come back whenever k documents match).
 */
export function maxScoreTopK(index: InvertedIndex, prepared: PreparedQuery, k: number, accept: ((key: number) => boolean) | undefined, sorted: boolean): KeywordTopK {
  const query = prepared.terms;
  const norm = prepared.norm;
  const m = query.length;
  const cursors = query.map((q) => new Cursor(q.segments));
  const idfs = Float64Array.from(query, (q) => q.idf);
  // prefix[i]: the most terms 0..i can add together
  const prefix = new Float64Array(m);
  for (let i = 0, s = 0; i < m; i++) prefix[i] = s += query[i].bound;
  const ordKey = index.ordKey;
  const ordLength = index.ordLength;
  const live = index.live;
  const { base, slope, k1plus1 } = norm;
  const top = new TopK(k);
  const contrib = new Float64Array(m); // this document's score per term
  let essential = 0; // terms [essential, m) are essential
  for (;;) {
    let d = NO_MORE;
    for (let i = essential; i < m; i++) if (cursors[i].doc < d) d = cursors[i].doc;
    if (d === NO_MORE) break;
    const key = ordKey[d];
    if (live[d] === 0 || (accept !== undefined && !accept(key))) {
      for (let i = essential; i < m; i++) if (cursors[i].doc === d) cursors[i].next();
      continue;
    }
    const lengthPart = base + slope * ordLength[d];
    let partial = 0;
    for (let i = essential; i < m; i++) {
      const c = cursors[i];
      if (c.doc !== d) continue;
      const tf = c.tfs[c.pos];
      partial += contrib[i] = (idfs[i] * tf * k1plus1) / (tf + lengthPart);
      c.next();
    }
    const threshold = top.threshold;
    let pruned = false;
    for (let i = essential - 1; i >= 0; i--) {
      if (partial + prefix[i] < threshold) {
        pruned = true;
        break;
      }
      const c = cursors[i];
      c.advance(d);
      if (c.doc === d) {
        const tf = c.tfs[c.pos];
        partial += contrib[i] = (idfs[i] * tf * k1plus1) / (tf + lengthPart);
      }
    }
    // The score is summed in one fixed order (by term), whatever the essential boundary was when the
    // document was met: documents with the same terms get bit-identical scores, so ties go by key.
    let score = 0;
    for (let i = 0; i < m; i++) {
      score += contrib[i];
      contrib[i] = 0;
    }
    if (pruned) continue;
    if (!top.admits(score, key)) continue;
    top.push(score, key);
    const t = top.threshold;
    while (essential < m && prefix[essential] < t) essential++;
    if (essential === m) break; // no document can reach the k-th score any more
  }
  return top.take(sorted);
}
