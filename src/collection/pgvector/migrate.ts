/**
 * Copies an embedded collection (a directory) into a pgvector collection, then verifies the copy.
 *
 * - The target is created from the source's manifest (same encoder identity, dims, metric; the HNSW
 *   parameters of the source's index spec; f16 stays f16 as halfvec, i8/b1 become f32 vectors since
 *   pgvector's HNSW has no such types), or, when it exists, must hold the same model (ENCODER_MISMATCH).
 * - A new target is created without its HNSW index, which is built once after the copy (an interrupted
 *   run leaves exact search working; the next run builds the index when it completes).
 * - Documents are read from the source's SQLite database in id order (byte order of UTF-8) in batches,
 *   and written with upsertVectors (one transaction per batch): the stored vectors are copied, nothing
 *   is re-embedded. Rows are copied as stored (WriteOptions.storedRows): a row an older biencoder
 *   accepted (an id of 1001-1024 characters or ending in `#<n>`, a `_chunk` or `__proto__` metadata
 *   key) is not refused by the input rules of today, which would stop the copy halfway.
 * - Keyword and hybrid search carry over: a new target is created with the source's keyword language,
 *   and every batch writes its documents' postings (the same analyzer and BM25 as the source's); an
 *   existing target must rank keywords in the same language (INVALID_ARGUMENT otherwise).
 * - Resumable: a batch's rows already in the target with the same hash, metadata and vector are left
 *   alone (counted `unchanged`), so re-running after an interruption finishes the job, and re-running
 *   after source changes brings them over. Rows deleted from the source are not deleted from the target
 *   (the verification then reports the difference).
 * - Verification: document counts on both sides, and a checksum over the rows in id order: sha256 of
 *   the concatenated per-row sha256(id UTF-8 || 0x00 || content hash || vector bytes), the vector bytes
 *   being pgvector's binary form (vector_send). The target's per-row digests are computed by PostgreSQL
 *   from what it stores; the source's from SQLite's f32 vectors (rounded to f16 first for a halfvec target).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BiencoderError, throwIfAborted } from '../../errors.ts';
import { resolveIndexSpec, type IndexSpec, type IndexSpecInput } from '../index-backend.ts';
import { DATABASE_FILE, describeIdentity, identityMismatch, readManifest, type Manifest } from '../manifest.ts';
import { blobToVector, openDatabase } from '../store.ts';
import type { Metadata } from '../filter.ts';
import { createPool, storeError } from './connection.ts';
import { PgvectorCollection } from './pgvector-collection.ts';
import { quoteIdent, tableNames } from './schema.ts';
import { parsePgTarget } from './target.ts';
import { roundToF16, toVectorSend } from './vector-codec.ts';

export interface MigrateOptions {
  /** Documents per transaction; default 500. */
  readonly batchSize?: number;
  /** The target collection name (overrides the URL's `collection` parameter). */
  readonly collection?: string;
  /** The target's index when it is created; default: the source's (see above). */
  readonly index?: IndexSpecInput;
  readonly poolSize?: number;
  readonly signal?: AbortSignal;
  /** Called after every batch. */
  readonly onProgress?: (progress: MigrateProgress) => void;
  /** Copy nothing: only compare the existing target with the source (NOT_FOUND when there is no target). */
  readonly verifyOnly?: boolean;
  /** Hash partitions of the target's tables when it is created (PgvectorCreateOptions.partitions); default none. */
  readonly partitions?: number;
}

export interface MigrateProgress {
  /** Source documents processed so far, and in all. */
  readonly done: number;
  readonly total: number;
}

export interface MigrateVerification {
  readonly sourceCount: number;
  readonly targetCount: number;
  readonly sourceChecksum: string;
  readonly targetChecksum: string;
  /** Counts and checksums agree. */
  readonly ok: boolean;
}

