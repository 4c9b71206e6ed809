/**
 * A collection stored in PostgreSQL with pgvector: the Collection API (collection-api.ts) over a table
 * of documents (id, text, sha256 of the text, jsonb metadata, vector(d) or halfvec(d)) with an HNSW
 * index, and the manifest in the registry table (manifest-table.ts). See schema.ts for the tables.
 *
 * Semantics follow the embedded store: string ids (<= 1024 chars), plain-JSON metadata, upserts report
 * { inserted, updated, unchanged, embedded } and embed only new or changed texts (content hash), scores
 * are higher-is-better (cosine similarity, dot product, negated euclidean distance), the encoder
 * guard, and the same error codes. Differences: many processes may write at once (PostgreSQL's MVCC
 * replaces the writer lock; readOnly handles refuse writes), texts, ids and metadata cannot contain
 * U+0000, and metadata is compared as jsonb (key order does not make a document "updated").
 *
 * Writes: every upsert/upsertVectors/delete call is one transaction (batched multi-row statements
 * over unnest() arrays), atomic like the embedded store's. Texts are embedded before the transaction;
 * inside it the stored hashes are re-read FOR UPDATE and, if another writer changed a text meanwhile,
 * the call embeds the difference and tries again. Writers do not deadlock each other over a batch's
 * rows: every write takes its rows' locks in one order, whatever order the caller gave — the stored rows
 * locked first (FOR UPDATE), then the new rows inserted, each by id in byte order (COLLATE "C"). A
 * transaction that still loses a lock cycle or a serialization conflict (another kind of write on the
 * same rows, a third writer committing in between) is rolled back and run again after a random wait
 * (connection.ts: inRetriedTransaction); the batch stays all-or-nothing.
 *
 * Search (search-statements.ts): dense is one statement, `ORDER BY embedding <op> $query LIMIT k`, with the
 * vector in binary, on a pooled connection whose session has hnsw.ef_search and, on pgvector >= 0.8,
 * hnsw.iterative_scan = relaxed_order (set once per connection: #withSession), so filtered HNSW scans keep
 * going until k rows match (results are re-sorted by score). Selective filters (matching at most 5% of the
 * documents, estimated from a bounded sample and cached for a while) are searched exactly instead, their
 * equality conditions read through the GIN index on metadata (filter-sql.ts: containmentHint). When an HNSW
 * search still returns fewer than k rows the query is re-run as an exact scan: k results whenever k match.
 * Keyword search is BM25 in SQL over the postings the writes keep (keyword-postings.ts), with the embedded
 * store's analyzer and formula; hybrid fuses both candidate lists with the embedded store's fusion code.
 * count() reads the registry's doc_count, kept by the writes.
 */
import { BiencoderError, throwIfAborted } from '../../errors.ts';
import type { Encoder } from '../../encoders/encoder.ts';
import type { Matrix } from '../../matrix.ts';
import type { IndexMetric } from '../../index/vector-index.ts';
import { resolveIndexSpec, type IndexSpec, type IndexSpecInput } from '../index-backend.ts';
import { checkDeleteFilter, parseFilter, type Metadata, type MetadataFilter } from '../filter.ts';
import { FORMAT_VERSION, MANIFEST_FORMAT, validateManifest, type Manifest } from '../manifest.ts';
import {
  type DocumentInput, type EmbedQueriesOptions, type EncoderDescriptor, type SearchHit, type SearchMode, type SearchOptions, type StoredDocument,
  type VectorDocumentInput, type WriteOptions, type WriteResult,
} from '../collection.ts';
import type { CollectionApi, CollectionApiInfo } from '../collection-api.ts';
import { CallQueue } from '../call-queue.ts';
import {
  checkDenseQueries, checkEmbeddings, checkEncoderMatches, checkIds, checkTextQueries, identityOf, invalid, isEncoder, prepareTextDocuments, prepareVectorDocuments,
  searchK, type PreparedDocument, type TextWithVector,
} from '../document-input.ts';
import { checkSearchMode } from '../collection.ts';
import { checkKeywordOptions } from '../keyword-query.ts';
import { createAnalyzer, sameAnalyzerSpec, type Analyzer } from '../../analysis/index.ts';
import { resolveHybridOptions } from '../../retriever/fusion.ts';
import { noNul } from './input.ts';
import { createPool, inRetriedTransaction, inTransaction, parseVersion, sqlState, storeError, versionAtLeast, type Pool, type PoolClient } from './connection.ts';
import { bumpSeq, insertRegistryRow, lockRegistry, readRegistryRow } from './manifest-table.ts';
import {
  REGISTRY_TABLE, checkPartitions, checkSpecForPgvector, collectionDdl, hnswIndexDdl, partitionName, quoteIdent, tableNames, vectorTypeFor,
  type TableNames, type VectorType,
} from './schema.ts';
import { SqlParams, compileFilterToSql } from './filter-sql.ts';
import { buildKeywordPostings, deletePostings, insertPostings, partitionCount, postingColumns } from './keyword-postings.ts';
import { PgvectorSearch } from './pgvector-search.ts';
import { adapterRecord, loadRecordedAdapter, loadedAdapter, type LoadedAdapter } from '../query-adapter-record.ts';
import type { QueryAdapter } from '../../tune/query-adapter.ts';
import { parsePgTarget, type PgTarget } from './target.ts';
import { fromVectorSend, toVectorLiteral } from './vector-codec.ts';

/** The default index of a new pgvector collection: HNSW over vector(d) (pgvector has no int8 vectors). */
export const DEFAULT_PGVECTOR_INDEX: IndexSpec = resolveIndexSpec({ kind: 'hnsw' });

