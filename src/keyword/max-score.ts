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
 * ascending (SQLite's ORDER BY bm25(), rowid). Bounds carry a relative slack of 1e-9 so that a
 * score summed in another order can never exceed its bound.
 */
import { bm25Idf, lengthNorm, type LengthNorm } from './bm25.ts';
import { NO_MORE, type InvertedIndex, type PostingSegment } from './inverted-index.ts';

const SLACK = 1 + 1e-9;

export interface KeywordTopK {
  readonly keys: Float64Array;
  readonly scores: Float64Array;
  readonly count: number;
}

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

/** A bounded heap of the k best (score desc, key asc): the root is the worst held. */
class TopK {
  readonly scores: Float64Array;
  readonly keys: Float64Array;
  size = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.keys = new Float64Array(k);
  }

  /** Whether (score, key) would be kept. */
  admits(score: number, key: number): boolean {
    if (this.size < this.k) return true;
    const s = this.scores[0];
    return score > s || (score === s && key < this.keys[0]);
  }

  /** The score to reach (0 until the heap is full). */
  get threshold(): number {
    return this.size < this.k ? 0 : this.scores[0];
  }

  push(score: number, key: number): void {
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.#worse(score, key, this.scores[p], this.keys[p])) break;
        this.scores[i] = this.scores[p];
        this.keys[i] = this.keys[p];
        i = p;
      }
      this.scores[i] = score;
      this.keys[i] = key;
      return;
    }
    this.#siftDown(score, key, this.size); // replaces the worst (the root)
  }

  /** a is worse than b: lower score, or the same score and a larger key. */
  #worse(sa: number, ka: number, sb: number, kb: number): boolean {
    return sa < sb || (sa === sb && ka > kb);
  }

  /** The held results best first (empties the heap: pops the worst into the last free slot). */
  sorted(): KeywordTopK {
    const n = this.size;
    const keys = new Float64Array(n);
    const scores = new Float64Array(n);
    for (let w = n - 1; w >= 0; w--) {
      keys[w] = this.keys[0];
      scores[w] = this.scores[0];
      this.#popWorst();
    }
    return { keys, scores, count: n };
  }

  #popWorst(): void {
    const n = --this.size;
    if (n > 0) this.#siftDown(this.scores[n], this.keys[n], n);
  }

  /** Places (score, key) at the root of the heap's first n entries and sifts it down to its place. */
  #siftDown(score: number, key: number, n: number): void {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.#worse(this.scores[r], this.keys[r], this.scores[l], this.keys[l]) ? r : l;
      if (!this.#worse(this.scores[c], this.keys[c], score, key)) break;
      this.scores[i] = this.scores[c];
      this.keys[i] = this.keys[c];
      i = c;
    }
    this.scores[i] = score;
    this.keys[i] = key;
  }
}

interface QueryTerm {
  readonly cursor: Cursor;
  readonly idf: number;
  readonly bound: number;
}

/**
 * The k best live documents for analyzed query terms (a term listed twice weighs double), optionally only keys `accept`
 * allows (a filter is applied while searching, so k results come back whenever k documents match).
 */
export function searchTopK(index: InvertedIndex, terms: readonly string[], k: number, accept?: (key: number) => boolean): KeywordTopK {
  const empty: KeywordTopK = { keys: new Float64Array(0), scores: new Float64Array(0), count: 0 };
  const n = index.size;
  if (k <= 0 || n === 0) return empty;
  const norm = lengthNorm(index.params, index.totalLength / n);
  const query: QueryTerm[] = [];
  // A term given twice counts twice (FTS5 sums a query's phrases: "computer computers" is the stem twice).
  const weights = new Map<string, number>();
  for (const term of terms) weights.set(term, (weights.get(term) ?? 0) + 1);
  for (const [term, weight] of weights) {
    const id = index.termId(term);
    if (id < 0) continue;
    const df = index.documentFrequency(id);
    if (df <= 0) continue;
    const segments = index.segments(id);
    const idf = bm25Idf(n, df) * weight;
    query.push({ cursor: new Cursor(segments), idf, bound: termBound(segments, idf, norm) });
  }
  if (query.length === 0) return empty;
  query.sort((a, b) => a.bound - b.bound);
  const m = query.length;
  const cursors = query.map((q) => q.cursor);
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
  return top.sorted();
}
