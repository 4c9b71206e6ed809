/**
 * Writes documents into a collection as chunks, batch by batch:
 * - each document is chunked in the encoder's tokens (chunkDocuments); a document that fits in one
 *   chunk is stored under its own id, a longer one as chunks `id#0`, `id#1`, ... with
 *   metadata._chunk = { parent, index, start, end } (see group-by-document.ts);
 * - rows whose text and metadata are already stored so are not written again (and never re-embedded);
 * - when a document now has fewer chunks (or switches between one and several), its stale rows are
 *   deleted, so its stored chunks are always `#0..#n-1` (or its own id);
 * - each batch is one atomic upsert (then the deletion of its stale rows): a batch is acknowledged
 *   (onBatch) only once it is committed. `stop` ends the run before the next batch; `signal` also
 *   abandons the batch in flight (nothing of it is written).
 */
import { chunkDocuments, chunkId, type Chunk, type ChunkOptions } from '../chunking/chunker.ts';
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

export interface IndexProgress extends IndexCounts {
  /** Documents in the batch just committed. */
  readonly batchDocuments: number;
}

export interface IndexSummary extends IndexCounts {
  /** True when stop or signal ended the run early; the counts are what was committed. */
  readonly interrupted: boolean;
  readonly seconds: number;
}

interface Plan {
  readonly doc: SourceDocument;
  readonly rows: DocumentInput[];
}

type MutableCounts = { -readonly [K in keyof IndexCounts]: IndexCounts[K] };

