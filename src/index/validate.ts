import { BiencoderError } from '../errors.ts';
import type { Matrix } from '../matrix.ts';
import type { IndexMetric, Keys } from './vector-index.ts';

export const INDEX_METRICS: readonly IndexMetric[] = ['cosine', 'dot', 'l2'];

/** Most dimensions of a vector. */
export const MAX_DIMS = 65_536;

/** Largest search breadth (ef, expansionSearch): one limit for every index and door (the library, the CLI's --ef, the HTTP `ef`). */
export const MAX_EF = 65_536;

/** 2^64 - 1 is usearch's marker of a free slot, so it cannot be a key (in any index, for consistency). */
export const RESERVED_KEY = 0xffff_ffff_ffff_ffffn;

export function checkMetric(metric: unknown): IndexMetric {
  if (typeof metric !== 'string' || !(INDEX_METRICS as readonly string[]).includes(metric)) {
    throw new BiencoderError('INVALID_ARGUMENT', `unknown index metric ${JSON.stringify(metric)}; use one of ${INDEX_METRICS.join(', ')}`);
  }
  return metric as IndexMetric;
}

export function checkDims(dims: unknown): number {
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims <= 0 || dims > MAX_DIMS) {
    throw new BiencoderError('INVALID_ARGUMENT', `dims must be an integer in 1..${MAX_DIMS}, got ${String(dims)}`);
  }
  return dims;
}

/** A positive integer option (or the fallback when undefined). */
export function checkPositiveInt(name: string, value: unknown, fallback: number, max = 1 << 30): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
    throw new BiencoderError('INVALID_ARGUMENT', `${name} must be an integer in 1..${max}, got ${String(value)}`);
  }
  return value;
}

/** k: a non-negative integer. */
export function checkK(k: unknown): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0) {
    throw new BiencoderError('INVALID_ARGUMENT', `k must be a non-negative integer, got ${String(k)}`);
  }
  return k;
}

/** A matrix of the index's width whose every value is finite; names the first bad row. */
export function checkMatrix(m: Matrix, dims: number, what: 'vectors' | 'queries'): void {
  if (m === null || typeof m !== 'object' || !(m.data instanceof Float32Array)) {
    throw new BiencoderError('INVALID_ARGUMENT', `${what} must be a Matrix { data: Float32Array, rows, dims }`);
  }
  if (m.dims !== dims) {
    throw new BiencoderError('DIMENSION_MISMATCH', `${what} have ${m.dims} dims, the index has ${dims}`, {
      details: { expected: dims, actual: m.dims },
    });
  }
  if (!Number.isInteger(m.rows) || m.rows < 0 || m.data.length < m.rows * m.dims) {
    throw new BiencoderError('INVALID_ARGUMENT', `${what}: a buffer of ${m.data.length} floats cannot hold ${m.rows} rows of ${m.dims}`);
  }
  const { data } = m;
  const n = m.rows * dims;
  for (let i = 0; i < n; i++) {
    const x = data[i];
    // x - x is NaN exactly for NaN and +-Infinity.
    if (x - x !== 0) {
      const row = Math.floor(i / dims);
      throw new BiencoderError('INVALID_VECTOR', `${what}: row ${row} holds ${x} at dimension ${i - row * dims}; vectors must be finite`, {
        details: { row, dimension: i - row * dims },
      });
    }
  }
}

/**
 * Keys as a BigUint64Array (the input is not copied when it already is one), checked: one per row,
 * each an integer in 0..2^64-2, no key twice in one call (INVALID_ARGUMENT naming both rows).
 */
export function toKeyArray(keys: Keys, rows: number | undefined, what = 'keys', checkDuplicates = true): BigUint64Array {
  let out: BigUint64Array;
  if (keys instanceof BigUint64Array) {
    out = keys;
  } else if (Array.isArray(keys)) {
    out = new BigUint64Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const k: unknown = keys[i];
      if (typeof k !== 'bigint' || k < 0n || k > RESERVED_KEY) {
        throw new BiencoderError('INVALID_ARGUMENT', `${what}[${i}] must be a bigint in 0..2^64-2, got ${typeof k === 'bigint' ? k.toString() : typeof k}`);
      }
      out[i] = k;
    }
  } else {
    throw new BiencoderError('INVALID_ARGUMENT', `${what} must be a BigUint64Array or an array of bigints`);
  }
  if (rows !== undefined && out.length !== rows) {
    throw new BiencoderError('INVALID_ARGUMENT', `got ${out.length} keys for ${rows} vectors`, { details: { keys: out.length, rows } });
  }
  for (let i = 0; i < out.length; i++) {
    if (out[i] === RESERVED_KEY) {
      throw new BiencoderError('INVALID_ARGUMENT', `${what}[${i}] is 2^64-1, which is reserved`);
    }
  }
  if (checkDuplicates && out.length > 1) {
    const seen = new Map<bigint, number>();
    for (let i = 0; i < out.length; i++) {
      const prev = seen.get(out[i]);
      if (prev !== undefined) {
        throw new BiencoderError('INVALID_ARGUMENT', `key ${out[i]} appears twice in one add (rows ${prev} and ${i}); nothing was added`, {
          details: { key: out[i].toString(), rows: [prev, i] },
        });
      }
      seen.set(out[i], i);
    }
  }
  return out;
}

/** A copy of rows [0, rows) with every row scaled to unit length (zero rows stay zero). */
export function normalizedCopy(m: Matrix): Float32Array {
  const { rows, dims } = m;
  const out = new Float32Array(rows * dims);
  out.set(m.data.subarray(0, rows * dims));
  normalizeInPlace(out, rows, dims);
  return out;
}

export function normalizeInPlace(data: Float32Array, rows: number, dims: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dims;
    let s = 0;
    for (let j = 0; j < dims; j++) s += data[o + j] * data[o + j];
    if (s > 0) {
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < dims; j++) data[o + j] *= inv;
    }
  }
}

/** The rows of a matrix ready for an index: a normalized copy for cosine, else the first rows*dims floats (no copy). */
export function prepareRows(m: Matrix, metric: IndexMetric): Float32Array {
  return metric === 'cosine' ? normalizedCopy(m) : m.data.subarray(0, m.rows * m.dims);
}
