/**
 * A query adapter: a small learned map applied to query embeddings before search, so that queries
 * move toward the documents they should find while the documents and their stored vectors stay as
 * they are (an asymmetric bi-encoder whose document side is the base model).
 *
 *   q' = normalize(q + (q A) B)        A: dims x rank, B: rank x dims
 *
 * A low-rank correction of the identity (LoRA's form): B starts at zero, so an untrained adapter is
 * the identity, and the rank bounds both what it can learn (and memorize) and its cost per query
 * (2 x dims x rank multiply-adds). Written here rather than taken from a library: no TypeScript
 * library trains such a module, and the arithmetic is a few loops over Float32Arrays.
 *
 * The file format: a JSON header line (QueryAdapterHeader) then A and B as little-endian f32, with
 * the header's sha256 of the weights; collections record the file's sha256 in their manifest.
 */
import { createHash } from 'node:crypto';
import { BiencoderError } from '../errors.ts';
import type { Matrix } from '../matrix.ts';

export const QUERY_ADAPTER_FORMAT = 'biencoder-query-adapter';
export const QUERY_ADAPTER_VERSION = 1;

/** What an adapter file says of itself. */
export interface QueryAdapterHeader {
  readonly format: typeof QUERY_ADAPTER_FORMAT;
  readonly version: number;
  /** The encoder whose query vectors it maps (modelId and revision, as in the manifest). */
  readonly baseModel: { readonly modelId: string; readonly revision?: string };
  readonly dims: number;
  readonly rank: number;
  /** sha256 (hex) of the weights (A then B, little-endian f32). */
  readonly weightsSha256: string;
  /** How it was trained and how it did on its validation queries (informational). */
  readonly training?: Readonly<Record<string, unknown>>;
}

export class QueryAdapter {
  /** dims x rank, row-major. */
  readonly a: Float32Array;
  /** rank x dims, row-major. */
  readonly b: Float32Array;

  constructor(
    readonly dims: number,
    readonly rank: number,
    a: Float32Array,
    b: Float32Array,
  ) {
    if (!Number.isInteger(dims) || dims < 1 || !Number.isInteger(rank) || rank < 1 || rank > dims) {
      throw new BiencoderError('INVALID_ARGUMENT', `a query adapter needs 1 <= rank <= dims, got rank ${rank}, dims ${dims}`);
    }
    if (a.length !== dims * rank || b.length !== rank * dims) throw new BiencoderError('INVALID_ARGUMENT', `adapter weights must be ${dims}x${rank} and ${rank}x${dims}`);
    this.a = a;
    this.b = b;
  }

  /** The identity: A small and random (seeded), B zero. */
  static identity(dims: number, rank: number, random: () => number): QueryAdapter {
    const a = new Float32Array(dims * rank);
    const scale = 1 / Math.sqrt(dims);
    for (let i = 0; i < a.length; i++) a[i] = (random() * 2 - 1) * scale;
    return new QueryAdapter(dims, rank, a, new Float32Array(rank * dims));
  }

  /** sha256 (hex) of the weights. */
  weightsSha256(): string {
    return createHash('sha256').update(Buffer.from(this.a.buffer, this.a.byteOffset, this.a.byteLength)).update(Buffer.from(this.b.buffer, this.b.byteOffset, this.b.byteLength)).digest('hex');
  }

  /** Adapted copies of the rows of a matrix of query vectors (unit length). */
  apply(m: Matrix): Matrix {
    if (m.dims !== this.dims) throw new BiencoderError('DIMENSION_MISMATCH', `the query adapter maps ${this.dims}-d vectors, got ${m.dims}-d`);
    const out = new Float32Array(m.rows * this.dims);
    const h = new Float64Array(this.rank);
    for (let r = 0; r < m.rows; r++) this.#applyRow(m.data, r * this.dims, out, h);
    return { data: out, rows: m.rows, dims: this.dims };
  }

  #applyRow(src: Float32Array, offset: number, out: Float32Array, h: Float64Array): void {
    const { dims, rank, a, b } = this;
    h.fill(0);
    for (let i = 0; i < dims; i++) {
      const x = src[offset + i];
      if (x === 0) continue;
      const row = i * rank;
      for (let j = 0; j < rank; j++) h[j] += x * a[row + j];
    }
    let norm = 0;
    for (let i = 0; i < dims; i++) out[offset + i] = src[offset + i];
    for (let j = 0; j < rank; j++) {
      const hj = h[j];
      const row = j * dims;
      for (let i = 0; i < dims; i++) out[offset + i] += hj * b[row + i];
    }
    for (let i = 0; i < dims; i++) norm += out[offset + i] * out[offset + i];
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < dims; i++) out[offset + i] *= inv;
  }

  /** The file's bytes: a JSON header line, then A and B. */
  serialize(baseModel: QueryAdapterHeader['baseModel'], training?: QueryAdapterHeader['training']): Buffer {
    const header: QueryAdapterHeader = {
      format: QUERY_ADAPTER_FORMAT, version: QUERY_ADAPTER_VERSION, baseModel, dims: this.dims, rank: this.rank, weightsSha256: this.weightsSha256(),
      ...(training === undefined ? {} : { training }),
    };
    const weights = Buffer.alloc((this.a.length + this.b.length) * 4);
    this.a.forEach((x, i) => weights.writeFloatLE(x, i * 4));
    this.b.forEach((x, i) => weights.writeFloatLE(x, (this.a.length + i) * 4));
    return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), weights]);
  }

  /** Reads an adapter file's bytes (COLLECTION_CORRUPT when they are not one). */
  static parse(bytes: Buffer, where: string): { adapter: QueryAdapter; header: QueryAdapterHeader } {
    const corrupt = (why: string): BiencoderError => new BiencoderError('COLLECTION_CORRUPT', `${where} is not a usable query adapter: ${why}`, { details: { where } });
    const newline = bytes.indexOf(0x0a);
    if (newline < 0) throw corrupt('no header line');
    let header: QueryAdapterHeader;
    try {
      header = JSON.parse(bytes.subarray(0, newline).toString('utf8')) as QueryAdapterHeader;
    } catch {
      throw corrupt('the header is not JSON');
    }
    if (header?.format !== QUERY_ADAPTER_FORMAT) throw corrupt(`format ${JSON.stringify(header?.format)}`);
    if (header.version > QUERY_ADAPTER_VERSION) throw new BiencoderError('UNSUPPORTED_FORMAT', `${where} is a version ${header.version} query adapter; this biencoder reads version ${QUERY_ADAPTER_VERSION} (upgrade biencoder)`);
    const { dims, rank } = header;
    if (!Number.isInteger(dims) || !Number.isInteger(rank) || dims < 1 || rank < 1 || rank > dims) throw corrupt(`dims ${dims}, rank ${rank}`);
    const body = bytes.subarray(newline + 1);
    if (body.length !== 8 * dims * rank) throw corrupt(`${body.length} bytes of weights, expected ${8 * dims * rank}`);
    const a = new Float32Array(dims * rank);
    const b = new Float32Array(rank * dims);
    for (let i = 0; i < a.length; i++) a[i] = body.readFloatLE(i * 4);
    for (let i = 0; i < b.length; i++) b[i] = body.readFloatLE((a.length + i) * 4);
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw corrupt('a weight is not finite');
    for (let i = 0; i < b.length; i++) if (!Number.isFinite(b[i])) throw corrupt('a weight is not finite');
    const adapter = new QueryAdapter(dims, rank, a, b);
    if (adapter.weightsSha256() !== header.weightsSha256) throw corrupt('the weights do not match their checksum');
    return { adapter, header };
  }
}
