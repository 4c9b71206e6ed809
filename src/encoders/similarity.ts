import { BiencoderError } from '../errors.ts';
import { createMatrix, type Matrix } from '../matrix.ts';
import type { Metric } from './encoder.ts';

export const METRICS: readonly Metric[] = ['dot', 'cosine', 'l2', 'manhattan'];

/**
 * Similarity of two vectors; higher always means more similar:
 * dot product, cosine, negative euclidean distance ('l2') and negative L1 distance ('manhattan'),
 * as sentence-transformers' similarity functions do.
 */
export function similarity(a: ArrayLike<number>, b: ArrayLike<number>, metric: Metric = 'cosine'): number {
  if (a.length !== b.length) {
    throw new BiencoderError('DIMENSION_MISMATCH', `vectors have ${a.length} and ${b.length} dims`);
  }
  return score(a, 0, b, 0, a.length, checkMetric(metric));
}

/** The similarity of every row of a with every row of b: an a.rows x b.rows matrix. */
export function similarityMatrix(a: Matrix, b: Matrix, metric: Metric = 'cosine'): Matrix {
  if (a.dims !== b.dims) throw new BiencoderError('DIMENSION_MISMATCH', `matrices have ${a.dims} and ${b.dims} dims`);
  checkMetric(metric);
  const out = createMatrix(a.rows, b.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) {
      out.data[i * b.rows + j] = score(a.data, i * a.dims, b.data, j * b.dims, a.dims, metric);
    }
  }
  return out;
}

/** Row i of a against row i of b, for two matrices with the same number of rows. */
export function pairwiseSimilarity(a: Matrix, b: Matrix, metric: Metric = 'cosine'): Float32Array {
  if (a.dims !== b.dims) throw new BiencoderError('DIMENSION_MISMATCH', `matrices have ${a.dims} and ${b.dims} dims`);
  if (a.rows !== b.rows) throw new BiencoderError('INVALID_ARGUMENT', `pairwise similarity needs equal row counts, got ${a.rows} and ${b.rows}`);
  checkMetric(metric);
  const out = new Float32Array(a.rows);
  for (let i = 0; i < a.rows; i++) out[i] = score(a.data, i * a.dims, b.data, i * b.dims, a.dims, metric);
  return out;
}

function checkMetric(metric: Metric): Metric {
  if (!METRICS.includes(metric)) {
    throw new BiencoderError('INVALID_ARGUMENT', `unknown metric "${String(metric)}"; use one of ${METRICS.join(', ')}`);
  }
  return metric;
}

function score(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, n: number, metric: Metric): number {
  switch (metric) {
    case 'dot': {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[ao + k] * b[bo + k];
      return s;
    }
    case 'cosine': {
      let s = 0;
      let na = 0;
      let nb = 0;
      for (let k = 0; k < n; k++) {
        const x = a[ao + k];
        const y = b[bo + k];
        s += x * y;
        na += x * x;
        nb += y * y;
      }
      const denom = Math.sqrt(na) * Math.sqrt(nb);
      return denom === 0 ? 0 : s / denom;
    }
    case 'l2': {
      let s = 0;
      for (let k = 0; k < n; k++) {
        const d = a[ao + k] - b[bo + k];
        s += d * d;
      }
      return -Math.sqrt(s);
    }
    case 'manhattan': {
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.abs(a[ao + k] - b[bo + k]);
      return -s;
    }
  }
}
