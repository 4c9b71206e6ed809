/**
 * Writes documents into a collection as chunks, batch by batch:
 * - each document is chunked in the encoder's tokens (Chunker.chunkStream: lazily, so a long
 *   document is never held as all its chunks, nor all its vectors); a document that fits in one
 *   chunk is stored under its own id, a longer one as chunks `id#0`, `id#1`, ... with
 *   metadata._chunk = { parent, index, start, end } (see group-by-document.ts);
 * - rows whose text and metadata are already stored so are not written again (and never re-embedded);
 * - when a document now has fewer chunks (or switches between one and several), its stale rows are
 *   deleted, so its stored chunks are always `#0..#n-1` (or its own id);
 * - a batch is at most batchSize documents, and is committed early once it holds batchRows rows;
 *   each is one atomic upsert (then the deletion of its stale rows), acknowledged (onBatch) only once
 *   committed. `stop` ends the run before the next batch; `signal` also abandons the batch in flight
 *   (nothing of it is written).
 *
 * A document of more than batchRows chunks is written over several batches, its chunks in order, its
 * stale rows deleted after its last chunk. This is what keeps memory and the time between
 * acknowledgements bounded for a large file; it is safe because nothing skips a document as a whole:
 * every run compares each of a document's rows with what is stored (id, text, metadata). After a
 * crash or a Ctrl-C inside a document, its stored rows are `#0..#k` of the new version followed by
 * what it had before (rows of the old version, stale ones included): still contiguous, so the stale
 * probe of a later run finds them all. The rerun finds `#0..#k` unchanged (not re-embedded), writes
 * the rest and deletes what is stale; until then a search may see that document half old, half new,
 * as it may while the document is being written.
 */
import { chunkId, createChunker, type Chunk, type ChunkOptions, type Chunker } from '../chunking/chunker.ts';
import { CHUNK_METADATA_KEY, type ChunkMetadata } from '../chunking/group-by-document.ts';
import type { DocumentInput, StoredDocument } from '../collection/collection.ts';
import type { CollectionApi } from '../collection/collection-api.ts';
import type { JsonValue } from '../collection/filter.ts';
import { BiencoderError, isBiencoderError } from '../errors.ts';
import { invalidInput, type SourceDocument } from './source-document.ts';

export interface IndexDocumentsOptions {
  /** Max tokens per chunk (default: the encoder's maxTokens). */
  readonly chunkTokens?: number;
  /** Tokens shared by consecutive chunks (default 0). */
  readonly chunkOverlap?: number;
  /** Documents per atomic write (default 32). */
  readonly batchSize?: number;
  /**
   * Rows (chunks) per atomic write (default 256): a batch is committed once it holds this many, and a
   * document with more is written over several batches of this many of its rows (so a write holds
   * fewer than twice this many rows, and their vectors, whatever the documents' sizes).
   */
  readonly batchRows?: number;
  /** When aborted, the run ends before the next batch (the batch in flight is completed). */
  readonly stop?: AbortSignal;
  /** When aborted, the batch in flight is abandoned too (nothing of it is written). */
  readonly signal?: AbortSignal;
  /** Called after every committed batch. */
  readonly onBatch?: (progress: IndexProgress) => void;
}

/** What happened to documents and chunks (rows) so far. */
export interface IndexCounts {
  /** Documents acknowledged (written, or found already stored). */
  readonly documents: number;
  /** Documents not stored before. */
  readonly inserted: number;
  /** Documents whose text or metadata changed. */
  readonly updated: number;
  /** Documents stored exactly so already. */
  readonly unchanged: number;
  /** Blank documents (nothing to index; what they had stored before is deleted). */
  readonly empty: number;
  /** Rows (chunks or whole documents) inserted or rewritten. */
  readonly rowsWritten: number;
  /** Rows already stored exactly so. */
  readonly rowsUnchanged: number;
  /** Stale rows deleted (chunks of a document that shrank). */
  readonly rowsDeleted: number;
  /** Texts embedded. */
  readonly embedded: number;
}

