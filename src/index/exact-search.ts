/**
 * Exact top-k over a VectorSource: the engine of FlatIndex, of exact filtered fallbacks and of the
 * "k covers everything" case of HNSW.
 *
 * Blocked: a block of up to 64 queries is scored against a block of rows at a time (both copied into
 * scratch buffers that stay in cache), by usearch's native SIMD exact kernel with one thread by default;
 * each block yields its partial top-k (usearch partial-sorts it), which is merged into a bounded
 * min-heap per query (never a full sort of all scores). The winners' scores are then recomputed in
 * double precision in JS, so scores are exact and identical whichever kernel ran. Small problems
 * (fewer than ~8k query-row pairs) skip the native call and score in JS.
 */
import { TopK, sortByScore } from './top-k.ts';
import { nativeExactSearch, type NativeMetric } from './usearch-native.ts';
import type { VectorSource } from './vector-store.ts';
import type { IndexMetric } from './vector-index.ts';

export interface ExactHits {
  /** Rows of the source, best first. */
  readonly rows: Int32Array;
  readonly scores: Float64Array;
}

export interface ExactSearchOptions {
  /** Only these rows are candidates (any order). */
  readonly rows?: Int32Array;
  /** Threads for the native kernel (0 = all cores). Default 1. */
  readonly threads?: number;
  /** 'js' forces the pure-JS kernel (tests compare both); default 'auto'. */
  readonly kernel?: 'auto' | 'js' | 'native';
}

const QUERY_BLOCK = 64;
const MAX_ROW_BLOCK = 16_384;
const PAIRS_PER_CALL = 1 << 18;
const NATIVE_MIN_PAIRS = 8_192;

/** Similarity of a query (queries[qo..]) and a row (data[ro..]): dot for cosine/dot, -euclidean for l2. */
export function exactScore(metric: IndexMetric, q: Float32Array, qo: number, data: Float32Array, ro: number, dims: number): number {
  if (metric === 'l2') {
    let s = 0;
    for (let j = 0; j < dims; j++) {
      const t = q[qo + j] - data[ro + j];
      s += t * t;
    }
    return 0 - Math.sqrt(s); // 0 - 0 is +0, not -0
  }
  let s = 0;
  for (let j = 0; j < dims; j++) s += q[qo + j] * data[ro + j];
  return s;
}

/** Exact scores of query qi against the given rows (in the order given). */
export function scoreRows(source: VectorSource, queries: Float32Array, qi: number, rows: ArrayLike<number>, count: number, scratch?: Float32Array): Float64Array {
  const d = source.dims;
  const out = new Float64Array(count);
  const data = source.data;
  if (data) {
    for (let i = 0; i < count; i++) out[i] = exactScore(source.metric, queries, qi * d, data, rows[i] * d, d);
    return out;
  }
  const buf = scratch && scratch.length >= count * d ? scratch : new Float32Array(count * d);
  // Read in ascending row order (coalesced reads), then map back.
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => rows[a] - rows[b]);
  const sorted = Int32Array.from(order, (i) => rows[i]);
  source.copyRows(sorted, 0, count, buf);
  for (let i = 0; i < count; i++) out[order[i]] = exactScore(source.metric, queries, qi * d, buf, i * d, d);
  return out;
}

function nativeMetric(metric: IndexMetric): NativeMetric {
  return metric === 'l2' ? 'l2sq' : 'ip';
}

/**
 * The exact top-k rows for each of nq prepared queries (normalized for cosine).
 * k > candidates gives every candidate; k = 0 gives empty lists.
 */
