/**
 * Convex fusion over numeric keys in typed arrays: what a collection's hybrid search runs on every
 * query, with 1,000 candidates a side. fusion.ts's convexFusion takes { id, score } objects, a Map and
 * a full sort of each list; here the dense list comes as the index gives it (keys and scores, best
 * first), the keyword candidates in any order (the keyword engine then skips sorting its 1,000), the
 * keys meet in an open-addressing table, and only the `limit` best are ordered.
 *
 * The result is convexFusion's over the dense list and the keyword list sorted best first (score
 * descending, key ascending), bit for bit: the same normalization arithmetic, the same combination,
 * and the same tie order (first appearance: the dense list's order, then the keyword list's).
 */
import { bestIndices, scoreNormalization, type Scored, type ScoreNormalization } from './fusion.ts';

/** Candidates of one side: keys[i] scored scores[i], for i < count. */
export interface KeyedScores {
  readonly keys: ArrayLike<number>;
  readonly scores: ArrayLike<number>;
  readonly count: number;
}

function copy(values: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i];
  return out;
}

/**
 * weight x normalized dense + (1 - weight) x normalized keyword over the union of the candidates; the
 * best `limit`, best first. Keyword keys must be distinct (a keyword engine's are); a key repeated in
 * the dense list keeps its first (best) score, as in convexFusion.
 */
export function convexFusionByKey(dense: KeyedScores, keyword: KeyedScores, weight: number, normalization: ScoreNormalization, limit: number): Scored<number>[] {
  const nd = dense.count;
  const nk = keyword.count;
  const d = scoreNormalization(copy(dense.scores, nd), normalization);
  // The keyword side in the sorted list's order (best first; equal scores are equal values, so their order cannot change a sum).
  const kwScores = copy(keyword.scores, nk);
  if (normalization !== 'minmax') kwScores.sort().reverse();
  const kw = scoreNormalization(kwScores, normalization);
  const capacity = 1 << Math.max(4, Math.ceil(Math.log2(2 * (nd + nk) + 1)));
  const shift = 32 - Math.log2(capacity);
  const tableKeys = new Float64Array(capacity);
  const tableSlots = new Int32Array(capacity).fill(-1);
  // Per slot (first appearance order): key, normalized sides, and for keyword-only slots their raw score.
  const n = nd + nk;
  const keys = new Float64Array(n);
  const denseValue = new Float64Array(n);
  const keywordValue = new Float64Array(n).fill(kw.missing);
  const keywordRaw = new Float64Array(n);
  let slots = 0;
  const find = (key: number): number => {
    let h = Math.imul((key >>> 0) ^ Math.floor(key / 0x1_0000_0000), 0x9e3779b1) >>> shift;
    while (tableSlots[h] >= 0 && tableKeys[h] !== key) h = (h + 1) & (capacity - 1);
    return h;
  };
  for (let i = 0; i < nd; i++) {
    const key = dense.keys[i];
    const h = find(key);
    if (tableSlots[h] >= 0) continue; // a repeated key keeps its first (best) score
    tableKeys[h] = key;
    tableSlots[h] = slots;
    keys[slots] = key;
    denseValue[slots++] = d.value(dense.scores[i]);
  }
  const denseSlots = slots;
  for (let i = 0; i < nk; i++) {
    const key = keyword.keys[i];
    const score = keyword.scores[i];
    const h = find(key);
    const at = tableSlots[h];
    if (at >= 0) {
      if (at < denseSlots) keywordValue[at] = kw.value(score);
      continue;
    }
    tableKeys[h] = key;
    tableSlots[h] = slots;
    keys[slots] = key;
    denseValue[slots] = d.missing;
    keywordValue[slots] = kw.value(score);
    keywordRaw[slots++] = score;
  }
  const fused = new Float64Array(slots);
  for (let i = 0; i < slots; i++) fused[i] = weight * denseValue[i] + (1 - weight) * keywordValue[i];
  // Ties: dense slots in their order, before keyword-only slots, which go in the sorted keyword list's
  // order (raw score descending, key ascending).
  const better = (a: number, b: number): boolean => {
    if (fused[a] !== fused[b]) return fused[a] > fused[b];
    if (a < denseSlots || b < denseSlots) return a < b;
    return keywordRaw[a] > keywordRaw[b] || (keywordRaw[a] === keywordRaw[b] && keys[a] < keys[b]);
  };
  const take = Math.min(limit, slots);
  const order = take > 256 || take === slots
    ? Array.from({ length: slots }, (_, i) => i).sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0)).slice(0, take)
    : bestIndices(slots, take, better);
  return order.map((i) => ({ id: keys[i], score: fused[i] }));
}