function positiveInteger(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new BiencoderError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** The rows that store one document: its own id when it is one chunk, else one row per chunk. */
export function documentRows(doc: SourceDocument, chunks: readonly Chunk[]): DocumentInput[] {
  if (chunks.length === 0) return [];
  if (chunks.length === 1) return [{ id: doc.id, text: chunks[0].text, metadata: doc.metadata }];
  return chunks.map((c) => {
    const position: ChunkMetadata = { parent: doc.id, index: c.index, start: c.start, end: c.end };
    return { id: chunkId(doc.id, c.index), text: c.text, metadata: { ...doc.metadata, [CHUNK_METADATA_KEY]: position as unknown as JsonValue } };
  });
}

/** Rows of these documents stored earlier but not part of their new rows. */
async function staleRows(collection: CollectionApi, plans: readonly Plan[]): Promise<Map<string, string[]>> {
  const stale = new Map<string, string[]>();
  // Each document's probe: its own id when it is now chunked (or empty), and chunk ids from the first unused one.
  const next = new Map<string, number>();
  const first: string[] = [];
  for (const { doc, rows } of plans) {
    stale.set(doc.id, []);
    if (rows.length !== 1) first.push(doc.id);
    next.set(doc.id, rows.length > 1 ? rows.length : 0);
  }
  let probe: { parent: string; id: string }[] = [
    ...first.map((id) => ({ parent: id, id })),
    ...[...next].map(([parent, n]) => ({ parent, id: chunkId(parent, n) })),
  ];
  while (probe.length > 0) {
    const found = await collection.get(probe.map((p) => p.id));
    const again: { parent: string; id: string }[] = [];
    probe.forEach((p, i) => {
      if (found[i] === undefined) return;
      stale.get(p.parent)!.push(p.id);
      if (p.id === p.parent) return;
      const n = next.get(p.parent)! + 1;
      next.set(p.parent, n);
      again.push({ parent: p.parent, id: chunkId(p.parent, n) });
    });
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

async function writeBatch(collection: CollectionApi, docs: readonly SourceDocument[], chunkOptions: ChunkOptions, counts: MutableCounts, signal: AbortSignal | undefined): Promise<void> {
  const encoder = collection.encoder!;
  const chunks = chunkDocuments(docs.map((d) => ({ id: d.id, text: d.text })), encoder, chunkOptions);
  const byParent = new Map<string, Chunk[]>();
  for (const c of chunks) {
    let list = byParent.get(c.parentId);
    if (list === undefined) byParent.set(c.parentId, (list = []));
    list.push(c);
  }
  const plans: Plan[] = docs.map((doc) => ({ doc, rows: documentRows(doc, byParent.get(doc.id) ?? []) }));
  const allRows = plans.flatMap((p) => p.rows);
  const stored = new Map<string, StoredDocument>();
  const got = allRows.length > 0 ? await collection.get(allRows.map((r) => r.id)) : [];
  got.forEach((s, i) => {
    if (s !== undefined) stored.set(allRows[i].id, s);
  });
  const stale = await staleRows(collection, plans);

  const toWrite: DocumentInput[] = [];
  const origins: string[] = [];
  const batch = { inserted: 0, updated: 0, unchanged: 0, empty: 0, rowsUnchanged: 0 };
  const staleIds: string[] = [];
  for (const { doc, rows } of plans) {
    const gone = stale.get(doc.id)!;
    staleIds.push(...gone);
    const changed = rows.filter((r) => !sameRow(stored.get(r.id), r));
    batch.rowsUnchanged += rows.length - changed.length;
    for (const r of changed) {
      toWrite.push(r);
      origins.push(doc.origin);
    }
    if (rows.length === 0) batch.empty++;
    else if (changed.length === 0 && gone.length === 0) batch.unchanged++;
    else if (gone.length === 0 && rows.every((r) => !stored.has(r.id))) batch.inserted++;
    else batch.updated++;
  }
  let embedded = 0;
  if (toWrite.length > 0) {
    try {
      embedded = (await collection.upsert(toWrite, { signal })).embedded;
    } catch (error) {
      throw withOrigin(error, toWrite, origins);
    }
  }
  const deleted = staleIds.length > 0 ? await collection.delete(staleIds) : 0;
  counts.documents += docs.length;
  counts.inserted += batch.inserted;
  counts.updated += batch.updated;
  counts.unchanged += batch.unchanged;
  counts.empty += batch.empty;
  counts.rowsWritten += toWrite.length;
  counts.rowsUnchanged += batch.rowsUnchanged;
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
  const chunkOptions: ChunkOptions = {
    ...(options.chunkTokens !== undefined ? { maxTokens: positiveInteger(options.chunkTokens, 'chunkTokens', 0) } : {}),
    ...(options.chunkOverlap !== undefined ? { overlapTokens: options.chunkOverlap } : {}),
  };
  // Validates the chunk options before anything is read or written.
  chunkDocuments([{ id: 'probe', text: 'probe' }], collection.encoder, chunkOptions);
  const counts: MutableCounts = { documents: 0, inserted: 0, updated: 0, unchanged: 0, empty: 0, rowsWritten: 0, rowsUnchanged: 0, rowsDeleted: 0, embedded: 0 };
  const seen = new Map<string, string>();
  let interrupted = false;
  let pending: SourceDocument[] = [];
  const stopped = (): boolean => options.stop?.aborted === true || options.signal?.aborted === true;
  const flush = async (): Promise<void> => {
    const docs = pending;
    pending = [];
    if (docs.length === 0) return;
    try {
      await writeBatch(collection, docs, chunkOptions, counts, options.signal);
    } catch (error) {
      if (isBiencoderError(error, 'ABORTED')) {
        interrupted = true;
        return;
      }
      throw error;
    }
    options.onBatch?.({ ...counts, batchDocuments: docs.length });
  };
  for await (const doc of documents) {
    if (stopped()) {
      interrupted = true;
      break;
    }
    const first = seen.get(doc.id);
    if (first !== undefined) throw invalidInput(doc.origin, `duplicate document id ${JSON.stringify(doc.id)} (also at ${first})`);
    seen.set(doc.id, doc.origin);
    pending.push(doc);
    if (pending.length >= batchSize) await flush();
    if (interrupted) break;
  }
  if (!interrupted) {
    if (stopped()) interrupted = true;
    else await flush();
  }
  return { ...counts, interrupted, seconds: (performance.now() - started) / 1000 };
}

