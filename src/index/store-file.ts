/**
 * The binary file of a vector store (a FlatIndex file, or the `<path>.f32` beside an HNSW index):
 *
 *   offset  size  field (little-endian)
 *   0       8     magic "BIENCVEC"
 *   8       4     u32 format version (1)
 *   12      4     u32 dims
 *   16      4     u32 metric: 0 cosine, 1 dot, 2 l2
 *   20      4     u32 flags: bit 0 = rows are unit-normalized copies (cosine)
 *   24      8     u64 count (rows)
 *   32      4     u32 meta length in bytes (UTF-8 JSON)
 *   36      4     u32 CRC-32 of the meta JSON and the keys
 *   40      4     u32 CRC-32 of the vectors
 *   44      20    reserved (zero)
 *   64      m     meta JSON, then zero padding to a multiple of 8
 *   ...     8n    keys (u64)
 *   ...     4nd   vectors (f32, row-major)
 *
 * The total size is implied by the header, so truncation is found before anything is read, and the
 * CRCs find damage. Files are written to a temporary name in the same folder, fsynced, and renamed.
 */
import { closeSync, openSync, readSync, fstatSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { BiencoderError } from '../errors.ts';
import type { IndexMetric } from './vector-index.ts';

export const STORE_MAGIC = 'BIENCVEC';
export const STORE_VERSION = 1;
export const HEADER_BYTES = 64;
const METRIC_CODES: readonly IndexMetric[] = ['cosine', 'dot', 'l2'];

export interface StoreHeader {
  dims: number;
  metric: IndexMetric;
  normalized: boolean;
  count: number;
  meta: Record<string, unknown>;
  metaBytes: number;
  keysOffset: number;
  vectorsOffset: number;
  totalBytes: number;
  crcKeys: number;
  crcVectors: number;
}

function pad8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * CRC-32 continuing from `init`. Node's zlib.crc32 returns 0, not `init`, for an empty view of an empty
 * ArrayBuffer (an empty index's keys), so empty input is handled here.
 */
function crc32(data: Uint8Array, init = 0): number {
  return data.length === 0 ? init : zlibCrc32(data, init);
}

function bytesOf(a: ArrayBufferView, length = a.byteLength): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, length);
}

export function encodeHeader(h: { dims: number; metric: IndexMetric; normalized: boolean; count: number; metaJson: Buffer; crcKeys: number; crcVectors: number }): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.write(STORE_MAGIC, 0, 'latin1');
  b.writeUInt32LE(STORE_VERSION, 8);
  b.writeUInt32LE(h.dims, 12);
  b.writeUInt32LE(METRIC_CODES.indexOf(h.metric), 16);
  b.writeUInt32LE(h.normalized ? 1 : 0, 20);
  b.writeBigUInt64LE(BigInt(h.count), 24);
  b.writeUInt32LE(h.metaJson.length, 32);
  b.writeUInt32LE(h.crcKeys >>> 0, 36);
  b.writeUInt32LE(h.crcVectors >>> 0, 40);
  return b;
}

/** Writes a store file atomically (temporary file + fsync + rename). */
export async function writeStoreFile(
  path: string,
  s: { dims: number; metric: IndexMetric; normalized: boolean; count: number; keys: BigUint64Array; vectors: Float32Array; meta: Record<string, unknown> },
): Promise<void> {
  const metaJson = Buffer.from(JSON.stringify(s.meta), 'utf8');
  const keyBytes = bytesOf(s.keys, s.count * 8);
  const vecBytes = bytesOf(s.vectors, s.count * s.dims * 4);
  const crcKeys = crc32(keyBytes, crc32(metaJson));
  const crcVectors = crc32(vecBytes);
  const header = encodeHeader({ dims: s.dims, metric: s.metric, normalized: s.normalized, count: s.count, metaJson, crcKeys, crcVectors });
  const padding = Buffer.alloc(pad8(metaJson.length) - metaJson.length);
  await writeAtomically(path, [header, metaJson, padding, keyBytes, vecBytes]);
}