export interface MigrateReport {
  readonly source: string;
  /** The target URL (password hidden). */
  readonly target: string;
  /** Whether this run created the target collection. */
  readonly created: boolean;
  readonly inserted: number;
  readonly updated: number;
  /** Rows already present and identical (from an earlier, interrupted or repeated run). */
  readonly unchanged: number;
  /** Whether this run built the target's HNSW index (after copying into a new or index-less target). */
  readonly indexBuilt: boolean;
  readonly seconds: number;
  readonly verification: MigrateVerification;
}

const DIGEST_PAGE = 5000;

/** The target index for a source spec: pgvector stores f32 (vector) or f16 (halfvec). */
export function pgvectorSpecFor(source: IndexSpec): IndexSpec {
  if (source.kind === 'flat' || source.quantization === 'f32' || source.quantization === 'f16') return source;
  return { ...source, quantization: 'f32', rescore: 1 };
}

function rowDigest(id: string, hash: Buffer, vectorSend: Buffer): Buffer {
  return createHash('sha256').update(Buffer.from(id, 'utf8')).update(Buffer.from([0])).update(hash).update(vectorSend).digest();
}

interface SourceRow {
  id: string;
  text: string;
  hash: Buffer;
  metadata: string;
  key: number;
  vector: Buffer;
}

/** Copies the embedded collection at `sourceDir` into the pgvector collection at `targetUrl` and verifies it. */
export async function migrateCollection(sourceDir: string, targetUrl: string, options: MigrateOptions = {}): Promise<MigrateReport> {
  const t0 = performance.now();
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) throw new BiencoderError('INVALID_ARGUMENT', `batchSize must be an integer in 1..100000, got ${String(batchSize)}`);
  const target = parsePgTarget(targetUrl, options.collection);
  const manifest: Manifest = readManifest(sourceDir);
  const db = openDatabase(join(sourceDir, DATABASE_FILE), { readOnly: true, dims: manifest.dims });
  let collection: PgvectorCollection | undefined;
  try {
    const dims = manifest.dims;
    let created = false;
    try {
      collection = await PgvectorCollection.open(target.connectionString, { collection: target.collection, poolSize: options.poolSize, readOnly: options.verifyOnly });
    } catch (error) {
      if (!(error instanceof BiencoderError && error.code === 'NOT_FOUND') || options.verifyOnly) throw error;
      collection = await PgvectorCollection.create(target.connectionString, {
        collection: target.collection,
        poolSize: options.poolSize,
        encoder: { ...manifest.encoder },
        metric: manifest.metric,
        index: options.index === undefined ? pgvectorSpecFor(manifest.index) : resolveIndexSpec(options.index),
        deferIndex: true, // built once after the copy: much faster than maintaining it row by row
        // keyword search with the source's analyzer: the postings are written with the rows, so keyword and hybrid search carry over
        language: manifest.keyword?.analyzer.language ?? 'en',
        partitions: options.partitions,
      });
      created = true;
    }
    const sourceLanguage = manifest.keyword?.analyzer.language ?? 'en';
    const targetLanguage = collection.manifest.keyword?.analyzer.language;
    if (targetLanguage !== undefined && targetLanguage !== sourceLanguage) {
      throw new BiencoderError('INVALID_ARGUMENT', `the target ${target.display} ranks keywords in language ${targetLanguage}, the source ${sourceDir} in ${sourceLanguage}: keyword search would not carry over; migrate into a new collection`);
    }
    const why = identityMismatch(collection.manifest.encoder, manifest.encoder);
    if (why !== undefined || collection.metric !== manifest.metric) {
      throw new BiencoderError('ENCODER_MISMATCH', `the target ${target.display} holds vectors of ${describeIdentity(collection.manifest.encoder)} (${collection.metric}), the source ${sourceDir} of ${describeIdentity(manifest.encoder)} (${manifest.metric}); they cannot be merged`);
    }
    const total = (db.prepare('SELECT count(*) AS n FROM docs').get() as { n: number }).n;
    const page = db.prepare<[string, number], SourceRow>(
      'SELECT d.id, d.text, d.hash, d.metadata, d.key, v.vector FROM docs d JOIN vectors v ON v.key = d.key WHERE d.id > ? ORDER BY d.id LIMIT ?',
    );
    let after = '';
    let done = 0;
    let inserted = 0;
    let updated = 0;
    let unchanged = 0;
    while (options.verifyOnly !== true) {
      throwIfAborted(options.signal);
      const rows = page.all(after, batchSize);
      if (rows.length === 0) break;
      const result = await collection.upsertVectors(rows.map((r) => ({
        id: r.id, text: r.text, metadata: JSON.parse(r.metadata) as Metadata, vector: blobToVector(r.vector, dims, r.key),
      })), { signal: options.signal, storedRows: true }); // accepted when written: a copy is checked for its shape only
      inserted += result.inserted;
      updated += result.updated;
      unchanged += result.unchanged;
      done += rows.length;
      after = rows[rows.length - 1].id;
      options.onProgress?.({ done, total });
    }
    let indexBuilt = false;
    if (options.verifyOnly !== true) indexBuilt = await collection.buildIndex();
    const verification = await verifyMigration(db, manifest, collection, target.connectionString, target.collection, target.display, options.poolSize);
    return { source: sourceDir, target: target.display, created, inserted, updated, unchanged, indexBuilt, seconds: (performance.now() - t0) / 1000, verification };
  } finally {
    db.close();
    await collection?.close();
  }
}

