/**
 * A keyed store of f32 vectors: the data of FlatIndex, and the exact originals beside an HNSW index
 * (for rescoring quantized candidates and for exact fallbacks). Rows are contiguous (one growable
 * Float32Array), keys live in a parallel BigUint64Array, and a KeyTable maps key -> row. Removal swaps
 * the last row into the hole (O(1)); `onMove` lets an owner keep parallel arrays (binary codes) in step.
 *
 * For cosine the store holds unit-normalized copies (zero vectors stay zero and score 0 against anything).
 */
import { BiencoderError } from '../errors.ts';
import { KeyTable, splitKey } from './key-table.ts';
import {
  closeQuietly, openForRead, readFully, readStoreHeader, readStoreKeys, readStoreVectors, writeStoreFile, corrupt,
  type StoreHeader,
} from './store-file.ts';
import type { IndexMetric } from './vector-index.ts';

/** What exact search and rescoring read: keys, key -> row, and rows copied into caller buffers. */
export interface VectorSource {
  readonly dims: number;
  readonly metric: IndexMetric;
  readonly size: number;
  /** The key array (the first `size` entries are valid); do not keep it across writes. */
  readonly keys: BigUint64Array;
  /** The same keys as 32-bit halves (lo, hi per key). */
  readonly keyParts: Uint32Array;
  rowOf(key: bigint): number;
  rowOfParts(lo: number, hi: number): number;
  /** Copies rows [start, end) into dest (row-major, from dest row 0). */
  copyRange(start: number, end: number, dest: Float32Array): void;
  /** Copies rows[from..to) into dest (row-major, from dest row 0). */
  copyRows(rows: ArrayLike<number>, from: number, to: number, dest: Float32Array): void;
  /** Direct access to all rows when they are in memory (undefined for a file-backed store). */
  readonly data: Float32Array | undefined;
}

export class VectorStore implements VectorSource {
  readonly dims: number;
  readonly metric: IndexMetric;
  private _size = 0;
  private _data: Float32Array;
  private _keys: BigUint64Array;
  private _keyParts: Uint32Array;
  private table: KeyTable;
  /** Called as onMove(from, to) when removal moves the last row into a hole. */
  onMove: ((from: number, to: number) => void) | undefined;

  constructor(dims: number, metric: IndexMetric, capacity = 0) {
    this.dims = dims;
    this.metric = metric;
    const cap = Math.max(capacity, 16);
    this._data = new Float32Array(cap * dims);
    this._keys = new BigUint64Array(cap);
    this._keyParts = new Uint32Array(this._keys.buffer);
    this.table = new KeyTable(this._keyParts, capacity);
  }

  get size(): number {
    return this._size;
  }

  get data(): Float32Array {
    return this._data;
  }

  get keys(): BigUint64Array {
    return this._keys;
  }

  get keyParts(): Uint32Array {
    return this._keyParts;
  }

  get capacity(): number {
    return this._keys.length;
  }

  /** Bytes held: vectors + keys + the key table (allocated capacity, not only the used part). */
  get bytes(): number {
    return this._data.byteLength + this._keys.byteLength + this.table.bytes;
  }

  rowOf(key: bigint): number {
    return this.table.get(key);
  }

  rowOfParts(lo: number, hi: number): number {
    return this.table.getParts(lo, hi);
  }

  has(key: bigint): boolean {
    return this.table.get(key) >= 0;
  }

  keyAt(row: number): bigint {
    return this._keys[row];
  }

  row(r: number): Float32Array {
    return this._data.subarray(r * this.dims, (r + 1) * this.dims);
  }

  copyRange(start: number, end: number, dest: Float32Array): void {
    dest.set(this._data.subarray(start * this.dims, end * this.dims));
  }

  copyRows(rows: ArrayLike<number>, from: number, to: number, dest: Float32Array): void {
    const d = this.dims;
    const src = this._data;
    for (let i = from, o = 0; i < to; i++, o += d) {
      const r = rows[i] * d;
      for (let j = 0; j < d; j++) dest[o + j] = src[r + j];
    }
  }