/** A document the committed batch ended inside (one of more than batchRows chunks). */
export interface PartialDocument {
  readonly id: string;
  /** Where it was read ("file" or "file:line"). */
  readonly origin: string;
  /** Its rows committed so far (chunks #0 .. #rows-1). */
  readonly rows: number;
  /** The share of its text those rows cover, from 0 to 1 (where the last of them ends). */
  readonly fraction: number;
}

export interface IndexProgress extends IndexCounts {
  /** Documents completed by the batch just committed. */
  readonly batchDocuments: number;
  /** Set when the batch ended inside a document, which the next batches continue. */
  readonly partial?: PartialDocument;
}

export interface IndexSummary extends IndexCounts {
  /** True when stop or signal ended the run early; the counts are what was committed. */
  readonly interrupted: boolean;
  readonly seconds: number;
}

/** A document being written, maybe over several batches: what its committed rows found. */
interface DocumentWrite {
  readonly doc: SourceDocument;
  /** Rows made so far (all of them once its last part is made). */
  rows: number;
  /** Rows committed. */
  committed: number;
  /** Committed rows that were written (new or changed). */
  changed: number;
  /** Committed rows that were stored before (changed or not). */
  stored: number;
}

/** Some consecutive rows of one document, for one batch. */
interface Part {
  readonly write: DocumentWrite;
  readonly rows: DocumentInput[];
  /** The document's last rows: its stale rows are deleted with them, and it is then acknowledged. */
  readonly last: boolean;
  /** Where in the document's text its rows so far end. */
  readonly end: number;
}

type MutableCounts = { -readonly [K in keyof IndexCounts]: IndexCounts[K] };

function positiveInteger(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new BiencoderError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** The row of one chunk of a document stored as several. */
function chunkRow(doc: SourceDocument, c: Chunk): DocumentInput {
  const position: ChunkMetadata = { parent: doc.id, index: c.index, start: c.start, end: c.end };
  return { id: chunkId(doc.id, c.index), text: c.text, metadata: { ...doc.metadata, [CHUNK_METADATA_KEY]: position as unknown as JsonValue } };
}

/**
 * A document's rows in parts of at most maxRows, as its chunks are made. Whether its first chunk is
 * stored under the document's own id is known at its second chunk (or at its end).
 */
function* documentParts(write: DocumentWrite, chunker: Chunker, maxRows: number): Generator<Part, void, undefined> {
  const { doc } = write;
  const chunks = chunker.chunkStream({ id: doc.id, text: doc.text });
  const first = chunks.next();
  const second = first.done === true ? first : chunks.next();
  if (first.done === true || second.done === true) {
    // A document of one chunk is stored under its own id; one of none stores nothing.
    const rows: DocumentInput[] = first.done === true ? [] : [{ id: doc.id, text: first.value.text, metadata: doc.metadata }];
    write.rows = rows.length;
    yield { write, rows, last: true, end: doc.text.length };
    return;
  }
  let buffer: Chunk[] = [first.value, second.value];
  for (const c of chunks) {
    if (buffer.length >= maxRows) {
      write.rows += buffer.length;
      yield { write, rows: buffer.map((b) => chunkRow(doc, b)), last: false, end: buffer[buffer.length - 1].end };
      buffer = [];
    }
    buffer.push(c);
  }
  write.rows += buffer.length;
  yield { write, rows: buffer.map((b) => chunkRow(doc, b)), last: true, end: doc.text.length };
}

/** How many ids past a document's last row are probed at once, at most (the probe doubles up to this). */
const MAX_STALE_PROBE = 1024;

/**
 * Rows of these documents stored earlier but not part of their new rows: the own id of a document
 * now chunked (or empty), and its chunks from the first unused index on. A document's stored chunks
 * are contiguous from #0 (see the header), so the probe stops at the first id not found; it asks
 * for 1, 2, 4, ... ids at a time, so a document that lost many chunks takes few round trips.
 */
async function staleRows(collection: CollectionApi, docs: readonly { id: string; rows: number }[]): Promise<Map<string, string[]>> {
  const stale = new Map<string, string[]>();
  let probe: { parent: string; ids: string[]; next: number; width: number }[] = [];
  const own: string[] = [];
  for (const { id, rows } of docs) {
    stale.set(id, []);
    if (rows !== 1) own.push(id);
    const next = rows > 1 ? rows : 0;
    probe.push({ parent: id, ids: [chunkId(id, next)], next: next + 1, width: 1 });
  }
  if (own.length > 0) {
    const found = await collection.get(own);
    own.forEach((id, i) => {
      if (found[i] !== undefined) stale.get(id)!.push(id);
    });
  }
  while (probe.length > 0) {
    const found = await collection.get(probe.flatMap((p) => p.ids));
    const again: typeof probe = [];
    let offset = 0;
    for (const p of probe) {
      const got = found.slice(offset, offset + p.ids.length);
      offset += p.ids.length;
      const present = got.findIndex((d) => d === undefined);
      const n = present < 0 ? got.length : present;
      stale.get(p.parent)!.push(...p.ids.slice(0, n));
      if (n < p.ids.length) continue;
      const width = Math.min(MAX_STALE_PROBE, p.width * 2);
      again.push({ parent: p.parent, ids: Array.from({ length: width }, (_, j) => chunkId(p.parent, p.next + j)), next: p.next + width, width });
    }
    probe = again;
  }
  return stale;
}

/** JSON with object keys sorted: stores may give metadata back with its keys reordered (PostgreSQL jsonb does). */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : v,
  );
}

