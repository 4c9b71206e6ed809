import { BiencoderError } from './errors.ts';

/** A row-major matrix of float32 vectors: row i is data[i*dims .. (i+1)*dims). */
export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly dims: number;
}

export function createMatrix(rows: number, dims: number): Matrix {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(dims) || dims < 0) {
    throw new BiencoderError('INVALID_ARGUMENT', `matrix shape must be non-negative integers, got ${rows}x${dims}`);
  }
  return { data: new Float32Array(rows * dims), rows, dims };
}

/** Wraps an existing buffer; its length must be rows * dims. */
export function matrixFrom(data: Float32Array, dims: number): Matrix {
  if (!Number.isInteger(dims) || dims <= 0 || data.length % dims !== 0) {
    throw new BiencoderError('DIMENSION_MISMATCH', `a buffer of ${data.length} floats is not a whole number of ${dims}-d rows`);
  }
  return { data, rows: data.length / dims, dims };
}

/** Copies rows into one contiguous matrix; every row must have the same length. */
export function matrixFromRows(rows: ArrayLike<number>[], dims?: number): Matrix {
  const d = dims ?? rows[0]?.length;
  if (d === undefined) {
    throw new BiencoderError('INVALID_ARGUMENT', 'cannot infer dims of an empty list of rows; pass dims');
  }
  const out = createMatrix(rows.length, d);
  rows.forEach((r, i) => {
    if (r.length !== d) {
      throw new BiencoderError('DIMENSION_MISMATCH', `row ${i} has ${r.length} dims, expected ${d}`);
    }
    out.data.set(r, i * d);
  });
  return out;
}

/** A view (no copy) of row i. */
export function matrixRow(m: Matrix, i: number): Float32Array {
  if (!Number.isInteger(i) || i < 0 || i >= m.rows) {
    throw new BiencoderError('INVALID_ARGUMENT', `row ${i} is out of range 0..${m.rows - 1}`);
  }
  return m.data.subarray(i * m.dims, (i + 1) * m.dims);
}

/** A new matrix holding copies of these rows, in this order. */
export function pickRows(m: Matrix, picked: readonly number[]): Matrix {
  const out = new Float32Array(picked.length * m.dims);
  picked.forEach((r, i) => out.set(m.data.subarray(r * m.dims, (r + 1) * m.dims), i * m.dims));
  return { data: out, rows: picked.length, dims: m.dims };
}

/** Views of every row. */
export function matrixRows(m: Matrix): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < m.rows; i++) out.push(m.data.subarray(i * m.dims, (i + 1) * m.dims));
  return out;
}

/** Every row as a plain number[] (what JSON and the frameworks' embedding APIs take). */
export function matrixToArrays(m: Matrix): number[][] {
  return matrixRows(m).map((r) => Array.from(r));
}

/** Scales every row to unit L2 norm in place (zero rows stay zero). */
export function normalizeRows(m: Matrix): Matrix {
  const { data, rows, dims } = m;
  for (let r = 0; r < rows; r++) {
    const o = r * dims;
    let s = 0;
    for (let j = 0; j < dims; j++) s += data[o + j] * data[o + j];
    const n = Math.sqrt(s);
    if (n > 0) {
      const inv = 1 / Math.max(n, 1e-12);
      for (let j = 0; j < dims; j++) data[o + j] *= inv;
    }
  }
  return m;
}