  reserve(rows: number): void {
    if (rows <= this._keys.length) return;
    const cap = Math.max(rows, Math.ceil(this._keys.length * 1.5));
    const data = new Float32Array(cap * this.dims);
    data.set(this._data.subarray(0, this._size * this.dims));
    const keys = new BigUint64Array(cap);
    keys.set(this._keys.subarray(0, this._size));
    this._data = data;
    this._keys = keys;
    this._keyParts = new Uint32Array(keys.buffer);
    this.table.keyParts = this._keyParts;
  }

  /**
   * Puts rows (already prepared: normalized for cosine) under keys; a present key is overwritten in place.
   * Returns the row of each key. Keys must be distinct and valid (checked by the caller).
   */
  put(keys: BigUint64Array, rows: Float32Array): Int32Array {
    const d = this.dims;
    const out = new Int32Array(keys.length);
    let fresh = 0;
    for (let i = 0; i < keys.length; i++) if (this.table.get(keys[i]) < 0) fresh++;
    this.reserve(this._size + fresh);
    for (let i = 0; i < keys.length; i++) {
      let r = this.table.get(keys[i]);
      if (r < 0) {
        r = this._size++;
        this._keys[r] = keys[i];
        this.table.insert(r);
      }
      this._data.set(rows.subarray(i * d, (i + 1) * d), r * d);
      out[i] = r;
    }
    return out;
  }

  /** Removes a key (swap-with-last); returns whether it was present. */
  delete(key: bigint): boolean {
    const r = this.table.get(key);
    if (r < 0) return false;
    const last = this._size - 1;
    this.table.removeRow(r);
    if (r !== last) {
      const d = this.dims;
      this._data.copyWithin(r * d, last * d, (last + 1) * d);
      this._keys[r] = this._keys[last];
      this.table.update(r);
      this.onMove?.(last, r);
    }
    this._size = last;
    return true;
  }

  /** Writes the store file (see store-file.ts). */
  async save(path: string, meta: Record<string, unknown>): Promise<void> {
    await writeStoreFile(path, {
      dims: this.dims, metric: this.metric, normalized: this.metric === 'cosine', count: this._size,
      keys: this._keys, vectors: this._data, meta,
    });
  }

  /** Reads a store file fully into memory (checksums verified). */
  static load(path: string, expect?: { dims?: number; metric?: IndexMetric }): { store: VectorStore; meta: Record<string, unknown> } {
    const fd = openForRead(path);
    try {
      const h = readStoreHeader(fd, path);
      checkExpected(path, h, expect);
      const store = new VectorStore(h.dims, h.metric, 0);
      const keys = readStoreKeys(fd, path, h);
      const data = readStoreVectors(fd, path, h);
      store.adopt(keys, data, h.count, path);
      return { store, meta: h.meta };
    } finally {
      closeQuietly(fd);
    }
  }

  private adopt(keys: BigUint64Array, data: Float32Array, count: number, path: string): void {
    this._keys = keys;
    this._data = data;
    this._keyParts = new Uint32Array(keys.buffer);
    this._size = count;
    this.table = keyTableOf(keys, this._keyParts, count, path);
  }
}

/** A key table over the first `count` keys read from the file at path; a key that appears twice means a corrupt file. */
function keyTableOf(keys: BigUint64Array, keyParts: Uint32Array, count: number, path: string): KeyTable {
  const table = new KeyTable(keyParts, count);
  for (let r = 0; r < count; r++) {
    if (table.getParts(keyParts[2 * r], keyParts[2 * r + 1]) >= 0) throw corrupt(path, `key ${keys[r]} appears twice`);
    table.insert(r);
  }
  return table;
}