export function exactSearch(source: VectorSource, queries: Float32Array, nq: number, k: number, options: ExactSearchOptions = {}): ExactHits[] {
  const subset = options.rows;
  const total = subset ? subset.length : source.size;
  const kk = Math.min(k, total);
  if (kk === 0 || nq === 0) return Array.from({ length: nq }, () => ({ rows: new Int32Array(0), scores: new Float64Array(0) }));
  const heaps = Array.from({ length: nq }, () => new TopK(kk));
  const kernel = options.kernel ?? 'auto';
  const useNative = kernel === 'native' || (kernel === 'auto' && total * nq >= NATIVE_MIN_PAIRS);
  if (useNative) nativeBlocks(source, queries, nq, kk, subset, total, heaps, options.threads ?? 1);
  else jsBlocks(source, queries, nq, subset, total, heaps);
  // Winners' exact scores in double precision, sorted best first.
  return heaps.map((h, qi) => {
    const ids = h.ids.slice(0, h.size);
    h.reset();
    const scores = scoreRows(source, queries, qi, ids, ids.length);
    return sortByScore(ids, scores);
  }).map((r) => ({ rows: r.ids, scores: r.scores }));
}

function jsBlocks(source: VectorSource, queries: Float32Array, nq: number, subset: Int32Array | undefined, total: number, heaps: TopK[]): void {
  const d = source.dims;
  const metric = source.metric;
  const data = source.data;
  if (data) {
    for (let qi = 0; qi < nq; qi++) {
      const heap = heaps[qi];
      for (let i = 0; i < total; i++) {
        const r = subset ? subset[i] : i;
        const score = exactScore(metric, queries, qi * d, data, r * d, d);
        if (score > heap.threshold) heap.push(score, r);
      }
    }
    return;
  }
  const block = Math.max(1, Math.min(total, 4096));
  const buf = new Float32Array(block * d);
  for (let s = 0; s < total; s += block) {
    const e = Math.min(total, s + block);
    if (subset) source.copyRows(subset, s, e, buf);
    else source.copyRange(s, e, buf);
    for (let qi = 0; qi < nq; qi++) {
      const heap = heaps[qi];
      for (let i = s; i < e; i++) {
        const score = exactScore(metric, queries, qi * d, buf, (i - s) * d, d);
        if (score > heap.threshold) heap.push(score, subset ? subset[i] : i);
      }
    }
  }
}

function nativeBlocks(
  source: VectorSource, queries: Float32Array, nq: number, kk: number, subset: Int32Array | undefined, total: number,
  heaps: TopK[], threads: number,
): void {
  const d = source.dims;
  const metric = nativeMetric(source.metric);
  const qb = Math.min(nq, QUERY_BLOCK);
  const rb = Math.max(1, Math.min(total, MAX_ROW_BLOCK, Math.max(1024, Math.floor(PAIRS_PER_CALL / qb))));
  const qBuf = new ArrayBuffer(qb * d * 4);
  const rBuf = new ArrayBuffer(rb * d * 4);
  const rowsAll = new Float32Array(rBuf);
  for (let q0 = 0; q0 < nq; q0 += qb) {
    const q1 = Math.min(nq, q0 + qb);
    const qView = new Float32Array(qBuf, 0, (q1 - q0) * d);
    qView.set(queries.subarray(q0 * d, q1 * d));
    for (let s = 0; s < total; s += rb) {
      const e = Math.min(total, s + rb);
      if (subset) source.copyRows(subset, s, e, rowsAll);
      else source.copyRange(s, e, rowsAll);
      const rView = new Float32Array(rBuf, 0, (e - s) * d);
      const wanted = Math.min(kk, e - s);
      const [keys, dists, counts] = nativeExactSearch(rView, qView, d, wanted, metric, threads);
      const offs = new Uint32Array(keys.buffer, keys.byteOffset, keys.length * 2);
      const cnt = new Uint32Array(counts.buffer, counts.byteOffset, counts.length * 2);
      for (let qi = q0; qi < q1; qi++) {
        const heap = heaps[qi];
        const base = (qi - q0) * wanted;
        const c = cnt[2 * (qi - q0)];
        for (let j = 0; j < c; j++) {
          const score = -dists[base + j];
          if (!(score > heap.threshold)) break; // sorted ascending by distance: nothing better follows
          const off = offs[2 * (base + j)];
          heap.push(score, subset ? subset[s + off] : s + off);
        }
      }
    }
  }
}