export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export async function writeAtomically(path: string, parts: readonly Buffer[]): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'w');
    try {
      for (const part of parts) {
        // Write in slices: a single write of more than 2 GB is not portable.
        for (let o = 0; o < part.length; o += 1 << 30) {
          const slice = part.subarray(o, Math.min(part.length, o + (1 << 30)));
          let done = 0;
          while (done < slice.length) done += (await fh.write(slice, done, slice.length - done)).bytesWritten;
        }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function corrupt(path: string, why: string, cause?: unknown): BiencoderError {
  return new BiencoderError('INDEX_CORRUPT', `${path}: ${why}`, { cause, details: { path } });
}

/** Opens a file for reading; NOT_FOUND when it does not exist. */
export function openForRead(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BiencoderError('NOT_FOUND', `index file ${path} does not exist`, { cause: e, details: { path } });
    }
    throw e;
  }
}

export function readFully(fd: number, target: Uint8Array, position: number): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, Math.min(target.length - done, 1 << 30), position + done);
    if (n === 0) throw new Error('unexpected end of file');
    done += n;
  }
}

/** Reads and checks the header and meta of an open store file (sizes, magic, version, meta CRC is checked with the keys). */
export function readStoreHeader(fd: number, path: string): StoreHeader {
  const size = fstatSync(fd).size;
  if (size < HEADER_BYTES) throw corrupt(path, `the file has ${size} bytes, less than a ${HEADER_BYTES}-byte header (truncated?)`);
  const b = Buffer.alloc(HEADER_BYTES);
  readFully(fd, b, 0);
  if (b.toString('latin1', 0, 8) !== STORE_MAGIC) throw corrupt(path, 'not a biencoder vector file (bad magic)');
  const version = b.readUInt32LE(8);
  if (version !== STORE_VERSION) throw corrupt(path, `unsupported vector file version ${version} (this build reads ${STORE_VERSION})`);
  const dims = b.readUInt32LE(12);
  const metricCode = b.readUInt32LE(16);
  const flags = b.readUInt32LE(20);
  const count64 = b.readBigUInt64LE(24);
  const metaBytes = b.readUInt32LE(32);
  if (dims === 0 || metricCode >= METRIC_CODES.length || count64 > BigInt(Number.MAX_SAFE_INTEGER) || metaBytes > 1 << 24) {
    throw corrupt(path, 'the header holds impossible values');
  }
  const count = Number(count64);
  const keysOffset = HEADER_BYTES + pad8(metaBytes);
  const vectorsOffset = keysOffset + count * 8;
  const totalBytes = vectorsOffset + count * dims * 4;
  if (size !== totalBytes) {
    throw corrupt(path, `the file has ${size} bytes but its header (${count} rows of ${dims} dims) implies ${totalBytes}${size < totalBytes ? ' (truncated)' : ''}`);
  }
  const metaBuf = Buffer.alloc(metaBytes);
  readFully(fd, metaBuf, HEADER_BYTES);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(metaBuf.toString('utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw corrupt(path, 'the metadata is not valid JSON', cause);
  }
  return {
    dims, metric: METRIC_CODES[metricCode], normalized: (flags & 1) === 1, count, meta, metaBytes,
    keysOffset, vectorsOffset, totalBytes, crcKeys: b.readUInt32LE(36), crcVectors: b.readUInt32LE(40),
  };
}

/** Reads the keys (checking the meta+keys CRC) into a new array of at least `capacity` entries. */
export function readStoreKeys(fd: number, path: string, h: StoreHeader, capacity = h.count): BigUint64Array {
  const keys = new BigUint64Array(Math.max(capacity, h.count));
  readFully(fd, bytesOf(keys, h.count * 8), h.keysOffset);
  const metaBuf = Buffer.alloc(h.metaBytes);
  readFully(fd, metaBuf, HEADER_BYTES);
  if (crc32(bytesOf(keys, h.count * 8), crc32(metaBuf)) >>> 0 !== h.crcKeys) throw corrupt(path, 'the keys fail their checksum');
  return keys;
}

/** Reads the vectors (checking their CRC) into a new array of at least `capacityRows` rows. */
export function readStoreVectors(fd: number, path: string, h: StoreHeader, capacityRows = h.count): Float32Array {
  const vectors = new Float32Array(Math.max(capacityRows, h.count) * h.dims);
  const bytes = bytesOf(vectors, h.count * h.dims * 4);
  readFully(fd, bytes, h.vectorsOffset);
  if (crc32(bytes) >>> 0 !== h.crcVectors) throw corrupt(path, 'the vectors fail their checksum');
  return vectors;
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