function checkExpected(path: string, h: StoreHeader, expect?: { dims?: number; metric?: IndexMetric }): void {
  if (expect?.dims !== undefined && h.dims !== expect.dims) {
    throw new BiencoderError('DIMENSION_MISMATCH', `${path} holds ${h.dims}-d vectors, expected ${expect.dims}`, {
      details: { path, expected: expect.dims, actual: h.dims },
    });
  }
  if (expect?.metric !== undefined && h.metric !== expect.metric) {
    throw new BiencoderError('INVALID_ARGUMENT', `${path} holds a ${h.metric} index, expected ${expect.metric}`, { details: { path } });
  }
  if ((h.metric === 'cosine') !== h.normalized) throw corrupt(path, 'the normalization flag does not match the metric');
}

/**
 * A read-only store whose keys are in memory and whose vectors stay in the file, read on demand with
 * positioned reads (what a memory-mapped HNSW index needs for rescoring and exact fallbacks, without
 * loading every f32 vector). The vectors' CRC is not checked (that would read them all); sizes,
 * header and the keys' CRC are.
 */
export class FileVectorStore implements VectorSource {
  readonly dims: number;
  readonly metric: IndexMetric;
  readonly size: number;
  readonly keys: BigUint64Array;
  readonly keyParts: Uint32Array;
  readonly data = undefined;
  readonly path: string;
  private fd: number;
  private readonly vectorsOffset: number;
  private readonly table: KeyTable;
  private readonly rowBytes: number;

  private constructor(path: string, fd: number, h: StoreHeader, keys: BigUint64Array) {
    this.path = path;
    this.fd = fd;
    this.dims = h.dims;
    this.metric = h.metric;
    this.size = h.count;
    this.keys = keys;
    this.keyParts = new Uint32Array(keys.buffer);
    this.vectorsOffset = h.vectorsOffset;
    this.rowBytes = h.dims * 4;
    this.table = keyTableOf(keys, this.keyParts, h.count, path);
  }

  static open(path: string, expect?: { dims?: number; metric?: IndexMetric }): { store: FileVectorStore; meta: Record<string, unknown> } {
    const fd = openForRead(path);
    try {
      const h = readStoreHeader(fd, path);
      checkExpected(path, h, expect);
      const keys = readStoreKeys(fd, path, h);
      return { store: new FileVectorStore(path, fd, h, keys), meta: h.meta };
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
  }

  /** Bytes held in memory (keys + key table); the vectors stay on disk. */
  get bytes(): number {
    return this.keys.byteLength + this.table.bytes;
  }

  rowOf(key: bigint): number {
    return this.table.get(key);
  }

  rowOfParts(lo: number, hi: number): number {
    return this.table.getParts(lo, hi);
  }

  has(key: bigint): boolean {
    return this.table.get(key) >= 0;
  }

  private buf(dest: Float32Array, row: number, rows: number): Uint8Array {
    return new Uint8Array(dest.buffer, dest.byteOffset + row * this.rowBytes, rows * this.rowBytes);
  }

  copyRange(start: number, end: number, dest: Float32Array): void {
    this.ensureOpen();
    readFully(this.fd, this.buf(dest, 0, end - start), this.vectorsOffset + start * this.rowBytes);
  }

  copyRows(rows: ArrayLike<number>, from: number, to: number, dest: Float32Array): void {
    this.ensureOpen();
    // Coalesce runs of consecutive rows into one read each.
    let i = from;
    while (i < to) {
      let j = i + 1;
      while (j < to && rows[j] === rows[j - 1] + 1) j++;
      readFully(this.fd, this.buf(dest, i - from, j - i), this.vectorsOffset + rows[i] * this.rowBytes);
      i = j;
    }
  }

  close(): void {
    if (this.fd >= 0) closeQuietly(this.fd);
    this.fd = -1;
  }

  private ensureOpen(): void {
    if (this.fd < 0) throw new BiencoderError('CLOSED', `the vector file ${this.path} was closed`);
  }
}

export { splitKey };
