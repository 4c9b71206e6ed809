/**
 * Scalar int8 quantization for the HNSW graph (the exact f32 vectors are kept beside it for rescoring).
 *
 * - cosine: each row is scaled by 127 / max|x| of that row. Cosine is scale-invariant per vector, so this
 *   uses the whole int8 range for every row (usearch's own cast divides by the L2 norm instead, which
 *   leaves a 100-d unit vector's components around +-13 of the 127 levels).
 * - dot and l2: one global scale for every row and query (127 / the largest |x| of the first batch added),
 *   since a per-row scale would change dot products and distances; values beyond it are clamped.
 */
export type I8Mode = 'row' | 'global';

export interface I8Params {
  readonly mode: I8Mode;
  /** Multiplier of the global mode (ignored by 'row'). */
  readonly scale: number;
}

/** The global scale that maps the largest |x| of data[0, n) to 127 (1 for all-zero data). */
export function calibrateI8Scale(data: Float32Array, n = data.length): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(data[i]);
    if (a > m) m = a;
  }
  return m > 0 ? 127 / m : 1;
}

function clamp127(x: number): number {
  const r = Math.round(x);
  return r > 127 ? 127 : r < -127 ? -127 : r;
}

/** Quantizes rows x dims floats into a new Int8Array. */
export function quantizeI8(data: Float32Array, rows: number, dims: number, params: I8Params): Int8Array {
  const out = new Int8Array(rows * dims);
  if (params.mode === 'global') {
    const s = params.scale;
    for (let i = 0; i < rows * dims; i++) out[i] = clamp127(data[i] * s);
    return out;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * dims;
    let m = 0;
    for (let j = 0; j < dims; j++) {
      const a = Math.abs(data[o + j]);
      if (a > m) m = a;
    }
    if (m === 0) continue;
    const s = 127 / m;
    for (let j = 0; j < dims; j++) out[o + j] = clamp127(data[o + j] * s);
  }
  return out;
}
