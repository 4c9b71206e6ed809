/**
 * An insertion order for bulk HNSW builds that stores similar vectors next to each other.
 *
 * usearch lays nodes and vectors out in insertion order, and a beam search reads the vectors and
 * neighbour lists of nodes that are close to each other in space. Inserted in the caller's order (often
 * unrelated to position in space), every read lands somewhere new in a file much larger than the CPU
 * caches; grouped by region, the reads of one search cluster in a few places. So a large add() is
 * inserted cluster by cluster:
 *
 * - centroids: a spread sample of the batch's rows (one per ~160 rows, at most 2,048; no k-means: the
 *   grouping only has to be local, not optimal), put in a nearest-neighbour chain (each next centroid
 *   is the closest unused one to the last), so that consecutive clusters are close too;
 * - every row goes to its nearest centroid (usearch's exact kernel), and rows are inserted cluster by
 *   cluster in chain order, in their original order within a cluster (a stable counting sort).
 *
 * The graph is the same kind of graph (each node still links to its nearest inserted nodes); measured on
 * GloVe-100 (331k vectors, M 16, efConstruction 128): recall at equal efSearch unchanged (0.9686 vs 0.9678
 * at ef 96), searches ~25% faster, and the build itself faster (54 + 9 s vs 78 s). Keys are unchanged:
 * only the order of insertion moves.
 */
import type { IndexMetric } from './vector-index.ts';
import { nativeExactSearch } from './usearch-native.ts';

/** Batches smaller than this are inserted as given (they fit in cache, or are incremental updates). */
export const LOCALITY_MIN_ROWS = 16_384;
const ROWS_PER_CLUSTER = 160;
const MAX_CLUSTERS = 2_048;

/**
 * The insertion order (a permutation of 0..n-1) of n prepared rows (normalized for cosine), or
 * undefined when n < LOCALITY_MIN_ROWS. `threads`: for the nearest-centroid search (0 = all cores).
 */
export function localityOrder(rows: Float32Array, n: number, dims: number, metric: IndexMetric, threads: number): Uint32Array | undefined {
  if (n < LOCALITY_MIN_ROWS) return undefined;
  const clusters = Math.min(MAX_CLUSTERS, Math.ceil(n / ROWS_PER_CLUSTER));
  const centroids = new Float32Array(clusters * dims);
  // One row from each of `clusters` equal strata, at a hashed offset inside its stratum (deterministic, and
  // not fooled by a periodic input order the way every (n / clusters)-th row would be).
  for (let c = 0; c < clusters; c++) {
    const start = Math.floor((c * n) / clusters);
    const span = Math.floor(((c + 1) * n) / clusters) - start;
    const r = start + ((Math.imul(c + 1, 0x9e3779b1) >>> 0) % span);
    centroids.set(rows.subarray(r * dims, (r + 1) * dims), c * dims);
  }
  const rank = chainRanks(centroids, clusters, dims, metric);
  // usearch's exact kernel reads both arrays from the start of their buffers.
  const queries = rows.byteOffset === 0 && rows.length === n * dims ? rows : rows.slice(0, n * dims);
  const [nearest] = nativeExactSearch(centroids, queries, dims, 1, metric === 'l2' ? 'l2sq' : 'ip', threads);
  const clusterOf = new Uint32Array(n);
  const counts = new Uint32Array(clusters + 1);
  for (let i = 0; i < n; i++) {
    const c = rank[Number(nearest[i])];
    clusterOf[i] = c;
    counts[c + 1]++;
  }
  for (let c = 0; c < clusters; c++) counts[c + 1] += counts[c];
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[counts[clusterOf[i]]++] = i;
  return order;
}

/** Position of each centroid in a greedy nearest-neighbour chain starting at centroid 0. */
function chainRanks(centroids: Float32Array, count: number, dims: number, metric: IndexMetric): Uint32Array {
  const rank = new Uint32Array(count);
  const used = new Uint8Array(count);
  let current = 0;
  used[0] = 1;
  for (let position = 1; position < count; position++) {
    let best = -1;
    let bestScore = -Infinity;
    const base = current * dims;
    for (let c = 0; c < count; c++) {
      if (used[c]) continue;
      let score = 0;
      if (metric === 'l2') {
        for (let j = 0; j < dims; j++) {
          const t = centroids[base + j] - centroids[c * dims + j];
          score -= t * t;
        }
      } else {
        for (let j = 0; j < dims; j++) score += centroids[base + j] * centroids[c * dims + j];
      }
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    if (best < 0) best = used.indexOf(0); // only with non-finite scores, which checked input cannot give
    used[best] = 1;
    rank[best] = position;
    current = best;
  }
  return rank;
}

/** Rows order[from..to) of a row-major array, copied into one contiguous array. */
export function gatherRows<T extends Float32Array | Int8Array>(data: T, order: Uint32Array, from: number, to: number, dims: number): T {
  const out = new (data.constructor as { new (length: number): T })((to - from) * dims);
  for (let i = from; i < to; i++) out.set(data.subarray(order[i] * dims, (order[i] + 1) * dims), (i - from) * dims);
  return out;
}