async function verifyMigration(
  db: ReturnType<typeof openDatabase>, manifest: Manifest, collection: PgvectorCollection, connectionString: string, name: string, display: string, poolSize: number | undefined,
): Promise<MigrateVerification> {
  const dims = manifest.dims;
  const half = collection.vectorType === 'halfvec';
  const source = createHash('sha256');
  let sourceCount = 0;
  const rows = db.prepare<[], { id: string; hash: Buffer; key: number; vector: Buffer }>('SELECT d.id, d.hash, d.key, v.vector FROM docs d JOIN vectors v ON v.key = d.key ORDER BY d.id');
  for (const r of rows.iterate()) {
    let v = blobToVector(r.vector, dims, r.key);
    if (half) v = v.map(roundToF16);
    source.update(rowDigest(r.id, r.hash, toVectorSend(v)));
    sourceCount++;
  }
  const sourceCountAll = (db.prepare('SELECT count(*) AS n FROM docs').get() as { n: number }).n;
  if (sourceCountAll !== sourceCount) throw new BiencoderError('COLLECTION_CORRUPT', `the source has ${sourceCountAll - sourceCount} documents without a stored vector (run biencoder check)`);

  const pool = createPool(connectionString, poolSize ?? 1);
  const table = quoteIdent(tableNames(name).table);
  const targetHash = createHash('sha256');
  let targetCount = 0;
  try {
    let after = '';
    for (;;) {
      const { rows: page } = await pool.query<{ id: string; digest: Buffer }>(
        `SELECT id, sha256(convert_to(id, 'UTF8') || '\\x00'::bytea || hash || vector_send(embedding${half ? '::vector' : ''})) AS digest
         FROM ${table} WHERE id > $1 ORDER BY id LIMIT $2`,
        [after, DIGEST_PAGE],
      );
      if (page.length === 0) break;
      for (const r of page) targetHash.update(r.digest);
      targetCount += page.length;
      after = page[page.length - 1].id;
    }
  } catch (error) {
    throw storeError(error, 'verifying the migration', display);
  } finally {
    await pool.end();
  }
  const sourceChecksum = source.digest('hex');
  const targetChecksum = targetHash.digest('hex');
  return { sourceCount, targetCount, sourceChecksum, targetChecksum, ok: sourceCount === targetCount && sourceChecksum === targetChecksum };
}
