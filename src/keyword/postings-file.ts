/**
 * The keyword index on disk: one file beside the vector index file of the same checkpoint
 * (index-SEQ.bin.postings), holding the compacted base (no tail, no deleted documents).
 *
 *   "BKWPOST1" (8 bytes) | header length (u32 LE) | header JSON, padded to 8 bytes
 *   sections, each padded to 8 bytes: ordKey f64[docs] | ordLength u32[docs] | offsets f64[terms+1]
 *                                     | docs u32[postings] | tfs u16[postings] | terms (UTF-8, NUL-separated)
 *   CRC-32 of everything before it (u32 LE)
 *
 * The header names the analyzer (language, name, version) and the BM25 parameters: a file made
 * with another analyzer is not loaded (the index is rebuilt from the texts instead). Written to a
 * temporary file, fsynced and renamed, like the vector index.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { sameAnalyzerSpec } from '../analysis/analyzer.ts';
import { BiencoderError } from '../errors.ts';
import { InvertedIndex, type BaseSegment, type TermAnalyzer } from './inverted-index.ts';

const MAGIC = 'BKWPOST1';
const FORMAT = 1;

interface Header {
  readonly format: number;
  readonly analyzer: TermAnalyzer['spec'];
  readonly bm25: { readonly k1: number; readonly b: number };
  readonly docs: number;
  readonly terms: number;
  readonly postings: number;
  readonly termBytes: number;
}

const pad8 = (n: number): number => (n + 7) & ~7;

/** Writes the index (compacted first) to `path` atomically and durably. */
export function savePostings(index: InvertedIndex, path: string): void {
  index.compact();
  const base = index.base();
  const termBytes = Buffer.from(base.terms.join('\0'), 'utf8');
  const header: Header = {
    format: FORMAT,
    analyzer: { language: index.analyzer.spec.language, name: index.analyzer.spec.name, version: index.analyzer.spec.version },
    bm25: { k1: index.params.k1, b: index.params.b },
    docs: base.ordKey.length,
    terms: base.terms.length,
    postings: base.docs.length,
    termBytes: termBytes.length,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    let crc = 0;
    let written = 0;
    const put = (bytes: Uint8Array): void => {
      // (zlib's crc32 of a view on an empty ArrayBuffer is 0, not the running value: skip empty sections)
      if (bytes.length === 0) return;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      crc = crc32(bytes, crc);
      written += bytes.length;
    };
    const align = (): void => {
      const gap = pad8(written) - written;
      if (gap > 0) put(new Uint8Array(gap));
    };
    const view = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const lengthBytes = Buffer.alloc(4);
    lengthBytes.writeUInt32LE(headerBytes.length);
    put(Buffer.from(MAGIC, 'latin1'));
    put(lengthBytes);
    put(headerBytes);
    align();
    for (const section of [base.ordKey, base.ordLength, base.offsets, base.docs, base.tfs, termBytes]) {
      put(view(section));
      align();
    }
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(crc >>> 0);
    let off = 0;
    while (off < 4) off += writeSync(fd, tail, off, 4 - off);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export type LoadedPostings =
  | { readonly index: InvertedIndex }
  | { readonly index?: undefined; readonly reason: string };

/**
 * Loads a postings file made with `analyzer` (the same spec) and `bm25` parameters. A missing file,
 * another analyzer or a damaged file gives a reason instead of an index (the caller rebuilds).
 */
export function loadPostings(path: string, analyzer: TermAnalyzer, bm25: { readonly k1: number; readonly b: number }): LoadedPostings {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (error) {
    return { reason: `${path} could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  try {
    const buf = file.byteOffset % 8 === 0 ? file : Buffer.from(file);
    if (buf.length < 16 || buf.toString('latin1', 0, 8) !== MAGIC) return { reason: `${path} is not a keyword index file` };
    const stored = buf.readUInt32LE(buf.length - 4);
    if ((crc32(buf.subarray(0, buf.length - 4)) >>> 0) !== stored) return { reason: `${path} is damaged (checksum mismatch)` };
    const headerLength = buf.readUInt32LE(8);
    const header = JSON.parse(buf.toString('utf8', 12, 12 + headerLength)) as Header;
    if (header.format !== FORMAT) return { reason: `${path} has keyword index format ${header.format}, expected ${FORMAT}` };
    const a = header.analyzer;
    const want = analyzer.spec;
    if (!sameAnalyzerSpec(a, want)) {
      return { reason: `${path} was made with analyzer ${a.name}@${a.version} (${a.language}), the collection uses ${want.name}@${want.version} (${want.language})` };
    }
    if (header.bm25.k1 !== bm25.k1 || header.bm25.b !== bm25.b) return { reason: `${path} was made with other BM25 parameters` };
    let at = pad8(12 + headerLength);
    const take = <T>(Ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }, n: number): T => {
      const out = new Ctor(buf.buffer as ArrayBuffer, buf.byteOffset + at, n);
      at = pad8(at + n * Ctor.BYTES_PER_ELEMENT);
      if (at > buf.length - 4) throw new Error('truncated');
      return out;
    };
    const ordKey = take(Float64Array, header.docs);
    const ordLength = take(Uint32Array, header.docs);
    const offsets = take(Float64Array, header.terms + 1);
    const docs = take(Uint32Array, header.postings);
    const tfs = take(Uint16Array, header.postings);
    const termText = buf.toString('utf8', at, at + header.termBytes);
    const terms = header.terms === 0 ? [] : termText.split('\0');
    if (terms.length !== header.terms || offsets[header.terms] !== header.postings) return { reason: `${path} is damaged (section sizes disagree)` };
    const base: BaseSegment = { terms, offsets, docs, tfs, ordKey, ordLength };
    return { index: InvertedIndex.fromBase(analyzer, base, bm25) };
  } catch (error) {
    if (error instanceof BiencoderError) return { reason: `${path} is damaged (${error.message})` };
    return { reason: `${path} is damaged (${(error as Error).message})` };
  }
}
