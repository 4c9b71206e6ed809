/**
 * The k best documents of a keyword search, as both search strategies (max-score.ts, term-at-a-time.ts)
 * collect them: a bounded heap ordered by score descending, then key ascending (SQLite's
 * ORDER BY bm25(), rowid), so that the same scored documents give the same list whichever ran.
 */

export interface KeywordTopK {
  readonly keys: Float64Array;
  readonly scores: Float64Array;
  readonly count: number;
}

export const EMPTY_TOP_K: KeywordTopK = Object.freeze({ keys: new Float64Array(0), scores: new Float64Array(0), count: 0 });

/** A bounded heap of the k best (score desc, key asc): the root is the worst held. */
export class TopK {
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

  /** The held results, best first when `sorted`, else in heap order. Empties the heap. */
  take(sorted: boolean): KeywordTopK {
    if (sorted) return this.sorted();
    const n = this.size;
    this.size = 0;
    return { keys: this.keys.slice(0, n), scores: this.scores.slice(0, n), count: n };
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


/**
 * The k best of n (score, key) pairs (score desc, key asc) by quickselect, best first when `sorted`,
 * else in no particular order. Reorders the first n entries of both arrays. Cheaper than the heap when
 * every candidate is known beforehand (term-at-a-time search): O(n) instead of O(n log k).
 */
export function selectTopK(scores: Float64Array, keys: Float64Array, n: number, k: number, sorted: boolean): KeywordTopK {
  const better = (a: number, b: number): boolean => scores[a] > scores[b] || (scores[a] === scores[b] && keys[a] < keys[b]);
  const swap = (a: number, b: number): void => {
    const s = scores[a];
    scores[a] = scores[b];
    scores[b] = s;
    const key = keys[a];
    keys[a] = keys[b];
    keys[b] = key;
  };
  const count = Math.min(k, n);
  // Hoare-style selection: afterwards [0, count) holds the count best.
  let lo = 0;
  let hi = n - 1;
  while (count < n && lo < hi) {
    const mid = (lo + hi) >>> 1; // median of three as the pivot, moved to hi
    if (better(mid, lo)) swap(mid, lo);
    if (better(hi, lo)) swap(hi, lo);
    if (better(mid, hi)) swap(mid, hi);
    let store = lo;
    for (let i = lo; i < hi; i++) if (better(i, hi)) swap(i, store++);
    swap(store, hi);
    if (store === count - 1 || store === count) break;
    if (store < count) lo = store + 1;
    else hi = store - 1;
  }
  const outScores = new Float64Array(count);
  const outKeys = new Float64Array(count);
  if (sorted) {
    const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || keys[a] - keys[b]);
    for (let i = 0; i < count; i++) {
      outScores[i] = scores[order[i]];
      outKeys[i] = keys[order[i]];
    }
  } else {
    outScores.set(scores.subarray(0, count));
    outKeys.set(keys.subarray(0, count));
  }
  return { keys: outKeys, scores: outScores, count };
}
