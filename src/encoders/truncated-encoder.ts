/**
 * Matryoshka truncation: a model trained with MatryoshkaLoss keeps most of its quality in the first d
 * dimensions of its vectors. TruncatedEncoder gives the first `truncateDim` of each vector, renormalized to
 * unit length when the model's vectors are (sentence-transformers' truncate_dim, then normalization), so
 * that cosine and dot rank alike. A collection created with one records truncateDim in its manifest.
 */
import { BiencoderError } from '../errors.ts';
import { DelegatingEncoder } from './delegating-encoder.ts';
import { normalizeRows } from '../matrix.ts';
import type { EncodeOptions, Embeddings, Encoder } from './encoder.ts';

export class TruncatedEncoder extends DelegatingEncoder {
  readonly #truncateDim: number;

  constructor(inner: Encoder, truncateDim: number) {
    super(inner);
    this.#truncateDim = checkTruncateDim(truncateDim, inner.dims);
  }

  override get truncateDim(): number {
    return this.#truncateDim;
  }

  override get dims(): number {
    return this.#truncateDim;
  }

  override async encode(texts: readonly string[], options?: EncodeOptions): Promise<Embeddings> {
    const e = await this.inner.encode(texts, options);
    return { ...e, data: truncateRows(e.data, e.rows, e.dims, this.truncateDim, this.inner.normalized), dims: this.truncateDim };
  }
}

/** The encoder giving `truncateDim`-d vectors (the encoder itself when that is its size, or undefined is asked). */
export function withTruncateDim(encoder: Encoder, truncateDim: number | undefined): Encoder {
  if (truncateDim === undefined || truncateDim === encoder.dims) return encoder;
  return new TruncatedEncoder(encoder, truncateDim);
}

/** A truncateDim option: an integer in 1..dims. */
export function checkTruncateDim(d: unknown, dims: number): number {
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > dims) {
    throw new BiencoderError('INVALID_ARGUMENT', `truncateDim must be an integer in 1..${dims} (the model's dimensions), got ${String(d)}`);
  }
  return d;
}

/** The first d of each row of a rows x dims matrix, each renormalized to unit length when `normalize`. */
export function truncateRows(data: Float32Array, rows: number, dims: number, d: number, normalize: boolean): Float32Array {
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * dims, r * dims + d), r * d);
  if (normalize) normalizeRows({ data: out, rows, dims: d });
  return out;
}
