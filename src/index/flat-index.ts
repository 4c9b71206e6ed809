/**
 * FlatIndex: exact search over every vector (the ground truth of the recall tests and of the benchmark).
 * Vectors live in a VectorStore (one contiguous growable Float32Array + key -> row table; removal swaps the
 * last row in); cosine stores normalized copies. Search is blocked and partial-selecting (exact-search.ts).
 * A filter is evaluated once per call over the keys, and only matching rows are scanned, so a search
 * returns k results whenever k keys match.
 */
import { BiencoderError } from '../errors.ts';
import type { Matrix } from '../matrix.ts';
import { exactSearch } from './exact-search.ts';
import { VectorStore } from './vector-store.ts';
import { checkDims, checkK, checkMatrix, checkMetric, prepareRows, toKeyArray } from './validate.ts';
import { checkFilter, filterRows } from './filter.ts';
import type { IndexMatches, IndexMetric, IndexSearchOptions, Key, Keys, VectorIndex, IndexMemoryUsage } from './vector-index.ts';

export interface FlatIndexOptions {
  readonly dims: number;
  readonly metric: IndexMetric;
  /** Threads for the exact kernel (0 = all cores). Default 1. */
  readonly threads?: number;
  /** Rows to allocate up front. */
  readonly capacity?: number;
}

export class FlatIndex implements VectorIndex {
  readonly kind = 'flat';
  readonly dims: number;
  readonly metric: IndexMetric;
  threads: number;
  private store: VectorStore;

  constructor(options: FlatIndexOptions) {
    if (options === null || typeof options !== 'object') throw new BiencoderError('INVALID_ARGUMENT', 'FlatIndex needs { dims, metric }');
    this.dims = checkDims(options.dims);
    this.metric = checkMetric(options.metric);
    this.threads = checkThreads(options.threads);
    this.store = new VectorStore(this.dims, this.metric, options.capacity ?? 0);
  }

  get size(): number {
    return this.store.size;
  }

  /** f32 vector + key + key-table slots, per vector held. */
  get bytesPerVector(): number {
    return this.dims * 4 + 8 + 4 / 0.7;
  }

  memoryUsage(): IndexMemoryUsage {
    return { bytes: this.store.bytes, bytesPerVector: this.size ? this.store.bytes / this.size : this.bytesPerVector, vectorBytes: this.dims * 4 };
  }

  add(keys: Keys, vectors: Matrix): void {
    checkMatrix(vectors, this.dims, 'vectors');
    const k = toKeyArray(keys, vectors.rows);
    if (k.length === 0) return;
    this.store.put(k, prepareRows(vectors, this.metric));
  }

  remove(keys: Keys): number {
    const k = toKeyArray(keys, undefined, 'keys', false);
    let removed = 0;
    for (let i = 0; i < k.length; i++) if (this.store.delete(k[i])) removed++;
    return removed;
  }

  has(key: Key): boolean {
    return typeof key === 'bigint' && this.store.has(key);
  }

  search(queries: Matrix, k: number, options: IndexSearchOptions = {}): IndexMatches[] {
    checkMatrix(queries, this.dims, 'queries');
    checkK(k);
    const nq = queries.rows;
    const prepared = prepareRows(queries, this.metric);
    const filter = checkFilter(options.filter);
    const rows = filter ? filterRows(this.store, filter) : undefined;
    const hits = exactSearch(this.store, prepared, nq, k, { rows, threads: this.threads });
    const keys = this.store.keys;
    return hits.map((h) => {
      const n = h.rows.length;
      const outKeys = new BigUint64Array(n);
      for (let i = 0; i < n; i++) outKeys[i] = keys[h.rows[i]];
      return { keys: outKeys, scores: Float32Array.from(h.scores), count: n };
    });
  }

  /** The vector stored under a key (a normalized copy for cosine), or undefined. */
  get(key: Key): Float32Array | undefined {
    const r = this.store.rowOf(key);
    return r < 0 ? undefined : this.store.row(r).slice();
  }

  async save(path: string): Promise<void> {
    await this.store.save(path, { kind: 'flat' });
  }

  /** Reads a file written by save(); INDEX_CORRUPT when it is truncated or damaged, NOT_FOUND when missing. */
  static load(path: string, expect: { dims?: number; metric?: IndexMetric; threads?: number } = {}): FlatIndex {
    const { store, meta } = VectorStore.load(path, expect);
    if (meta.kind !== 'flat') {
      throw new BiencoderError('INDEX_CORRUPT', `${path} is a vector file of kind ${JSON.stringify(meta.kind)}, not a flat index`);
    }
    const index = new FlatIndex({ dims: store.dims, metric: store.metric, threads: expect.threads });
    index.store = store;
    return index;
  }
}

export function checkThreads(threads: unknown): number {
  if (threads === undefined) return 1;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 0 || threads > 1024) {
    throw new BiencoderError('INVALID_ARGUMENT', `threads must be an integer in 0..1024 (0 = all cores), got ${String(threads)}`);
  }
  return threads;
}
