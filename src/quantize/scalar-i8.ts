/**
 * Scalar int8 quantization for the HNSW graph (the exact f32 vectors are kept beside it for rescoring).
 *
 * - One global scale for every row and query: 127 / the largest |x| of the first batch added, at least
 *   4 / sqrt(dims) for cosine (values beyond it are clamped). Cosine rows are unit vectors, so the graph ranks their codes by int8 inner product,
 *   usearch's fastest int8 kernel (usearch's own f32 cast divides by the L2 norm instead, which leaves a
 *   100-d unit vector's components around +-13 of the 127 levels).
 * - 'row' (each row scaled by 127 / its own max|x|, searched with usearch's cos) is what cosine indexes
 *   used before; it is kept to read indexes saved that way.
 */
export type I8Mode = 'row' | 'global';

export interface I8Params {
  readonly mode: I8Mode;
  /** Multiplier of the global mode (ignored by 'row'). */
  readonly scale: number;
}

/** The global scale that maps max(the largest |x| of data[0, n), floor) to 127 (1 when both are 0). */
export function calibrateI8Scale(data: Float32Array, n = data.length, floor = 0): number {
  let m = floor;
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
