import assert from 'node:assert/strict';

/** Cosine of two vectors, written plainly (a reference, independent of src/). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** Cosine of row i of a and row i of b (flat row-major buffers of dims-wide rows). */
export function rowCosine(a: Float32Array, b: Float32Array, dims: number, i: number): number {
  return cosine(a.subarray(i * dims, (i + 1) * dims), b.subarray(i * dims, (i + 1) * dims));
}

/** Largest absolute element-wise difference; the lengths must match. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'maxAbsDiff: lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
