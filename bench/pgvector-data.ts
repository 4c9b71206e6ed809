/**
 * bench:pgvector's synthetic vectors and small statistics helpers, shared by its phases.
 */
import { normalizeInPlace } from '../src/index/validate.ts';
import { FlatIndex } from '../src/index/flat-index.ts';
import { rng as uniform } from '../test/helpers/prng.ts';

/** The seeded uniform stream (mulberry32) with a standard normal sampler (Box-Muller, one output per pair). */
export function rng(seed: number): { next: () => number; normal: () => number } {
  const next = uniform(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return { next, normal };
}

/** Unit vectors drawn around `centers` random unit centres (a Gaussian mixture, sigma / sqrt(dims) per coordinate), as bench:collection. */
export function gaussianMixture(dims: number, centers: number, sigma: number): (seed: number, rows: number) => Float32Array {
  const c = new Float32Array(centers * dims);
  const r0 = rng(1);
  for (let i = 0; i < c.length; i++) c[i] = r0.normal();
  normalizeInPlace(c, centers, dims);
  return (seed, rows) => {
    const out = new Float32Array(rows * dims);
    const r = rng(seed);
    const scale = sigma / Math.sqrt(dims);
    for (let i = 0; i < rows; i++) {
      const from = Math.floor(r.next() * centers) * dims;
      const o = i * dims;
      for (let j = 0; j < dims; j++) out[o + j] = c[from + j] + scale * r.normal();
    }
    normalizeInPlace(out, rows, dims);
    return out;
  };
}

/** Row i of a row-major matrix. */
export function rowOf(m: Float32Array, dims: number, i: number): Float32Array {
  return m.subarray(i * dims, (i + 1) * dims);
}

/** The exact top-k ids (`doc-<i>`) of the first `queries` rows of `q` among the rows of `data` that `keep` accepts (cosine). */
export function exactTopK(data: Float32Array, dims: number, q: Float32Array, queries: number, k: number, keep?: (i: number) => boolean): string[][] {
  const rows = data.length / dims;
  const index = new FlatIndex({ dims, metric: 'cosine' });
  const kept = Array.from({ length: rows }, (_, i) => i).filter((i) => keep === undefined || keep(i));
  const m = new Float32Array(kept.length * dims);
  kept.forEach((i, j) => m.set(rowOf(data, dims, i), j * dims));
  index.add(BigUint64Array.from(kept, (i) => BigInt(i)), { data: m, rows: kept.length, dims });
  const matches = index.search({ data: q.subarray(0, queries * dims), rows: queries, dims }, k);
  return matches.map((mm) => Array.from(mm.keys.subarray(0, mm.count), (key) => `doc-${key}`));
}

export function recallOf(found: string[][], truth: string[][]): number {
  let hit = 0;
  let total = 0;
  found.forEach((f, q) => {
    const t = new Set(truth[q]);
    total += t.size;
    hit += f.filter((id) => t.has(id)).length;
  });
  return total === 0 ? 1 : hit / total;
}

/** The p-th percentile of ascending `sorted` (nearest rank, as bench:pgvector has always reported). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function round(x: number, digits = 2): number {
  return Number(x.toFixed(digits));
}

/** p50 and p99 (ms, 3 decimals) of a list of times. */
export function latency(times: readonly number[]): { p50: number; p99: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50), 3), p99: round(percentile(sorted, 99), 3) };
}
