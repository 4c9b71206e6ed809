/** Bringing a vector index in line with the stored vectors: full builds and replays of changes. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BiencoderError } from '../errors.ts';
import type { IndexMetric, VectorIndex } from '../index/vector-index.ts';
import { loadIndex, type IndexSpec } from './index-backend.ts';
import type { Statements } from './store.ts';

/** Rows added to the index per add() call: large batches let the index parallelize. */
const CHUNK = 8192;

/** Adds (or replaces) stored rows in an index, in chunks. Returns the number of rows added. */
export function addRows(index: VectorIndex, rows: Iterable<{ key: number; vector: Buffer | null }>, dims: number): number {
  const keys = new BigUint64Array(CHUNK);
  const data = new Float32Array(CHUNK * dims);
  const bytes = new Uint8Array(data.buffer);
  let n = 0;
  let total = 0;
  const push = (): void => {
    if (n === 0) return;
    index.add(keys.subarray(0, n), { data: data.subarray(0, n * dims), rows: n, dims });
    total += n;
    n = 0;
  };
  for (const row of rows) {
    if (row.vector === null) throw new BiencoderError('COLLECTION_CORRUPT', `document key ${row.key} has no stored vector`);
    if (row.vector.byteLength !== dims * 4) {
      throw new BiencoderError('COLLECTION_CORRUPT', `the stored vector of key ${row.key} has ${row.vector.byteLength} bytes, expected ${dims * 4}`);
    }
    keys[n] = BigInt(row.key);
    bytes.set(row.vector, n * dims * 4);
    if (++n === CHUNK) push();
  }
  push();
  return total;
}

/** Adds every stored vector to an (empty) index. */
export function addAll(index: VectorIndex, st: Statements, dims: number): number {
  return addRows(index, st.allVectors.iterate(), dims);
}

/**
 * Applies the deletions and vector changes committed after `fromSeq`. Idempotent: every key changed
 * after fromSeq is set to its current state, so an index saved at any sequence >= fromSeq ends up
 * exactly current. Returns the number of changes applied.
 */
export function replayChanges(index: VectorIndex, st: Statements, fromSeq: number, dims: number): number {
  const removed = st.tombstonesSince.all(fromSeq);
  if (removed.length > 0) index.remove(BigUint64Array.from(removed, (r) => BigInt(r.key)));
  return removed.length + addRows(index, st.changedSince.iterate(fromSeq), dims);
}

/**
 * Index files are named by the write sequence they reflect: index-SEQ.bin. The sequence recorded
 * in the database (index_seq) names the current one; a file is written (temporary, fsync, rename)
 * before its sequence is recorded and older files are removed only after, so the recorded file
 * always exists, and a file's name always tells which writes it holds.
 */
export const INDEX_FILE_RE = /^index-(\d+)\.bin$/;

export function indexFileName(seq: number): string {
  return `index-${seq}.bin`;
}

/** The files of the index saved as `name`: the file itself and its companions (an HNSW index's `.f32`). */
export function indexFileGroup(dir: string, name: string): string[] {
  return readdirSync(dir).filter((f) => f === name || (f.startsWith(`${name}.`) && !/\.tmp/.test(f)));
}

/** Temporary files of interrupted index saves. */
export function isIndexTemporary(name: string): boolean {
  return /^index-\d+\.bin.*\.tmp/.test(name);
}

export function listIndexFiles(dir: string): { seq: number; name: string }[] {
  const out: { seq: number; name: string }[] = [];
  for (const name of readdirSync(dir)) {
    const m = INDEX_FILE_RE.exec(name);
    if (m) out.push({ seq: Number(m[1]), name });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

export type SavedIndex =
  | { readonly index: VectorIndex; readonly seq: number; readonly name: string }
  | { readonly index?: undefined; readonly missing: boolean; readonly reason: string };

/**
 * Loads the saved index for checkpoint `indexSeq`: index-{indexSeq}.bin, or else the oldest file
 * after it (a reader may see the writer replace the file; any state at or after the checkpoint
 * replays to the current one).
 */
export async function loadSavedIndex(dir: string, spec: IndexSpec, indexSeq: number, expect: { dims: number; metric: IndexMetric }): Promise<SavedIndex> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const file = listIndexFiles(dir).find((f) => f.seq >= indexSeq);
    if (file === undefined) return { missing: true, reason: `no index file for checkpoint ${indexSeq} (${indexFileName(indexSeq)}) exists` };
    const path = join(dir, file.name);
    let index: VectorIndex;
    try {
      index = await loadIndex(path, spec, { view: false });
    } catch (error) {
      if (!existsSync(path)) continue; // replaced by the writer meanwhile: look again
      return { missing: false, reason: `${file.name} could not be loaded (${(error as Error).message})` };
    }
    if (index.dims !== expect.dims || index.metric !== expect.metric) {
      return { missing: false, reason: `${file.name} holds ${index.dims}-d ${index.metric} vectors, the collection ${expect.dims}-d ${expect.metric}` };
    }
    return { index, seq: file.seq, name: file.name };
  }
  return { missing: false, reason: 'the index files kept changing while being loaded' };
}