function sameRow(stored: StoredDocument | undefined, row: DocumentInput): boolean {
  return stored !== undefined && stored.text === row.text && canonicalJson(stored.metadata) === canonicalJson(row.metadata ?? {});
}

/** Re-throws a collection error about docs[i] naming the input the row came from. */
function withOrigin(error: unknown, rows: readonly DocumentInput[], origins: readonly string[]): unknown {
  if (!(error instanceof BiencoderError) || error.code === 'ABORTED') return error;
  let index = typeof error.details?.index === 'number' ? error.details.index : undefined;
  const m = /docs\[(\d+)\]/.exec(error.message);
  if (index === undefined && m) index = Number(m[1]);
  if (index === undefined || index >= rows.length) return error;
  return new BiencoderError(error.code, `${origins[index]} (document ${JSON.stringify(rows[index].id)}): ${error.message}`, { cause: error, details: { ...error.details, origin: origins[index] } });
}

/** Writes one batch (at most one part of each document), then records what it did. */
async function writeBatch(collection: CollectionApi, parts: readonly Part[], counts: MutableCounts, signal: AbortSignal | undefined): Promise<void> {
  const allRows = parts.flatMap((p) => p.rows);
  const stored = new Map<string, StoredDocument>();
  const got = allRows.length > 0 ? await collection.get(allRows.map((r) => r.id)) : [];
  got.forEach((s, i) => {
    if (s !== undefined) stored.set(allRows[i].id, s);
  });
  const ending = parts.filter((p) => p.last);
  const stale = await staleRows(collection, ending.map((p) => ({ id: p.write.doc.id, rows: p.write.rows })));

  const toWrite: DocumentInput[] = [];
  const origins: string[] = [];
  const changedOf = parts.map((p) => {
    const changed = p.rows.filter((r) => !sameRow(stored.get(r.id), r));
    for (const r of changed) {
      toWrite.push(r);
      origins.push(p.write.doc.origin);
    }
    return changed.length;
  });
  const staleIds = ending.flatMap((p) => stale.get(p.write.doc.id)!);
  let embedded = 0;
  if (toWrite.length > 0) {
    try {
      embedded = (await collection.upsert(toWrite, { signal, chunkRows: true })).embedded; // its own chunk rows (chunkRow)
    } catch (error) {
      throw withOrigin(error, toWrite, origins);
    }
  }
  const deleted = staleIds.length > 0 ? await collection.delete(staleIds) : 0;

  parts.forEach((p, i) => {
    const w = p.write;
    w.committed += p.rows.length;
    w.changed += changedOf[i];
    w.stored += p.rows.filter((r) => stored.has(r.id)).length;
    counts.rowsUnchanged += p.rows.length - changedOf[i];
    if (!p.last) return;
    const gone = stale.get(w.doc.id)!.length;
    counts.documents++;
    if (w.rows === 0) counts.empty++;
    else if (w.changed === 0 && gone === 0) counts.unchanged++;
    else if (gone === 0 && w.stored === 0) counts.inserted++;
    else counts.updated++;
  });
  counts.rowsWritten += toWrite.length;
  counts.rowsDeleted += deleted;
  counts.embedded += embedded;
}

