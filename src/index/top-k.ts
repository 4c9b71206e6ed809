/**
 * A bounded min-heap keeping the k highest scores seen (with an int payload, a row number):
 * O(log k) per accepted candidate and one comparison per rejected one; never sorts all scores.
 */
export class TopK {
  readonly capacity: number;
  readonly scores: Float64Array;
  readonly ids: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.scores = new Float64Array(Math.max(1, capacity));
    this.ids = new Int32Array(Math.max(1, capacity));
  }

  /** The lowest kept score once full (a candidate must beat it), else -Infinity. */
  get threshold(): number {
    return this.size < this.capacity ? -Infinity : this.scores[0];
  }

  reset(): void {
    this.size = 0;
  }

  push(score: number, id: number): void {
    const { scores, ids } = this;
    if (this.size < this.capacity) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (scores[p] <= score) break;
        scores[i] = scores[p];
        ids[i] = ids[p];
        i = p;
      }
      scores[i] = score;
      ids[i] = id;
    } else if (this.capacity > 0 && score > scores[0]) {
      this.siftDown(score, id);
    }
  }

  private siftDown(score: number, id: number): void {
    const { scores, ids } = this;
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && scores[r] < scores[l] ? r : l;
      if (scores[c] >= score) break;
      scores[i] = scores[c];
      ids[i] = ids[c];
      i = c;
    }
    scores[i] = score;
    ids[i] = id;
  }

  /** The kept ids, best first (ties: lower id first). Leaves the heap empty. */
  drainSorted(): { ids: Int32Array; scores: Float64Array } {
    const sorted = sortByScore(this.ids.subarray(0, this.size), this.scores.subarray(0, this.size));
    this.size = 0;
    return sorted;
  }
}

/** Sorts (ids, scores) pairs best first, ties by lower id, in place of new arrays. */
export function sortByScore(ids: Int32Array, scores: Float64Array): { ids: Int32Array; scores: Float64Array } {
  const n = ids.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || ids[a] - ids[b]);
  const outIds = new Int32Array(n);
  const outScores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    outIds[i] = ids[order[i]];
    outScores[i] = scores[order[i]];
  }
  return { ids: outIds, scores: outScores };
}
