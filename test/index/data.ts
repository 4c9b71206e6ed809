/** Deterministic synthetic vectors for the index tests. */
import { matrixFrom, type Matrix } from '../../src/matrix.ts';
import type { IndexMatches } from '../../src/index/vector-index.ts';
import { rng } from '../helpers/prng.ts';
export { rng };

export function gaussian(next: () => number): () => number {
  return () => {
    let u = 0;
    while (u === 0) u = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
}

/** rows x dims uniform values in [-1, 1). */
export function randomMatrix(rows: number, dims: number, seed: number): Matrix {
  const r = rng(seed);
  const data = new Float32Array(rows * dims);
  for (let i = 0; i < data.length; i++) data[i] = r() * 2 - 1;
  return matrixFrom(data, dims);
}

/**
 * Gaussian clusters: `clusters` centres drawn from N(0, 1) per dimension, each point a centre plus
 * N(0, spread^2) noise, points assigned to centres round-robin.
 */
export function clusteredMatrix(rows: number, dims: number, clusters: number, spread: number, seed: number): Matrix {
  const g = gaussian(rng(seed));
  const centres = new Float32Array(clusters * dims);
  for (let i = 0; i < centres.length; i++) centres[i] = g();
  const data = new Float32Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    const c = (r % clusters) * dims;
    for (let j = 0; j < dims; j++) data[r * dims + j] = centres[c + j] + spread * g();
  }
  return matrixFrom(data, dims);
}

export function sequentialKeys(n: number, start = 0n): BigUint64Array {
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) out[i] = start + BigInt(i);
  return out;
}

/** Mean recall@k of `got` against `truth` (sets of keys per query). */
export function recallAt(got: IndexMatches[], truth: IndexMatches[], k: number): number {
  let hit = 0;
  let total = 0;
  for (let q = 0; q < truth.length; q++) {
    const t = new Set(truth[q].keys.subarray(0, k));
    for (const key of got[q].keys.subarray(0, k)) if (t.has(key)) hit++;
    total += Math.min(k, truth[q].count);
  }
  return total === 0 ? 1 : hit / total;
}

export function rowsOf(m: Matrix, from: number, to: number): Matrix {
  return matrixFrom(m.data.slice(from * m.dims, to * m.dims), m.dims);
}