/**
 * Indexes documents into a collection opened for writing with an encoder. Returns the counts of
 * what was committed; on an error, the batches committed before it stay.
 */
export async function indexDocuments(collection: CollectionApi, documents: AsyncIterable<SourceDocument> | Iterable<SourceDocument>, options: IndexDocumentsOptions = {}): Promise<IndexSummary> {
  const started = performance.now();
  if (collection.encoder === undefined) {
    throw new BiencoderError('ENCODER_REQUIRED', 'indexing texts needs the collection opened with its encoder');
  }
  const batchSize = positiveInteger(options.batchSize, 'batchSize', 32);
  const batchRows = positiveInteger(options.batchRows, 'batchRows', 256);
  const chunkOptions: ChunkOptions = {
    ...(options.chunkTokens !== undefined ? { maxTokens: positiveInteger(options.chunkTokens, 'chunkTokens', 0) } : {}),
    ...(options.chunkOverlap !== undefined ? { overlapTokens: options.chunkOverlap } : {}),
  };
  // Validates the chunk options before anything is read or written.
  const chunker = createChunker(collection.encoder, chunkOptions);
  const counts: MutableCounts = { documents: 0, inserted: 0, updated: 0, unchanged: 0, empty: 0, rowsWritten: 0, rowsUnchanged: 0, rowsDeleted: 0, embedded: 0 };
  const seen = new Map<string, string>();
  let interrupted = false;
  let batch: Part[] = [];
  let batchRowCount = 0;
  let batchDocuments = 0;
  const stopped = (): boolean => options.stop?.aborted === true || options.signal?.aborted === true;
  const flush = async (): Promise<void> => {
    const parts = batch;
    const completed = batchDocuments;
    batch = [];
    batchRowCount = 0;
    batchDocuments = 0;
    if (parts.length === 0) return;
    try {
      await writeBatch(collection, parts, counts, options.signal);
    } catch (error) {
      if (isBiencoderError(error, 'ABORTED')) {
        interrupted = true;
        return;
      }
      throw error;
    }
    const tail = parts[parts.length - 1];
    const partial: PartialDocument | undefined = tail.last
      ? undefined
      : { id: tail.write.doc.id, origin: tail.write.doc.origin, rows: tail.write.committed, fraction: tail.write.doc.text.length > 0 ? tail.end / tail.write.doc.text.length : 1 };
    options.onBatch?.({ ...counts, batchDocuments: completed, ...(partial ? { partial } : {}) });
  };
  documents: for await (const doc of documents) {
    if (stopped()) {
      interrupted = true;
      break;
    }
    const first = seen.get(doc.id);
    if (first !== undefined) throw invalidInput(doc.origin, `duplicate document id ${JSON.stringify(doc.id)} (also at ${first})`);
    seen.set(doc.id, doc.origin);
    const write: DocumentWrite = { doc, rows: 0, committed: 0, changed: 0, stored: 0 };
    for (const part of documentParts(write, chunker, batchRows)) {
      batch.push(part);
      batchRowCount += part.rows.length;
      if (part.last) batchDocuments++;
      if (batchDocuments < batchSize && batchRowCount < batchRows) continue;
      await flush();
      if (interrupted) break documents;
      // Inside a long document: stop between its parts too (what is committed is kept; see the header).
      if (!part.last && stopped()) {
        interrupted = true;
        break documents;
      }
    }
  }
  if (!interrupted) {
    if (stopped()) interrupted = true;
    else await flush();
  }
  return { ...counts, interrupted, seconds: (performance.now() - started) / 1000 };
}