/** Documents in the order their rows are locked: by id in byte order (PostgreSQL's COLLATE "C"). */
function inLockOrder<T extends { readonly id: string }>(docs: readonly T[]): T[] {
  const keyed = docs.map((d) => ({ d, key: Buffer.from(d.id, 'utf8') }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.d);
}

/** Rows per INSERT/UPDATE statement inside a write transaction. */
const ROWS_PER_STATEMENT = 1000;
/** Times a text upsert re-embeds after concurrent writers changed its documents. */
const MAX_UPSERT_ATTEMPTS = 4;
const MIN_HALFVEC = [0, 7, 0] as const;
const MIN_ITERATIVE_SCAN = [0, 8, 0] as const;
const MIN_HNSW = [0, 5, 0] as const;

export interface PgvectorOpenOptions {
  /** The encoder for upsert() and text queries; it must be the model the collection was created with. */
  readonly encoder?: Encoder;
  /** Refuse writes (READ_ONLY). Default false. PostgreSQL needs no writer lock: writers may run concurrently. */
  readonly readOnly?: boolean;
  /** The collection name; overrides the URL's `collection` parameter (default "default"). */
  readonly collection?: string;
  /** Connections in the node-postgres pool; default 4. */
  readonly poolSize?: number;
}

export interface PgvectorCreateOptions extends Omit<PgvectorOpenOptions, 'encoder' | 'readOnly'> {
  /** The encoder whose vectors the collection holds, or a description of it for upsertVectors-only use. */
  readonly encoder: Encoder | EncoderDescriptor;
  /** Default HNSW f32 (m 16, ef_construction 128, ef_search 64; pgvector has no int8 vectors). f16 stores halfvec; flat: no index, exact scans. */
  readonly index?: IndexSpecInput;
  /** Default: the encoder's similarity (cosine, dot or l2). */
  readonly metric?: IndexMetric;
  /**
   * Create the table without its HNSW index, for a bulk load: building the index once after loading
   * is several times faster than maintaining it row by row. Searches are exact scans until
   * buildIndex() runs. Default false.
   */
  readonly deferIndex?: boolean;
  /** The language of keyword search, as for embedded collections (CreateCollectionOptions.language); default 'en'. */
  readonly language?: string;
  /**
   * Hash-partition the tables by id into this many partitions (2..64; default 0, one table): each
   * partition has its own HNSW graph and term index. See docs/pgvector.md (partitions and Citus).
   */
  readonly partitions?: number;
}

export interface BuildIndexOptions {
  /** PostgreSQL's maintenance_work_mem for the build (the graph should fit in it); default '256MB'. */
  readonly maintenanceWorkMem?: string;
}

export interface PgvectorInfo extends CollectionApiInfo {
  readonly store: 'pgvector';
  /** The URL (password hidden) and collection name. */
  readonly url: string;
  readonly collection: string;
  readonly table: string;
  readonly vectorType: VectorType;
  readonly index: IndexSpec;
  /** Whether the HNSW index exists (false for flat collections and deferred builds). */
  readonly indexBuilt: boolean;
  readonly pgvectorVersion: string;
  /** Hash partitions of the tables (0: not partitioned). */
  readonly partitions: number;
  /** Whether keyword and hybrid search are served (false only for a collection made before them, opened read-only). */
  readonly keyword: boolean;
}

interface PgvectorInit {
  readonly target: PgTarget;
  readonly pool: Pool;
  readonly manifest: Manifest;
  readonly table: string;
  readonly readOnly: boolean;
  readonly encoder: Encoder | undefined;
  readonly pgvectorVersion: string;
  readonly analyzer: Analyzer;
  /** Whether the keyword postings and statistics are built for this analyzer. */
  readonly keyword: boolean;
  readonly adapter: LoadedAdapter;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** pgvector's installed version; creates the extension when allowed and missing. */
async function ensurePgvector(db: Pool | PoolClient, create: boolean, where: string): Promise<string> {
  const read = async (): Promise<string | undefined> => {
    const { rows } = await db.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`);
    return rows[0]?.v;
  };
  let version = await read();
  if (version === undefined && create) {
    try {
      await db.query('CREATE EXTENSION IF NOT EXISTS vector');
    } catch (error) {
      throw new BiencoderError('STORE_FAILED', `the pgvector extension is not installed in the database at ${where} and could not be created (${(error as Error).message}); install pgvector and run CREATE EXTENSION vector as a privileged user`, { cause: error, details: { where, transient: false } });
    }
    version = await read();
  }
  if (version === undefined) throw new BiencoderError('STORE_FAILED', `the pgvector extension is not installed in the database at ${where} (CREATE EXTENSION vector)`, { details: { where, transient: false } });
  if (!versionAtLeast(parseVersion(version), MIN_HNSW)) throw new BiencoderError('UNSUPPORTED', `pgvector ${version} at ${where} has no HNSW index; biencoder needs pgvector >= 0.5.0`);
  return version;
}

/** Where pgvector collections keep their query adapters' files: one row per collection that has one. */
const ADAPTERS_TABLE = 'biencoder_query_adapters';

export class PgvectorCollection implements CollectionApi {
  #manifest: Manifest;
  #adapter: LoadedAdapter;
  readonly readOnly: boolean;
  readonly dims: number;
  readonly metric: IndexMetric;
  /** All three; dense only for a collection made before keyword search and opened read-only (its postings are built by a writable open). */
  readonly searchModes: readonly SearchMode[];
  /** The target URL with its password hidden (and the collection parameter). */
  readonly url: string;
  readonly collectionName: string;
  readonly vectorType: VectorType;
  readonly pgvectorVersion: string;

  readonly #pool: Pool;
  readonly #table: string;
  readonly #names: TableNames;
  readonly #encoder: Encoder | undefined;
  readonly #analyzer: Analyzer;
  readonly #search: PgvectorSearch;
  readonly #calls = new CallQueue();
  #closed = false;

  private constructor(init: PgvectorInit) {
    this.#manifest = init.manifest;
    this.#adapter = init.adapter;
    this.readOnly = init.readOnly;
    this.dims = init.manifest.dims;
    this.metric = init.manifest.metric;
    this.url = init.target.display;
    this.collectionName = init.target.collection;
    this.vectorType = vectorTypeFor(init.manifest.index);
    this.pgvectorVersion = init.pgvectorVersion;
    this.#pool = init.pool;
    this.#table = quoteIdent(init.table);
    this.#names = tableNames(init.target.collection);
    this.#encoder = init.encoder;
    this.#analyzer = init.analyzer;
    this.searchModes = init.keyword ? ['dense', 'keyword', 'hybrid'] : ['dense'];
    this.#search = new PgvectorSearch({
      pool: init.pool, manifest: init.manifest, url: this.url, collection: init.target.collection, vectorType: this.vectorType,
      encoder: init.encoder, analyzer: init.analyzer, iterativeScan: versionAtLeast(parseVersion(init.pgvectorVersion), MIN_ITERATIVE_SCAN),
      assertOpen: () => this.#assertOpen(),
      adapter: () => {
        if (this.#adapter.error !== undefined) throw this.#adapter.error;
        return this.#adapter.adapter;
      },
    });
  }

  /**
   * Creates a collection (its table, its HNSW index and its registry row, in one transaction) and opens
   * it. ALREADY_EXISTS when the name is taken. Creates the pgvector extension if it is missing and the
   * user may (CREATE EXTENSION needs privileges on most servers).
   */
  static async create(url: string, options: PgvectorCreateOptions): Promise<PgvectorCollection> {
    if (typeof options !== 'object' || options === null) throw invalid('options must be an object with an encoder');
    const target = parsePgTarget(url, options.collection);
    const identity = identityOf(options.encoder);
    const metric = options.metric ?? identity.similarity;
    if (!['cosine', 'dot', 'l2'].includes(metric)) {
      throw invalid(metric === 'manhattan'
        ? 'the encoder was trained for manhattan distance, which the indexes do not support; pass metric (cosine, dot or l2)'
        : `metric must be cosine, dot or l2, got ${String(metric)}`);
    }
    const spec = resolveIndexSpec(options.index ?? DEFAULT_PGVECTOR_INDEX);
    const type = checkSpecForPgvector(spec, identity.dims);
    const partitions = checkPartitions(options.partitions);
    const analyzer = createAnalyzer(options.language === undefined ? 'en' : options.language);
    const pool = createPool(target.connectionString, options.poolSize);
    try {
      const now = new Date().toISOString();
      const manifest: Manifest = {
        format: MANIFEST_FORMAT, formatVersion: FORMAT_VERSION, encoder: identity, dims: identity.dims, metric: metric as IndexMetric,
        normalized: identity.normalized, index: spec, createdAt: now, updatedAt: now, keyword: { analyzer: analyzer.spec },
      };
      const names = tableNames(target.collection);
      let version: string;
      try {
        version = await ensurePgvector(pool, true, target.display);
        if (type === 'halfvec' && !versionAtLeast(parseVersion(version), MIN_HALFVEC)) {
          throw new BiencoderError('UNSUPPORTED', `pgvector ${version} has no halfvec type (f16 needs pgvector >= 0.7.0)`);
        }
        await inTransaction(pool, async (client) => {
          await lockRegistry(client);
          const exists = await client.query('SELECT 1 FROM biencoder_collections WHERE name = $1', [target.collection]);
          if (exists.rows.length > 0) {
            throw new BiencoderError('ALREADY_EXISTS', `a collection named ${JSON.stringify(target.collection)} already exists at ${target.display}; open it instead`, { details: { collection: target.collection } });
          }
          const taken = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [quoteIdent(names.table)]);
          if (taken.rows[0]?.t != null) {
            throw new BiencoderError('ALREADY_EXISTS', `a table ${names.table} that is not a registered collection already exists at ${target.display}; choose another collection name`, { details: { table: names.table } });
          }
          for (const ddl of collectionDdl(names, identity.dims, type, manifest.metric, spec, options.deferIndex === true, partitions)) await client.query(ddl);
          await insertRegistryRow(client, target.collection, names.table, manifest);
        });
      } catch (error) {
        if (sqlState(error) === '23505') throw new BiencoderError('ALREADY_EXISTS', `a collection named ${JSON.stringify(target.collection)} was created concurrently at ${target.display}`, { cause: error });
        throw storeError(error, 'creating the collection', target.display);
      }
      return new PgvectorCollection({
        target, pool, manifest, table: names.table, readOnly: false, encoder: isEncoder(options.encoder) ? options.encoder : undefined, pgvectorVersion: version,
        analyzer, keyword: true, adapter: {},
      });
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
  }

  /** Opens an existing collection (NOT_FOUND if none by that name; ENCODER_MISMATCH for another model). */
  static async open(url: string, options: PgvectorOpenOptions = {}): Promise<PgvectorCollection> {
    if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
    const target = parsePgTarget(url, options.collection);
    if (options.encoder !== undefined && !isEncoder(options.encoder)) throw invalid('encoder must be an Encoder (with encode())');
    const pool = createPool(target.connectionString, options.poolSize);
    try {
      let row;
      let version: string;
      try {
        row = await readRegistryRow(pool, target.collection, target.display);
        version = await ensurePgvector(pool, false, target.display);
        const { rows } = await pool.query<{ t: string | null }>(
          `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'embedding' AND NOT attisdropped`,
          [quoteIdent(row.table)],
        );
        const expected = `${vectorTypeFor(row.manifest.index)}(${row.manifest.dims})`;
        if (rows[0]?.t !== expected) {
          throw new BiencoderError('COLLECTION_CORRUPT', `the table ${row.table} at ${target.display} ${rows.length === 0 ? 'is missing' : `stores ${rows[0].t}, but the manifest says ${expected}`}`);
        }
      } catch (error) {
        throw storeError(error, 'opening the collection', target.display);
      }
      let manifest = row.manifest;
      if (options.encoder !== undefined) {
        checkEncoderMatches(manifest.encoder, options.encoder, target.display, { url: target.display });
      }
      const analyzer = createAnalyzer(manifest.keyword?.analyzer.language ?? 'en');
      const recorded = manifest.keyword?.analyzer;
      if (recorded !== undefined && recorded.version > analyzer.spec.version) {
        throw new BiencoderError('UNSUPPORTED_FORMAT', `the collection at ${target.display} was indexed with keyword analyzer ${recorded.name}@${recorded.version}; this biencoder has ${analyzer.spec.name}@${analyzer.spec.version} (upgrade biencoder)`);
      }
      const readOnly = options.readOnly ?? false;
      let keyword = row.docCount !== undefined && sameAnalyzerSpec(recorded, analyzer.spec);
      if (!keyword && !readOnly) {
        // Made before keyword search (or by an older analyzer): build the postings from the stored texts, once.
        manifest = await buildKeywordPostings(pool, target, analyzer, manifest);
        keyword = true;
      }
      let adapter: LoadedAdapter = {};
      if (manifest.queryAdapter !== undefined) {
        const where = `${target.display} (${ADAPTERS_TABLE})`;
        const stored = await pool.query<{ bytes: Buffer }>(`SELECT bytes FROM ${ADAPTERS_TABLE} WHERE collection = $1`, [target.collection]).catch((error: unknown) => {
          if (sqlState(error) === '42P01') return { rows: [] }; // the table is gone: the adapter is missing
          throw storeError(error, 'reading the query adapter', target.display);
        });
        adapter = loadedAdapter(() => {
          if (stored.rows.length === 0) {
            throw new BiencoderError('COLLECTION_CORRUPT', `the collection at ${where} names a query adapter that is not stored: text queries cannot be embedded through it (search with adapter: false, or remove it with \`biencoder tune --remove\`)`);
          }
          return loadRecordedAdapter(stored.rows[0].bytes, manifest, where);
        });
      }
      return new PgvectorCollection({ target, pool, manifest, table: row.table, readOnly, encoder: options.encoder, pgvectorVersion: version, analyzer, keyword, adapter });
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
  }

  /** The encoder given at open or create, if any. */
  get encoder(): Encoder | undefined {
    return this.#encoder;
  }

  /** The encoder identity, dims, metric, index spec, analyzer and query adapter the collection was made with. */
  get manifest(): Manifest {
    return this.#manifest;
  }

  /** The query adapter applied to text queries (see setQueryAdapter), if any (undefined too when it could not be loaded). */
  get queryAdapter(): QueryAdapter | undefined {
    return this.#adapter.adapter;
  }

  /**
   * The manifest as stored now, its registry row locked for this transaction: set and remove start from
   * it, not from this handle's copy, which another process may have changed since the open.
   */
  async #lockedManifest(client: PoolClient): Promise<Manifest> {
    const { rows } = await client.query<{ manifest: unknown }>(`SELECT manifest FROM ${REGISTRY_TABLE} WHERE name = $1 FOR UPDATE`, [this.collectionName]);
    if (rows.length === 0) throw new BiencoderError('NOT_FOUND', `the collection ${JSON.stringify(this.collectionName)} was dropped while it was open`);
    return validateManifest(rows[0].manifest, `${this.url} (${REGISTRY_TABLE}.manifest)`);
  }

  /** Text queries embedded as searches embed them: the encoder, then the query adapter unless adapter is false. */
  async embedQueries(texts: readonly string[], options: EmbedQueriesOptions = {}): Promise<Matrix> {
    this.#assertOpen();
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw invalid('embedQueries takes an array of strings');
    return this.#search.queryMatrix(texts, options);
  }

  /**
   * Stores a query adapter with the collection, in one transaction: its bytes in biencoder_query_adapters
   * and its record in the manifest. Every text query this handle embeds goes through it from then on;
   * other processes load it when they open the collection.
   */
  setQueryAdapter(adapter: QueryAdapter, options: { readonly validation?: Readonly<Record<string, unknown>> } = {}): Promise<void> {
    try {
      this.#assertWritable();
      const { bytes, record } = adapterRecord(adapter, this.#manifest, options.validation);
      return this.#exclusive(() => this.#db('storing the query adapter', async () => {
        const manifest = await inTransaction(this.#pool, async (client) => {
          const table = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [ADAPTERS_TABLE]);
          if (table.rows[0]?.t == null) {
            // made once per database, serialized with collection creation (CREATE TABLE IF NOT EXISTS races otherwise)
            await lockRegistry(client);
            await client.query(`CREATE TABLE IF NOT EXISTS ${ADAPTERS_TABLE} (collection text PRIMARY KEY, file text NOT NULL, bytes bytea NOT NULL)`);
          }
          const updated = { ...(await this.#lockedManifest(client)), queryAdapter: record, updatedAt: new Date().toISOString() };
          await client.query(
            `INSERT INTO ${ADAPTERS_TABLE} (collection, file, bytes) VALUES ($1, $2, $3) ON CONFLICT (collection) DO UPDATE SET file = EXCLUDED.file, bytes = EXCLUDED.bytes`,
            [this.collectionName, record.file, bytes],
          );
          await client.query(`UPDATE ${REGISTRY_TABLE} SET manifest = $2::jsonb WHERE name = $1`, [this.collectionName, JSON.stringify(updated)]);
          await bumpSeq(client, this.collectionName);
          return updated;
        });
        this.#manifest = manifest;
        this.#adapter = { adapter };
      }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Removes the collection's query adapter; resolves whether there was one. */
  removeQueryAdapter(): Promise<boolean> {
    try {
      this.#assertWritable();
      return this.#exclusive(() => this.#db('removing the query adapter', async () => {
        const removed = await inTransaction(this.#pool, async (client) => {
          const stored = await this.#lockedManifest(client);
          if (stored.queryAdapter === undefined) return { manifest: stored, removed: false };
          const { queryAdapter: _removed, ...rest } = stored;
          void _removed;
          const manifest = { ...rest, updatedAt: new Date().toISOString() };
          const table = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [ADAPTERS_TABLE]);
          if (table.rows[0]?.t != null) await client.query(`DELETE FROM ${ADAPTERS_TABLE} WHERE collection = $1`, [this.collectionName]);
          await client.query(`UPDATE ${REGISTRY_TABLE} SET manifest = $2::jsonb WHERE name = $1`, [this.collectionName, JSON.stringify(manifest)]);
          await bumpSeq(client, this.collectionName);
          return { manifest, removed: true };
        });
        this.#manifest = removed.manifest;
        this.#adapter = {};
        return removed.removed;
      }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // ---------------------------------------------------------------- plumbing

  #assertOpen(): void {
    if (this.#closed) throw new BiencoderError('CLOSED', `the collection at ${this.url} is closed`);
  }

  #assertWritable(): void {
    this.#assertOpen();
    if (this.readOnly) throw new BiencoderError('READ_ONLY', `the collection at ${this.url} was opened read-only`);
  }

  /** Runs this handle's writes one at a time, in call order. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#calls.exclusive(fn, () => this.#assertOpen());
  }

  async #db<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw storeError(error, what, this.url);
    }
  }

  // ---------------------------------------------------------------- writes

  /**
   * Inserts or replaces documents by id; only texts that are new or whose sha256 changed are embedded.
   * One transaction per call: on any error nothing of the batch is written. Ids must be unique within a batch.
   */
  upsert(docs: readonly DocumentInput[], options: WriteOptions = {}): Promise<WriteResult> {
    try {
      this.#assertWritable();
      const prepared = prepareTextDocuments(docs, { rule: noNul, chunkRows: options.chunkRows, storedRows: options.storedRows });
      if (prepared.length === 0) return Promise.resolve({ inserted: 0, updated: 0, unchanged: 0, embedded: 0 });
      return this.#exclusive(() => this.#upsertTexts(prepared, options.signal));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #upsertTexts(input: PreparedDocument[], signal: AbortSignal | undefined): Promise<WriteResult> {
    const prepared = inLockOrder(input);
    let embedded = 0;
    const needsVector = (stored: Map<string, Buffer>, p: PreparedDocument): boolean => {
      const hash = stored.get(p.id);
      return hash === undefined || !hash.equals(p.hash);
    };
    for (let attempt = 1; ; attempt++) {
      const stored = await this.#db('reading stored hashes', () => this.#hashes(this.#pool, prepared, false));
      const toEmbed = prepared.filter((p) => p.vector === undefined && needsVector(stored, p));
      // Embedding is the costly part: a write the server would refuse for good is refused before it.
      if (toEmbed.length > 0 && attempt === 1) await this.#db('checking that writes are accepted', () => this.#checkWritable());
      if (toEmbed.length > 0) {
        const encoder = this.#encoder;
        if (encoder === undefined) {
          throw new BiencoderError('ENCODER_REQUIRED', `upsert needs to embed ${toEmbed.length} texts but the collection at ${this.url} was opened without an encoder (pass { encoder } when opening, or use upsertVectors)`);
        }
        throwIfAborted(signal);
        const m = await encoder.encode(toEmbed.map((p) => p.text), { role: 'document', signal });
        checkEmbeddings(m, toEmbed.length, this.dims);
        toEmbed.forEach((p, i) => {
          p.vector = m.data.slice(i * this.dims, (i + 1) * this.dims);
        });
        embedded += toEmbed.length;
        this.#assertOpen();
      }
      throwIfAborted(signal);
      const result = await this.#db('writing documents', () => inRetriedTransaction(this.#pool, async (client) => {
        const locked = await this.#hashes(client, prepared, true);
        if (prepared.some((p) => p.vector === undefined && needsVector(locked, p))) return undefined; // changed by another writer: embed and retry
        const withVector = prepared.filter((p) => needsVector(locked, p));
        const metadataOnly = prepared.filter((p) => !needsVector(locked, p));
        const written = await this.#writeWithVectors(client, withVector, false);
        const metadataUpdated = await this.#writeMetadata(client, metadataOnly);
        const terms = await this.#replacePostings(client, withVector);
        const inserted = written.inserted;
        const updated = written.updated + metadataUpdated;
        if (inserted + updated > 0) await bumpSeq(client, this.collectionName, { docs: inserted, terms });
        return { inserted, updated, unchanged: prepared.length - inserted - updated };
      }));
      if (result !== undefined) return { ...result, embedded };
      if (attempt >= MAX_UPSERT_ATTEMPTS) {
        throw new BiencoderError('STORE_FAILED', `upsert gave up after ${attempt} attempts: other writers kept changing the same documents at ${this.url}`, { details: { where: this.url, transient: true } });
      }
    }
  }

  /**
   * READ_ONLY when the server takes no writes (a hot standby, or read-only transactions by default),
   * PERMISSION when this role may not insert and update the collection's rows: what the write would meet.
   */
  async #checkWritable(): Promise<void> {
    const { rows } = await this.#pool.query<{ standby: boolean; read_only: boolean; can_write: boolean }>(
      `SELECT pg_is_in_recovery() AS standby, current_setting('default_transaction_read_only') = 'on' AS read_only,
              has_table_privilege($1, 'INSERT') AND has_table_privilege($1, 'UPDATE') AS can_write`,
      [this.#table],
    );
    const r = rows[0];
    if (r.standby || r.read_only) {
      throw new BiencoderError('READ_ONLY', `the server at ${this.url} accepts no writes (${r.standby ? 'a hot standby' : 'read-only transactions by default'}): nothing was embedded or written`);
    }
    if (!r.can_write) throw new BiencoderError('PERMISSION', `the database role may not insert and update ${this.#table} at ${this.url}: nothing was embedded or written`);
  }

  /** Replaces the keyword postings of documents whose text is new or changed; returns the change of the collection's total length in terms. */
  async #replacePostings(client: PoolClient, changed: readonly PreparedDocument[]): Promise<number> {
    if (changed.length === 0) return 0;
    // every changed id, stored or not: a concurrent writer may have added one since `stored` was read
    const removed = await deletePostings(client, this.#names.terms, changed.map((p) => p.id));
    const columns = postingColumns(this.#analyzer, changed);
    await insertPostings(client, this.#names.terms, columns);
    this.#search.forgetSelectivity();
    return columns.length - removed;
  }

  /** The stored hashes of the docs' ids (FOR UPDATE inside a write transaction). */
  async #hashes(db: Pool | PoolClient, docs: readonly PreparedDocument[], lock: boolean): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    for (const part of chunks(docs, ROWS_PER_STATEMENT * 10)) {
      const { rows } = await db.query<{ id: string; hash: Buffer }>(
        `SELECT id, hash FROM ${this.#table} WHERE id = ANY($1::text[])${lock ? ' ORDER BY id COLLATE "C" FOR UPDATE' : ''}`,
        [part.map((d) => d.id)],
      );
      for (const r of rows) out.set(r.id, r.hash);
    }
    return out;
  }

  /**
   * Inserts or replaces rows with their vectors. With onlyIfDifferent, a row whose hash, metadata and
   * vector are already stored is left alone (and counted by neither). New rows are inserted first (in
   * lock order, skipping ids that exist), the others locked, then updated: the inserted count must be
   * exact (it moves doc_count), and `RETURNING xmax = 0`, the usual way to tell an upsert's inserts
   * from its updates, is refused on partitioned tables. Every row of the batch is written (inserted,
   * or locked and updated) whatever other writers do meanwhile: the postings written for it stay true.
   */
  async #writeWithVectors(client: PoolClient, docs: readonly PreparedDocument[], onlyIfDifferent: boolean): Promise<{ inserted: number; updated: number }> {
    let inserted = 0;
    let updated = 0;
    const type = this.vectorType;
    const columns = (list: readonly PreparedDocument[]): unknown[] => [
      list.map((d) => d.id), list.map((d) => d.text), list.map((d) => d.hash), list.map((d) => d.metadata), list.map((d) => toVectorLiteral(d.vector!)),
    ];
    const rows = `unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[], $5::${type}[]) AS u(id, text, hash, metadata, embedding)`;
    for (const part of chunks(docs, ROWS_PER_STATEMENT)) {
      let pending: readonly PreparedDocument[] = part;
      let rest: PreparedDocument[] = [];
      // Insert the new rows; lock the others. A row that a concurrent writer inserted (our insert skipped it)
      // and a third then deleted before we locked it is missing again: insert it in the next round.
      while (pending.length > 0) {
        const added = await client.query<{ id: string }>(
          `INSERT INTO ${this.#table} (id, text, hash, metadata, embedding) SELECT * FROM ${rows} ORDER BY u.id COLLATE "C" ON CONFLICT (id) DO NOTHING RETURNING id`,
          columns(pending),
        );
        inserted += added.rows.length;
        const addedIds = new Set(added.rows.map((r) => r.id));
        const existing = pending.filter((d) => !addedIds.has(d.id));
        if (existing.length === 0) break;
        const locked = await client.query<{ id: string }>(
          `SELECT id FROM ${this.#table} WHERE id = ANY($1::text[]) ORDER BY id COLLATE "C" FOR UPDATE`, [existing.map((d) => d.id)],
        );
        const lockedIds = new Set(locked.rows.map((r) => r.id));
        rest = rest.concat(existing.filter((d) => lockedIds.has(d.id)));
        pending = existing.filter((d) => !lockedIds.has(d.id));
      }
      if (rest.length === 0) continue;
      const { rowCount } = await client.query(
        `UPDATE ${this.#table} AS cur SET text = u.text, hash = u.hash, metadata = u.metadata, embedding = u.embedding FROM ${rows}
         WHERE cur.id = u.id ${onlyIfDifferent ? 'AND (cur.hash, cur.metadata, cur.embedding) IS DISTINCT FROM (u.hash, u.metadata, u.embedding)' : ''}`,
        columns(rest),
      );
      updated += rowCount ?? 0;
    }
    return { inserted, updated };
  }

  /** Replaces the metadata of rows whose text is unchanged; returns how many changed. */
  async #writeMetadata(client: PoolClient, docs: readonly PreparedDocument[]): Promise<number> {
    let changed = 0;
    for (const part of chunks(docs, ROWS_PER_STATEMENT)) {
      const { rowCount } = await client.query(
        `UPDATE ${this.#table} AS cur SET metadata = u.metadata
         FROM unnest($1::text[], $2::jsonb[]) AS u(id, metadata)
         WHERE cur.id = u.id AND cur.metadata IS DISTINCT FROM u.metadata`,
        [part.map((d) => d.id), part.map((d) => d.metadata)],
      );
      changed += rowCount ?? 0;
    }
    return changed;
  }

  /** Inserts or replaces documents with precomputed vectors of this collection's model (bulk loads, migrations). */
  upsertVectors(docs: readonly VectorDocumentInput[], options: WriteOptions = {}): Promise<WriteResult> {
    try {
      this.#assertWritable();
      const prepared = inLockOrder(prepareVectorDocuments(docs, this.dims, this.metric, { rule: noNul, chunkRows: options.chunkRows, storedRows: options.storedRows }));
      if (prepared.length === 0) return Promise.resolve({ inserted: 0, updated: 0, unchanged: 0, embedded: 0 });
      return this.#exclusive(async () => {
        throwIfAborted(options.signal);
        return this.#db('writing documents', () => inRetriedTransaction(this.#pool, async (client) => {
          const stored = await this.#hashes(client, prepared, true);
          const { inserted, updated } = await this.#writeWithVectors(client, prepared, true);
          const textChanged = prepared.filter((p) => !stored.get(p.id)?.equals(p.hash));
          const terms = await this.#replacePostings(client, textChanged);
          if (inserted + updated > 0) await bumpSeq(client, this.collectionName, { docs: inserted, terms });
          return { inserted, updated, unchanged: prepared.length - inserted - updated, embedded: 0 };
        }));
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Deletes documents by id (unknown ids are ignored). Returns how many were deleted. Atomic. */
  delete(ids: readonly string[]): Promise<number> {
    try {
      this.#assertWritable();
      const list = inLockOrder([...new Set(checkIds(ids, noNul))].map((id) => ({ id }))).map((d) => d.id);
      if (list.length === 0) return Promise.resolve(0);
      return this.#exclusive(() => this.#db('deleting documents', () => inRetriedTransaction(this.#pool, async (client) => {
        let deleted = 0;
        let terms = 0;
        for (const part of chunks(list, ROWS_PER_STATEMENT * 10)) {
          // the rows locked in the writers' order first (DELETE alone locks them in the order it finds them)
          await client.query(`SELECT 1 FROM ${this.#table} WHERE id = ANY($1::text[]) ORDER BY id COLLATE "C" FOR UPDATE`, [part]);
          const { rowCount } = await client.query(`DELETE FROM ${this.#table} WHERE id = ANY($1::text[])`, [part]);
          deleted += rowCount ?? 0;
          if ((rowCount ?? 0) > 0) terms += await deletePostings(client, this.#names.terms, part);
        }
        if (deleted > 0) await bumpSeq(client, this.collectionName, { docs: -deleted, terms: -terms });
        this.#search.forgetSelectivity();
        return deleted;
      })));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Deletes every document (or chunk) whose metadata match the filter. Returns how many were deleted. Atomic. */
  deleteWhere(filter: MetadataFilter): Promise<number> {
    try {
      this.#assertWritable();
      checkDeleteFilter(filter);
      const params = new SqlParams();
      const where = this.#search.where(parseFilter(filter), params, true);
      return this.#exclusive(() => this.#db('deleting documents', () => inRetriedTransaction(this.#pool, async (client) => {
        await client.query(`SELECT 1 FROM ${this.#table} WHERE ${where} ORDER BY id COLLATE "C" FOR UPDATE`, params.values);
        const { rows } = await client.query<{ id: string }>(`DELETE FROM ${this.#table} WHERE ${where} RETURNING id`, params.values);
        if (rows.length > 0) {
          const terms = await deletePostings(client, this.#names.terms, rows.map((r) => r.id));
          await bumpSeq(client, this.collectionName, { docs: -rows.length, terms: -terms });
        }
        this.#search.forgetSelectivity();
        return rows.length;
      })));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Every write is committed before its call returns: nothing to flush. */
  flush(): Promise<void> {
    try {
      this.#assertOpen();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Waits for calls in flight and closes the connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#calls.settled();
    await this.#pool.end();
  }

  // ---------------------------------------------------------------- reads

  /** The documents with these ids, in the same order; undefined where an id is not stored. */
  get(ids: readonly string[], options: { vectors?: boolean } = {}): Promise<(StoredDocument | undefined)[]> {
    try {
      this.#assertOpen();
      const list = checkIds(ids, noNul);
      if (list.length === 0) return Promise.resolve([]);
      return this.#calls.track(this.#db('reading documents', async () => {
        const byId = new Map<string, StoredDocument>();
        const vectorColumn = options.vectors ? `, vector_send(embedding${this.vectorType === 'vector' ? '' : '::vector'}) AS v` : '';
        for (const part of chunks([...new Set(list)], ROWS_PER_STATEMENT * 10)) {
          const { rows } = await this.#pool.query<{ id: string; text: string; metadata: Metadata; v?: Buffer }>(
            `SELECT id, text, metadata${vectorColumn} FROM ${this.#table} WHERE id = ANY($1::text[])`,
            [part],
          );
          for (const r of rows) {
            const doc: StoredDocument = { id: r.id, text: r.text, metadata: r.metadata };
            byId.set(r.id, options.vectors ? { ...doc, vector: fromVectorSend(r.v!, this.dims, r.id) } : doc);
          }
        }
        return list.map((id) => byId.get(id));
      }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Number of documents: the registry row's doc_count, which every write's transaction keeps exact, so
   * one row is read whatever the collection's size (/metrics and GET /collections ask often). A
   * collection made before keyword search and opened read-only has none yet: counted with count(*).
   */
  async count(): Promise<number> {
    this.#assertOpen();
    return this.#db('counting documents', async () => {
      if (this.searchModes.length > 1) {
        const { rows } = await this.#pool.query<{ n: string | null }>(`SELECT doc_count::text AS n FROM ${REGISTRY_TABLE} WHERE name = $1`, [this.collectionName]);
        if (rows.length === 0) throw new BiencoderError('NOT_FOUND', `the collection ${JSON.stringify(this.collectionName)} was dropped while it was open`);
        if (rows[0].n !== null) return Number(rows[0].n);
      }
      const { rows } = await this.#pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${this.#table}`);
      return Number(rows[0].n);
    });
  }

  async info(): Promise<PgvectorInfo> {
    this.#assertOpen();
    const count = await this.count();
    const state = await this.#db('reading the collection', async () => {
      const { rows } = await this.#pool.query<{ seq: string; index_valid: boolean | null }>(
        `SELECT seq::text AS seq, (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($2)) AS index_valid FROM ${REGISTRY_TABLE} WHERE name = $1`,
        [this.collectionName, quoteIdent(this.#names.index)],
      );
      if (rows.length === 0) throw new BiencoderError('NOT_FOUND', `the collection ${JSON.stringify(this.collectionName)} was dropped while it was open`);
      return { seq: Number(rows[0].seq), indexBuilt: rows[0].index_valid === true, partitions: await partitionCount(this.#pool, this.#names.table) };
    });
    return {
      store: 'pgvector', url: this.url, collection: this.collectionName, table: this.#names.table, vectorType: this.vectorType,
      index: this.manifest.index, pgvectorVersion: this.pgvectorVersion, count, keyword: this.searchModes.length > 1, ...state,
    };
  }

  /**
   * Builds the HNSW index of a collection created with deferIndex (a no-op when it exists, or for a
   * flat collection); returns whether an index was built. The build is CONCURRENTLY: writers, in this
   * process or others, go on meanwhile (this handle's own writes wait for it). A build that failed
   * midway leaves an invalid index, which the next call drops and builds again; builds of one collection
   * run one at a time across processes (a session advisory lock), so a second call waits for the first
   * and then finds the index built. PostgreSQL builds no
   * index on a partitioned table concurrently: the parent's index is made ON ONLY the parent, each
   * partition's concurrently and attached to it, and the parent's is valid once all are.
   */
  buildIndex(options: BuildIndexOptions = {}): Promise<boolean> {
    try {
      this.#assertWritable();
      const spec = this.manifest.index;
      if (spec.kind !== 'hnsw') return Promise.resolve(false);
      const memory = options.maintenanceWorkMem ?? '256MB';
      if (typeof memory !== 'string' || !/^\d+\s*(kB|MB|GB)$/.test(memory)) throw invalid(`maintenanceWorkMem must look like '256MB', got ${JSON.stringify(memory)}`);
      const names = this.#names;
      return this.#exclusive(() => this.#db('building the HNSW index', async () => {
        const client = await this.#pool.connect();
        let broken = false;
        // Builds of one collection, from any process, run one at a time (a session lock held for the build):
        // an invalid index seen while holding it is one a failed build left, never one another build is making.
        const buildLock = `biencoder_build:${this.collectionName}`;
        try {
          // Polled, not waited for inside a statement: a waiting statement holds a snapshot, which the
          // running CREATE INDEX CONCURRENTLY would wait for in turn (a deadlock).
          while (!(await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [buildLock])).rows[0].ok) {
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          const valid = async (index: string): Promise<boolean | undefined> => {
            const { rows } = await client.query<{ v: boolean }>('SELECT indisvalid AS v FROM pg_index WHERE indexrelid = to_regclass($1)', [quoteIdent(index)]);
            return rows[0]?.v;
          };
          if (await valid(names.index) === true) return false;
          await client.query(`SELECT set_config('maintenance_work_mem', $1, false)`, [memory]);
          const partitions = await partitionCount(client, names.table);
          const build = async (index: string, table: string, how: { concurrently?: boolean; only?: boolean }): Promise<void> => {
            // an invalid index left by a build that failed midway is dropped first (IF NOT EXISTS would keep it)
            if (await valid(index) === false) await client.query(`DROP INDEX ${how.concurrently ? 'CONCURRENTLY ' : ''}IF EXISTS ${quoteIdent(index)}`);
            await client.query(hnswIndexDdl({ index, table }, this.vectorType, this.metric, spec, how));
          };
          if (partitions === 0) {
            await build(names.index, names.table, { concurrently: true });
          } else {
            await client.query(hnswIndexDdl(names, this.vectorType, this.metric, spec, { only: true }));
            for (let i = 0; i < partitions; i++) {
              const index = partitionIndexName(names.table, i);
              const { rows } = await client.query('SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1)', [quoteIdent(index)]);
              if (rows.length > 0) continue; // built and attached by an earlier call
              await build(index, partitionName(names.table, i), { concurrently: true });
              await client.query(`ALTER INDEX ${quoteIdent(names.index)} ATTACH PARTITION ${quoteIdent(index)}`);
            }
          }
          return true;
        } catch (error) {
          broken = sqlState(error) === undefined;
          throw error;
        } finally {
          await client.query('RESET maintenance_work_mem').catch(() => {
            broken = true;
          });
          await client.query('SELECT pg_advisory_unlock(hashtext($1))', [buildLock]).catch(() => {
            broken = true; // a session that may still hold the lock is not reused
          });
          client.release(broken);
        }
      }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The k nearest documents to a text (embedded as a query) or a vector; keyword and hybrid modes take a text, or { text, vector }. */
  async search(query: string | Float32Array | TextWithVector, options: SearchOptions = {}): Promise<SearchHit[]> {
    return (await this.searchBatch([query] as readonly (string | Float32Array)[], options))[0];
  }

  /** search() for many queries at once (texts are embedded in one call): one result list per query. */
  searchBatch(queries: readonly (string | Float32Array | TextWithVector)[] | Matrix, options: SearchOptions = {}): Promise<SearchHit[][]> {
    try {
      this.#assertOpen();
      const k = searchK(options);
      const mode = checkSearchMode(options.mode ?? 'dense');
      if (!this.searchModes.includes(mode)) {
        throw new BiencoderError('UNSUPPORTED', `${mode} search needs the keyword postings of the collection at ${this.url}, which was made before keyword search and opened read-only: open it once for writing to build them`);
      }
      const filter = options.filter === undefined ? undefined : parseFilter(options.filter);
      if (filter !== undefined) compileFilterToSql(filter, new SqlParams()); // validates values (NUL) before any work
      if (mode !== 'dense') {
        const { texts, vectors } = checkTextQueries(queries, mode, this.dims, this.metric, noNul);
        checkKeywordOptions(options.keyword);
        const hybrid = mode === 'hybrid' ? resolveHybridOptions(options.hybrid, k) : undefined;
        return this.#calls.track(this.#search.keywordOrHybrid(texts, vectors, k, filter, options, hybrid));
      }
      checkDenseQueries(queries);
      return this.#calls.track(this.#search.dense(queries as readonly (string | Float32Array)[] | Matrix, k, filter, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

}

/** The name of partition i's HNSW index (63 characters at most for a 48-character collection name). */
function partitionIndexName(table: string, i: number): string {
  return `${partitionName(table, i)}_h`;
}
