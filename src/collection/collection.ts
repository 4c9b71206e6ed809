/**
 * A persistent collection: documents, metadata and vectors of one encoder in a directory.
 *
 *   DIR/manifest.json   format version, encoder identity, dims, metric, index spec, times
 *   DIR/collection.db   SQLite (WAL, synchronous=FULL): documents, metadata, the authoritative f32
 *                       vectors, the change sequence and tombstones (see store.ts)
 *   DIR/index-SEQ.bin   the vector index: derived state, saved on flush()/close() with the change
 *                       sequence it reflects; caught up (or rebuilt) from collection.db on open
 *   DIR/index-SEQ.bin.postings   the keyword (BM25) index of the same checkpoint (src/keyword):
 *                       derived from the texts, saved, caught up and rebuilt with the vector index
 *   DIR/writer.lock     held by the one writer (see lock.ts)
 *
 * Crash safety: every upsert/delete is one SQLite transaction (document, metadata and vector
 * together), committed with an fsync before the call returns. Nothing else is authoritative, so a
 * crash at any moment leaves the last committed state; the index file is replaced atomically
 * (temporary file, fsync, rename) and only then is its sequence recorded, so the recorded sequence
 * is never ahead of the file. Texts are embedded before the transaction opens: a batch that fails
 * to embed (or fails validation) writes nothing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BiencoderError, throwIfAborted } from '../errors.ts';
import type { Encoder, Metric, Prompts } from '../encoders/encoder.ts';
import type { Matrix } from '../matrix.ts';
import type { IndexMatches, IndexMetric, IndexSearchOptions, VectorIndex } from '../index/vector-index.ts';
import { createIndex, resolveIndexSpec, type IndexSpec, type IndexSpecInput } from './index-backend.ts';
import { checkDeleteFilter, parseFilter, compileFilterNode, type Metadata, type MetadataFilter, type FilterNode, type JsonValue } from './filter.ts';
import { fsyncDir, fsyncPath, writeFileAtomic } from './fs-util.ts';
import { adapterRecord, loadRecordedAdapter, loadedAdapter, type LoadedAdapter } from './query-adapter-record.ts';
import type { QueryAdapter } from '../tune/query-adapter.ts';
import { acquireWriterLock, WriterLock } from './lock.ts';
import { assertCollectionWritable, isPermissionDenied, permissionError } from './permissions.ts';
import { CurrentDatabase, type HeldDatabase } from './current-database.ts';
import { databaseError } from './sqlite-errors.ts';
import { CallQueue } from './call-queue.ts';
import { emptyDirectoryAt, removeCollectionDirectory } from './remove-collection.ts';
import {
  DATABASE_FILE, FORMAT_VERSION, MANIFEST_FILE, MANIFEST_FORMAT, readManifest, writeManifest, type Manifest,
} from './manifest.ts';
import { addAll, indexFileGroup, indexFileName, isIndexTemporary, listIndexFiles, loadSavedIndex, replayChanges } from './index-sync.ts';
import { blobToVector, createDatabase, openDatabase, readMetaState, vectorToBlob, type Db, type Statements } from './store.ts';
import {
  checkDenseQueries, checkEmbeddings, checkEncoderMatches, checkIds, checkTextQueries, identityOf, invalid, isEncoder, isTextWithVector,
  prepareTextDocuments, prepareVectorDocuments, queryMatrix, searchK, type PreparedDocument, type TextWithVector,
} from './document-input.ts';
import { createAnalyzer, sameAnalyzerSpec, type Analyzer, type AnalyzerSpec } from '../analysis/index.ts';
import { InvertedIndex } from '../keyword/inverted-index.ts';
import { searchTopK, type KeywordTopK } from '../keyword/keyword-search.ts';
import { checkKeywordOptions, type KeywordQueryOptions } from './keyword-query.ts';
import { openKeywordIndex, replayKeywordChanges, saveKeywordIndex } from './keyword-sync.ts';
import { fuseRankings, resolveHybridOptions, type HybridOptions, type Scored } from '../retriever/fusion.ts';
import { convexFusionByKey } from '../retriever/keyed-fusion.ts';

/** How search() ranks: dense vectors (default), BM25 over the texts, or both fused. */
export type SearchMode = 'dense' | 'keyword' | 'hybrid';
export const SEARCH_MODES: readonly SearchMode[] = ['dense', 'keyword', 'hybrid'];

/** A search mode option: one of SEARCH_MODES (INVALID_ARGUMENT otherwise). */
export function checkSearchMode(mode: unknown): SearchMode {
  if (!SEARCH_MODES.includes(mode as SearchMode)) throw invalid(`mode must be one of ${SEARCH_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  return mode as SearchMode;
}

/**
 * The default index of a cosine collection: HNSW over int8 graph vectors, every result rescored against the
 * stored f32 vectors (M 16, efConstruction 128, efSearch 128, rescore x4). Chosen by measurement over f32:
 * the same nDCG@10 as exact search on scifact, cranfield and cisi (bench:quality), more queries/s at
 * recall@10 0.95 on GloVe-100 (bench:ann), and a graph built ~3.6x faster (usearch's f32 kernels
 * accumulate in f64), which keeps ingest of a large file linear (bench:ingest).
 */
export const DEFAULT_COLLECTION_INDEX: IndexSpec = resolveIndexSpec({ kind: 'hnsw', quantization: 'i8' });

/**
 * The default index for vectors compared by dot product or L2: HNSW over f32. Their scale is the model's,
 * so one int8 scale fitted to the first batch (as i8 uses) could clamp later rows.
 */
export const DEFAULT_UNNORMALIZED_INDEX: IndexSpec = resolveIndexSpec({ kind: 'hnsw' });

/** The default index of a new directory collection with this metric. */
export function defaultCollectionIndex(metric: IndexMetric): IndexSpec {
  return metric === 'cosine' ? DEFAULT_COLLECTION_INDEX : DEFAULT_UNNORMALIZED_INDEX;
}

/** Describes the model of vectors computed elsewhere (for collections filled with upsertVectors only). */
export interface EncoderDescriptor {
  readonly modelId: string;
  readonly revision?: string | null;
  readonly dims: number;
  /** Default false. */
  readonly normalized?: boolean;
  /** Default 'cosine'. */
  readonly similarity?: Metric;
  readonly prompts?: Prompts;
}

export interface OpenCollectionOptions {
  /** The encoder for upsert() and text queries; it must be the model the collection was created with. */
  readonly encoder?: Encoder;
  /** Open without the writer lock, for reading alongside a writer (or other readers). Default false. */
  readonly readOnly?: boolean;
  /**
   * Persist the index automatically once this many vector changes are unsaved (bounding the work
   * of catching up after a crash). Default max(50,000, 25% of the collection). Infinity: only on
   * flush() and close().
   */
  readonly autoFlushChanges?: number;
}

export interface CreateCollectionOptions extends Omit<OpenCollectionOptions, 'encoder' | 'readOnly'> {
  /** The encoder whose vectors the collection holds, or a description of it for upsertVectors-only use. */
  readonly encoder: Encoder | EncoderDescriptor;
  /**
   * Default defaultCollectionIndex(metric): HNSW over i8 + f32 rescoring for cosine, HNSW f32 for dot and
   * l2. Missing HNSW parameters take their defaults; the full spec is stored in the manifest.
   */
  readonly index?: IndexSpecInput;
  /** Default: the encoder's similarity (cosine, dot or l2). */
  readonly metric?: IndexMetric;
  /**
   * The language of keyword search (BM25): how texts and queries are cut into words, folded,
   * stemmed, and which stopwords queries drop (src/analysis). An ISO 639-1 code from
   * ANALYZER_LANGUAGES, 'english' (= 'en'), or 'auto' for collections that mix languages (every
   * script segmented and folded, no stemming, no stopwords). Default 'en'. Fixed at creation.
   */
  readonly language?: string;
}

export interface DocumentInput {
  /**
   * A non-empty string of at most MAX_DOCUMENT_ID_LENGTH (1000) characters, unique within the collection,
   * not ending in `#<n>` (chunk ids, up to 1024 characters, need WriteOptions.chunkRows).
   */
  readonly id: string;
  readonly text: string;
  /** A plain JSON object; default {}. */
  readonly metadata?: Metadata;
}

export interface VectorDocumentInput {
  readonly id: string;
  /** dims finite numbers (not all zero). */
  readonly vector: Float32Array | readonly number[];
  /** Default ''. */
  readonly text?: string;
  readonly metadata?: Metadata;
}

export interface StoredDocument {
  readonly id: string;
  readonly text: string;
  readonly metadata: Metadata;
  /** Present when get() was asked for vectors. */
  readonly vector?: Float32Array;
}

export interface SearchHit {
  readonly id: string;
  /** The index similarity: higher is better (cosine, dot, or negated euclidean distance). */
  readonly score: number;
  readonly text: string;
  readonly metadata: Metadata;
}

export interface SearchOptions {
  /** Results per query; default 10. */
  readonly k?: number;
  /** Only documents whose metadata match (see filter.ts); k results are returned whenever k match. */
  readonly filter?: MetadataFilter;
  /** HNSW efSearch for this search. */
  readonly ef?: number;
  readonly signal?: AbortSignal;
  /**
   * 'dense' (default): vector similarity. 'keyword': BM25 over the document texts (src/keyword: the
   * formula of SQLite FTS5's bm25(), higher is better). 'hybrid': dense and keyword candidates fused
   * (see `hybrid`); scores are the fused scores. keyword and hybrid take text queries, or
   * { text, vector } queries whose vector is the query's embedding (computed elsewhere: no encoder
   * needed); a bare vector is INVALID_ARGUMENT. Metadata filters apply in every mode, during the search.
   */
  readonly mode?: SearchMode;
  /** Hybrid fusion: { fusion: 'convex' (default) | 'rrf', weight?, normalization?, rrfK?, candidates? }; defaults and meanings in src/retriever/fusion.ts (HybridOptions). */
  readonly hybrid?: HybridOptions;
  /** Keyword query analysis: { stopwords: 'default' (the collection language's, also spelled 'english') | 'none' }. */
  readonly keyword?: KeywordQueryOptions;
  /**
   * false: embed text queries without the collection's query adapter (to compare). Default true: a
   * collection's adapter applies to every text query it embeds. Query vectors you pass are used as given.
   */
  readonly adapter?: boolean;
}

/** Options of embedQueries(). */
export interface EmbedQueriesOptions {
  /** false: without the collection's query adapter. Default true. */
  readonly adapter?: boolean;
  readonly signal?: AbortSignal;
}

export interface WriteOptions {
  readonly signal?: AbortSignal;
  /**
   * The batch may hold chunk rows (what chunked ingest writes): ids `parent#n` whose metadata._chunk is
   * { parent, index: n, start, end }. Without it, ids ending in `#<n>` and the `_chunk` key are reserved
   * (see document-input.ts). Default false.
   */
  readonly chunkRows?: boolean;
  /**
   * The batch is a copy of rows a collection stored (a migration): they were checked when they were
   * written, under the rules of that time, so only their shape is checked now (ids of at most 1024
   * characters, plain JSON metadata, vectors, and what this store cannot hold), not the reserved
   * names of chunks (`#<n>` ids, the `_chunk` key) or the `__proto__` key. Implies chunkRows. Default false.
   */
  readonly storedRows?: boolean;
}

export interface WriteResult {
  /** New documents. */
  readonly inserted: number;
  /** Existing documents whose text, vector or metadata changed. */
  readonly updated: number;
  /** Documents that were already stored exactly so. */
  readonly unchanged: number;
  /** Texts embedded by this call (new or changed texts only). */
  readonly embedded: number;
}

/** How the index was obtained when the collection was opened. */
export interface IndexOpenStatus {
  /** loaded: the file was current; caught-up: changes after the file were replayed; rebuilt: built from the stored vectors. */
  readonly action: 'loaded' | 'caught-up' | 'rebuilt';
  /** Changes replayed (caught-up) or vectors indexed (rebuilt). */
  readonly replayed: number;
  /** Why the index was rebuilt. */
  readonly reason?: string;
  readonly seconds: number;
}

export interface CollectionInfo {
  readonly count: number;
  /** The sequence number of the last committed write. */
  readonly seq: number;
  /** The sequence the saved index file reflects. */
  readonly savedIndexSeq: number;
  readonly indexSize: number;
  /** Vector changes not yet in the saved index file. */
  readonly unsavedChanges: number;
}

function metricFor(similarity: Metric): IndexMetric {
  if (similarity === 'manhattan') {
    throw new BiencoderError('INVALID_ARGUMENT', 'the encoder was trained for manhattan distance, which the indexes do not support; pass metric (cosine, dot or l2)');
  }
  return similarity;
}

function removeTemporaries(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (isIndexTemporary(name) || name.startsWith(`${MANIFEST_FILE}.tmp-`)) rmSync(join(dir, name), { force: true });
  }
}

interface FilterBits {
  readonly gen: number;
  /** Whether a key matches: a test of the bitset over keys. */
  readonly accept: (key: number) => boolean;
  readonly count: number;
}

export class Collection {
  readonly dir: string;
  #manifest: Manifest;
  /** The query adapter the manifest records, loaded at open (or the error its text queries meet). */
  #adapter: LoadedAdapter;
  readonly readOnly: boolean;
  readonly dims: number;
  readonly metric: IndexMetric;
  readonly searchModes: readonly SearchMode[] = SEARCH_MODES;
  /** How the index was obtained at open. */
  indexStatus: IndexOpenStatus;

  readonly #dbPath: string;
  /** The connection: replaced under a reader whose snapshot of the database is out of date (see #refreshReader). */
  readonly #conn: CurrentDatabase;
  readonly #lock: WriterLock | undefined;
  readonly #encoder: Encoder | undefined;
  readonly #autoFlushChanges: number | undefined;
  #index: VectorIndex;
  /** The keyword (BM25) index: derived from the texts, kept with the vector index (same sequence, same checkpoints). */
  #keyword: InvertedIndex;
  readonly #analyzer: Analyzer;
  /** How the keyword index was obtained when the collection was opened (as indexStatus for the vector index). */
  keywordStatus: IndexOpenStatus;
  /** The last committed write sequence (writer: authoritative; reader: as of the last refresh). */
  #seq = 0;
  /** The sequence the in-memory index reflects. */
  #indexSeq = 0;
  /** The sequence recorded for the saved index file. */
  #savedIndexSeq = 0;
  #unsaved = 0;
  #dataChanged = false;
  /** Bumped at every committed write (and reader refresh) to invalidate cached filter results. */
  #gen = 0;
  #dataVersion = 0;
  /** The connection version (CurrentDatabase.version) the index was loaded from. */
  #indexVersion = 0;
  /** A reader's catch-up in progress, which concurrent calls share (see #catchUp). */
  #readerCatchUp: Promise<void> | undefined;
  readonly #calls = new CallQueue();
  #closed = false;
  #filterCache = new Map<string, FilterBits>();

  private constructor(init: {
    dir: string; manifest: Manifest; readOnly: boolean; db: Db; lock: WriterLock | undefined; encoder: Encoder | undefined;
    autoFlushChanges: number | undefined; index: VectorIndex; status: IndexOpenStatus; analyzer: Analyzer; adapter: LoadedAdapter;
  }) {
    this.dir = init.dir;
    this.#manifest = init.manifest;
    this.#adapter = init.adapter;
    this.readOnly = init.readOnly;
    this.dims = init.manifest.dims;
    this.metric = init.manifest.metric;
    this.#dbPath = join(init.dir, DATABASE_FILE);
    this.#conn = new CurrentDatabase(init.db, this.#dbPath, () => openDatabase(this.#dbPath, { readOnly: true, dims: this.dims, verify: true }));
    this.#lock = init.lock;
    this.#encoder = init.encoder;
    this.#autoFlushChanges = init.autoFlushChanges;
    this.#index = init.index;
    this.indexStatus = init.status;
    this.#analyzer = init.analyzer;
    this.#keyword = new InvertedIndex(init.analyzer);
    this.keywordStatus = init.status;
  }

  /** The encoder identity, dims, metric, index spec, analyzer and query adapter the collection was made with. */
  get manifest(): Manifest {
    return this.#manifest;
  }

  /** The query adapter applied to text queries (see setQueryAdapter), if any (undefined too when it could not be loaded). */
  get queryAdapter(): QueryAdapter | undefined {
    return this.#adapter.adapter;
  }

  /** The adapter text queries go through; the load error when the recorded one could not be loaded. */
  #activeAdapter(): QueryAdapter | undefined {
    if (this.#adapter.error !== undefined) throw this.#adapter.error;
    return this.#adapter.adapter;
  }

  /**
   * Stores a query adapter (trainQueryAdapter) with the collection: its file, then the manifest naming
   * it by checksum (an interrupted call leaves the previous state), then the previous file is removed.
   * From then on every text query this collection embeds goes through it (every door: library, CLI,
   * server, integrations); documents and their vectors are not touched.
   */
  setQueryAdapter(adapter: QueryAdapter, options: { readonly validation?: Readonly<Record<string, unknown>> } = {}): Promise<void> {
    try {
      this.#assertWritable();
      const { bytes, record } = adapterRecord(adapter, this.#manifest, options.validation);
      return this.#exclusive(async () => {
        const previous = this.#manifest.queryAdapter;
        try {
          writeFileAtomic(join(this.dir, record.file), bytes);
          this.#writeManifest({ ...this.#manifest, queryAdapter: record });
        } catch (error) {
          throw this.#fsError(error);
        }
        this.#adapter = { adapter };
        if (previous !== undefined && previous.file !== record.file) rmSync(join(this.dir, previous.file), { force: true });
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Removes the collection's query adapter; resolves whether there was one. */
  removeQueryAdapter(): Promise<boolean> {
    try {
      this.#assertWritable();
      return this.#exclusive(async () => {
        const previous = this.#manifest.queryAdapter;
        if (previous === undefined) return false;
        const { queryAdapter: _removed, ...rest } = this.#manifest;
        void _removed;
        try {
          this.#writeManifest(rest);
        } catch (error) {
          throw this.#fsError(error);
        }
        this.#adapter = {};
        rmSync(join(this.dir, previous.file), { force: true });
        return true;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #writeManifest(manifest: Manifest): void {
    const updated = { ...manifest, updatedAt: new Date().toISOString() };
    writeManifest(this.dir, updated);
    this.#manifest = updated;
  }

  #fsError(error: unknown): unknown {
    return isPermissionDenied(error) ? permissionError(this.dir, 'store the query adapter', error) : error;
  }

  /** Text queries embedded as searches embed them: the collection's encoder, then its query adapter unless adapter is false. */
  async embedQueries(texts: readonly string[], options: EmbedQueriesOptions = {}): Promise<Matrix> {
    this.#assertOpen();
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw invalid('embedQueries takes an array of strings');
    return this.#queryMatrix(texts, options);
  }

  /** The keyword analyzer's identity (language, name, version), as recorded in the manifest. */
  get analyzer(): AnalyzerSpec {
    return this.#analyzer.spec;
  }

  get #db(): Db {
    return this.#conn.db;
  }

  get #st(): Statements {
    return this.#conn.st;
  }

  /**
   * Creates a collection in `dir` (which must not exist, or be empty) and opens it for writing.
   * The files are written into a sibling temporary directory and renamed into place, so a crash
   * never leaves a half-created collection at `dir`. When create fails after the rename (opening
   * the new collection, say), it takes the collection back: `dir` is left as it was found (an empty
   * directory is put back empty, see remove-collection.ts).
   */
  static async create(dir: string, options: CreateCollectionOptions): Promise<Collection> {
    if (typeof dir !== 'string' || dir === '') throw invalid('dir must be a non-empty path');
    if (typeof options !== 'object' || options === null) throw invalid('options must be an object with an encoder');
    const identity = identityOf(options.encoder);
    const metric = options.metric ?? metricFor(identity.similarity);
    if (!['cosine', 'dot', 'l2'].includes(metric)) throw invalid(`metric must be cosine, dot or l2, got ${String(metric)}`);
    const spec = resolveIndexSpec(options.index ?? defaultCollectionIndex(metric));
    const analyzer = createAnalyzer(options.language === undefined ? 'en' : options.language);
    createIndex(spec, { dims: identity.dims, metric }); // validates the spec against dims and metric
    const target = resolve(dir);
    if (existsSync(target)) {
      if (!statSync(target).isDirectory()) throw invalid(`${target} exists and is not a directory`);
      if (existsSync(join(target, MANIFEST_FILE))) throw new BiencoderError('ALREADY_EXISTS', `a collection already exists at ${target}; use Collection.open`, { details: { dir: target } });
      if (readdirSync(target).length > 0) throw invalid(`${target} is not empty and is not a collection`);
    }
    const emptyDir = emptyDirectoryAt(target);
    const parent = dirname(target);
    const tmp = join(parent, `.${basename(target)}.creating-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      mkdirSync(parent, { recursive: true });
      mkdirSync(tmp);
    } catch (error) {
      // mkdir names the directory it could not make; the one refusing it is where it would go
      const denied = (error as NodeJS.ErrnoException).path;
      if (isPermissionDenied(error)) throw permissionError(denied === undefined ? parent : dirname(denied), `create the collection ${target}`, error);
      throw error;
    }
    const now = new Date().toISOString();
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      formatVersion: FORMAT_VERSION,
      encoder: identity,
      dims: identity.dims,
      metric,
      normalized: identity.normalized,
      index: spec,
      keyword: { analyzer: analyzer.spec },
      createdAt: now,
      updatedAt: now,
    };
    let lock: WriterLock | undefined;
    try {
      createDatabase(join(tmp, DATABASE_FILE), identity.dims);
      writeManifest(tmp, manifest);
      fsyncPath(join(tmp, DATABASE_FILE));
      // The lock moves in with the files: from the moment the collection appears at `target` its
      // creator holds the writer lock, so a concurrent writer gets COLLECTION_LOCKED, not a collection
      // it could open before its creator does.
      lock = acquireWriterLock(tmp);
      fsyncDir(tmp);
      try {
        renameSync(tmp, target); // replaces an empty directory atomically on POSIX
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new BiencoderError('ALREADY_EXISTS', `${target} was created concurrently`, { details: { dir: target } });
        if (isPermissionDenied(error)) throw permissionError(parent, `create the collection ${target}`, error);
        throw error;
      }
    } catch (error) {
      lock?.release();
      rmSync(tmp, { recursive: true, force: true });
      throw error;
    }
    // The collection, its lock file included, is at `target` now: the lock is released from there.
    const placed = new WriterLock(target, lock.holder);
    try {
      fsyncDir(parent);
      const encoder = isEncoder(options.encoder) ? options.encoder : undefined;
      return await Collection.#openLocked(target, manifest, { readOnly: false, encoder, autoFlushChanges: options.autoFlushChanges }, placed);
    } catch (error) {
      placed.release(); // (#openLocked released it already if it failed)
      try {
        // Under the writer lock again: kept if another process took it and wrote meanwhile.
        removeCollectionDirectory(target, { onlyIfUnwritten: true, restore: emptyDir });
      } catch {
        // kept: another writer holds it, or it cannot be removed; the original error matters more
      }
      throw error;
    }
  }

  /**
   * Opens an existing collection. Writers take the writer lock (COLLECTION_LOCKED if another
   * writer holds it; a lock left by a dead process is recovered; PERMISSION without write access to
   * the directory and its files); readOnly opens take no lock and need only read access. A damaged
   * database file is COLLECTION_CORRUPT, here or at any later call that meets the damage.
   * The index is loaded and caught up with writes made after it was saved, or rebuilt from the
   * stored vectors when its file is missing or unreadable. No text is ever re-embedded.
   */
  static async open(dir: string, options: OpenCollectionOptions = {}): Promise<Collection> {
    if (typeof dir !== 'string' || dir === '') throw invalid('dir must be a non-empty path');
    const target = resolve(dir);
    const manifest = readManifest(target);
    const readOnly = options.readOnly ?? false;
    if (options.encoder !== undefined) {
      if (!isEncoder(options.encoder)) throw invalid('encoder must be an Encoder (with encode())');
      checkEncoderMatches(manifest.encoder, options.encoder, target, { dir: target });
    }
    const autoFlush = options.autoFlushChanges;
    if (autoFlush !== undefined && !(autoFlush > 0)) throw invalid(`autoFlushChanges must be a positive number or Infinity, got ${autoFlush}`);
    if (!readOnly) assertCollectionWritable(target); // PERMISSION naming the path, before the lock file is attempted
    const lock = readOnly ? undefined : acquireWriterLock(target);
    return Collection.#openLocked(target, manifest, { readOnly, encoder: options.encoder, autoFlushChanges: autoFlush }, lock);
  }

  /**
   * Opens the database (verified with SQLite's quick_check: a damaged file is COLLECTION_CORRUPT
   * before anything is served from it or written into it) and the index; `lock` is the writer lock
   * a writer holds, released on failure.
   */
  static async #openLocked(
    target: string, opened: Manifest, options: { readOnly: boolean; encoder: Encoder | undefined; autoFlushChanges: number | undefined }, lock: WriterLock | undefined,
  ): Promise<Collection> {
    const { readOnly } = options;
    let manifest = opened;
    const dbPath = join(target, DATABASE_FILE);
    let db: Db | undefined;
    try {
      if (!readOnly) removeTemporaries(target);
      db = openDatabase(dbPath, { readOnly, dims: manifest.dims, verify: true });
      const analyzer = createAnalyzer(manifest.keyword?.analyzer.language ?? 'en');
      const recorded = manifest.keyword?.analyzer;
      if (recorded !== undefined && recorded.version > analyzer.spec.version) {
        throw new BiencoderError('UNSUPPORTED_FORMAT', `the collection at ${target} was indexed with keyword analyzer ${recorded.name}@${recorded.version}; this biencoder has ${analyzer.spec.name}@${analyzer.spec.version} (upgrade biencoder)`, { details: { dir: target } });
      }
      if (!readOnly && !sameAnalyzerSpec(recorded, analyzer.spec)) {
        // Made before analyzers (English), or by an older analyzer version: record the one in use (the postings are rebuilt below).
        manifest = { ...manifest, keyword: { analyzer: analyzer.spec } };
        writeManifest(target, manifest);
      }
      const placeholder = createIndex(manifest.index, { dims: manifest.dims, metric: manifest.metric });
      const adapter: LoadedAdapter = manifest.queryAdapter === undefined ? {} : loadedAdapter(() => readAdapterFile(target, manifest));
      const c = new Collection({
        dir: target, manifest, readOnly, db, lock, encoder: options.encoder, autoFlushChanges: options.autoFlushChanges,
        index: placeholder, status: { action: 'loaded', replayed: 0, seconds: 0 }, analyzer, adapter,
      });
      await c.#loadIndex();
      if (!readOnly && (c.indexStatus.action === 'rebuilt' || c.keywordStatus.action === 'rebuilt') && c.#unsaved > 0) await c.#saveIndex();
      return c;
    } catch (error) {
      db?.close();
      lock?.release();
      throw databaseError(error, dbPath);
    }
  }

  /** The encoder given at open or create, if any. */
  get encoder(): Encoder | undefined {
    return this.#encoder;
  }

  // ---------------------------------------------------------------- index lifecycle

  /**
   * Loads the saved index and replays the writes after its sequence, or rebuilds it. Runs inside
   * one read transaction so the sequence, tombstones and documents are one snapshot (a writer may
   * commit meanwhile); the checkpoint is read before the file, and the file is never behind it.
   * The connection is held (CurrentDatabase.hold): a reader's refresh meanwhile neither closes it
   * nor switches this load to another snapshot.
   */
  #loadIndex(): Promise<void> {
    return this.#conn.hold((held) => this.#loadIndexFrom(held));
  }

  async #loadIndexFrom({ db, st, version }: HeldDatabase): Promise<void> {
    const t0 = performance.now();
    db.exec('BEGIN');
    try {
      const meta = readMetaState(db);
      let index: VectorIndex | undefined;
      let indexName: string | undefined;
      let reason: string | undefined;
      if (meta.indexSeq > meta.seq) {
        reason = `the index checkpoint ${meta.indexSeq} is ahead of the database sequence ${meta.seq}`;
      } else if (meta.prunedThrough > meta.indexSeq) {
        reason = 'the deletions after the index checkpoint were pruned';
      } else {
        const saved = await loadSavedIndex(this.dir, this.manifest.index, meta.indexSeq, { dims: this.dims, metric: this.metric });
        if (saved.index !== undefined) {
          index = saved.index;
          indexName = saved.name;
        }
        else if (saved.missing && st.count.get()!.n === 0) index = createIndex(this.manifest.index, { dims: this.dims, metric: this.metric }); // an empty index has no file
        else reason = saved.reason;
      }
      let replayed = 0;
      let action: IndexOpenStatus['action'] = 'loaded';
      if (index !== undefined) {
        replayed = replayChanges(index, st, meta.indexSeq, this.dims);
        if (replayed > 0) action = 'caught-up';
        const count = st.count.get()!.n;
        if (index.size !== count) {
          reason = `the index holds ${index.size} vectors after catching up, the database ${count} documents`;
          index = undefined;
        }
      }
      if (index === undefined) {
        index = createIndex(this.manifest.index, { dims: this.dims, metric: this.metric });
        replayed = addAll(index, st, this.dims);
        action = 'rebuilt';
        indexName = undefined;
      }
      const tk = performance.now();
      const keyword = openKeywordIndex(this.dir, indexName, this.#analyzer, st, meta.indexSeq);
      this.#keyword = keyword.index;
      this.keywordStatus = {
        action: keyword.action, replayed: keyword.replayed, ...(keyword.reason !== undefined && keyword.action === 'rebuilt' ? { reason: keyword.reason } : {}),
        seconds: (performance.now() - tk) / 1000,
      };
      this.#index = index;
      this.#indexVersion = version;
      this.#seq = meta.seq;
      this.#indexSeq = meta.seq;
      this.#savedIndexSeq = action === 'rebuilt' ? -1 : meta.indexSeq;
      this.#unsaved = action === 'loaded' && keyword.action === 'loaded' ? 0 : Math.max(replayed, keyword.replayed, 1);
      this.#dataVersion = db.pragma('data_version', { simple: true }) as number;
      this.#gen++;
      this.#filterCache.clear();
      this.indexStatus = { action, replayed, ...(reason !== undefined && action === 'rebuilt' ? { reason } : {}), seconds: (tk - t0) / 1000 };
    } finally {
      db.exec('COMMIT');
    }
  }

  /**
   * Brings the in-memory index up to the database (after a failed index update, or a reader seeing
   * new commits). A reader's catch-up may reload the index (an await): concurrent calls share the
   * one in progress, since two loads on one connection would nest transactions.
   */
  #catchUp(): Promise<void> {
    if (this.readOnly) {
      this.#readerCatchUp ??= this.#catchUpReader().finally(() => {
        this.#readerCatchUp = undefined;
      });
      return this.#readerCatchUp;
    }
    if (this.#indexSeq !== this.#seq) {
      this.#replayDerived();
      this.#indexSeq = this.#seq;
    }
    return Promise.resolve();
  }

  /** Replays the commits after #indexSeq into the derived indexes (vectors and postings), which share that sequence. */
  #replayDerived(): void {
    replayChanges(this.#index, this.#st, this.#indexSeq, this.dims);
    replayKeywordChanges(this.#keyword, this.#st, this.#indexSeq);
  }

  /**
   * A reader's catch-up: the latest snapshot, then the index reloaded for it, or the commits since
   * the last catch-up replayed. A snapshot replaced while the index reloads (by count() or get())
   * is caught up with in the next round; the rounds are bounded (a later call catches up again).
   */
  async #catchUpReader(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      this.#refreshReader();
      if (this.#indexVersion === this.#conn.version && !this.#replayCommits()) return;
      await this.#loadIndex();
    }
  }

  /** A reader on a live connection: replays the commits since the last catch-up; true when the index must be reloaded instead. */
  #replayCommits(): boolean {
    const dv = this.#readDataVersion();
    if (dv === this.#dataVersion) return false;
    const db = this.#db;
    db.exec('BEGIN');
    try {
      const meta = readMetaState(db);
      if (meta.prunedThrough > this.#indexSeq) return true; // deletions we have not seen were pruned: start over from the saved file
      this.#replayDerived();
      this.#seq = meta.seq;
      this.#indexSeq = meta.seq;
      this.#dataVersion = dv;
      this.#gen++;
      this.#filterCache.clear();
      return false;
    } finally {
      db.exec('COMMIT');
    }
  }

  /**
   * A reader without write access to the directory may read a snapshot of the database (see
   * database-snapshot.ts): once the file changed or a writer opened it, the database is read afresh
   * (a live connection if SQLite can now use the writer's -shm file). Cached reads are dropped; the
   * index is reloaded by the next catch-up (#indexVersion lags). The one place a reader refreshes:
   * through #read() and #catchUpReader().
   */
  #refreshReader(): void {
    if (!this.#conn.refresh()) return;
    this.#gen++;
    this.#filterCache.clear();
  }

  /** A synchronous read of the database: on a reader, from the latest snapshot; SQLite failures translated. */
  #read<T>(read: () => T): T {
    this.#assertOpen();
    try {
      if (this.readOnly) this.#refreshReader();
      return read();
    } catch (error) {
      throw databaseError(error, this.#dbPath);
    }
  }

  #readDataVersion(): number {
    return this.#db.pragma('data_version', { simple: true }) as number;
  }

  /** Saves the index atomically, fsyncs it, then records its sequence and prunes the tombstones it covers. */
  async #saveIndex(): Promise<void> {
    await this.#catchUp();
    const seq = this.#indexSeq;
    const name = indexFileName(seq);
    if (this.#index.size > 0) {
      // The name is not recorded yet, so a crash mid-save leaves an unused (or half-paired) file, never
      // a damaged current index. The index writes its file(s) atomically; make them durable too.
      await this.#index.save(join(this.dir, name));
      saveKeywordIndex(this.#keyword, this.dir, name);
      for (const f of indexFileGroup(this.dir, name)) fsyncPath(join(this.dir, f));
      fsyncDir(this.dir);
    } // else: an empty index is saved as no file at all
    // Only now are the files durable under their name: record it, then drop what it supersedes.
    this.#db.transaction(() => {
      this.#st.setMeta.run(seq, 'index_seq');
      this.#st.pruneTombstones.run(seq);
      this.#st.setMeta.run(seq, 'pruned_through');
    })();
    for (const f of listIndexFiles(this.dir)) {
      if (f.name !== name) for (const g of indexFileGroup(this.dir, f.name)) rmSync(join(this.dir, g), { force: true });
    }
    this.#savedIndexSeq = seq;
    this.#unsaved = 0;
    if (this.#dataChanged) {
      writeManifest(this.dir, { ...this.manifest, updatedAt: new Date().toISOString() });
      this.#dataChanged = false;
    }
  }

  // ---------------------------------------------------------------- plumbing

  #assertOpen(): void {
    if (this.#closed) throw new BiencoderError('CLOSED', `the collection at ${this.dir} is closed`);
  }

  #assertWritable(): void {
    this.#assertOpen();
    if (this.readOnly) throw new BiencoderError('READ_ONLY', `the collection at ${this.dir} was opened read-only`);
  }

  /** Runs writes (and flushes) one at a time, in call order. */
  #exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.#withDbErrors(this.#calls.exclusive(fn, () => this.#assertOpen()));
  }

  /** A call's promise, with SQLite failures as the errors they mean (COLLECTION_CORRUPT, PERMISSION: see sqlite-errors.ts). */
  #withDbErrors<T>(p: Promise<T>): Promise<T> {
    return p.catch((error: unknown) => {
      throw databaseError(error, this.#dbPath);
    });
  }

  #maybeAutoFlush(): Promise<void> | undefined {
    const threshold = this.#autoFlushChanges ?? Math.max(50_000, Math.floor(this.#index.size / 4));
    if (this.#unsaved >= threshold) return this.#saveIndex();
    return undefined;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Inserts or replaces documents by id. Only new texts and texts whose sha256 changed are
   * embedded; an unchanged text keeps its vector (a metadata change is written without embedding).
   * Atomic: validation and embedding happen before the one transaction that writes the batch; on
   * any error nothing of the batch is written. Ids must be unique within a batch.
   */
  upsert(docs: readonly DocumentInput[], options: WriteOptions = {}): Promise<WriteResult> {
    try {
      this.#assertWritable();
      const prepared = prepareTextDocuments(docs, { chunkRows: options.chunkRows, storedRows: options.storedRows });
      if (prepared.length === 0) return Promise.resolve({ inserted: 0, updated: 0, unchanged: 0, embedded: 0 });
      return this.#exclusive(async () => {
        const existing = this.#lookup(prepared);
        const toEmbed = prepared.filter((p) => {
          const old = existing.get(p.id);
          return old === undefined || !old.hash.equals(p.hash);
        });
        if (toEmbed.length > 0) {
          const encoder = this.#encoder;
          if (encoder === undefined) {
            throw new BiencoderError('ENCODER_REQUIRED', `upsert needs to embed ${toEmbed.length} texts but the collection at ${this.dir} was opened without an encoder (pass { encoder } to Collection.open, or use upsertVectors)`);
          }
          throwIfAborted(options.signal);
          const m = await encoder.encode(toEmbed.map((p) => p.text), { role: 'document', signal: options.signal });
          checkEmbeddings(m, toEmbed.length, this.dims);
          toEmbed.forEach((p, i) => {
            p.vector = m.data.slice(i * this.dims, (i + 1) * this.dims);
          });
          this.#assertOpen();
        }
        throwIfAborted(options.signal);
        const result = this.#write(prepared, existing, false);
        await this.#maybeAutoFlush();
        return { ...result, embedded: toEmbed.length };
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Inserts or replaces documents with precomputed vectors (from this collection's model: for
   * bulk loads and migrations). The vectors are stored as given.
   */
  upsertVectors(docs: readonly VectorDocumentInput[], options: WriteOptions = {}): Promise<WriteResult> {
    try {
      this.#assertWritable();
      const prepared = prepareVectorDocuments(docs, this.dims, this.metric, { chunkRows: options.chunkRows, storedRows: options.storedRows });
      if (prepared.length === 0) return Promise.resolve({ inserted: 0, updated: 0, unchanged: 0, embedded: 0 });
      return this.#exclusive(async () => {
        throwIfAborted(options.signal);
        const result = this.#write(prepared, this.#lookup(prepared), true);
        await this.#maybeAutoFlush();
        return { ...result, embedded: 0 };
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #lookup(docs: readonly PreparedDocument[]): Map<string, { key: number; hash: Buffer; metadata: string }> {
    const out = new Map<string, { key: number; hash: Buffer; metadata: string }>();
    for (const row of this.#st.lookupByIds.all(JSON.stringify(docs.map((d) => d.id)))) out.set(row.id, row);
    return out;
  }

  /** One transaction for the whole batch; then the in-memory index. */
  #write(docs: readonly PreparedDocument[], existing: Map<string, { key: number; hash: Buffer; metadata: string }>, compareVectors: boolean): Omit<WriteResult, 'embedded'> {
    const st = this.#st;
    const seq = this.#seq + 1;
    const changedKeys: number[] = [];
    const changedVectors: Float32Array[] = [];
    const changedTexts: { key: number; text: string }[] = [];
    let inserted = 0;
    let updated = 0;
    let unchanged = 0;
    this.#db.transaction(() => {
      for (const d of docs) {
        const old = existing.get(d.id);
        if (old === undefined) {
          const key = Number(st.insertDoc.run(d.id, d.text, d.hash, d.metadata, seq).lastInsertRowid);
          if (!Number.isSafeInteger(key)) throw new BiencoderError('COLLECTION_CORRUPT', `document key ${key} is beyond 2^53`);
          st.insertVector.run(key, vectorToBlob(d.vector!));
          changedTexts.push({ key, text: d.text });
          changedKeys.push(key);
          changedVectors.push(d.vector!);
          inserted++;
          continue;
        }
        let vectorChanged = d.vector !== undefined;
        if (vectorChanged && compareVectors && old.hash.equals(d.hash)) {
          const stored = st.selectVector.get(old.key);
          vectorChanged = stored === undefined || !stored.vector.equals(vectorToBlob(d.vector!));
        }
        if (vectorChanged) {
          st.updateDoc.run(d.text, d.hash, d.metadata, seq, old.key);
          st.upsertVector.run(old.key, vectorToBlob(d.vector!));
          if (!old.hash.equals(d.hash)) changedTexts.push({ key: old.key, text: d.text });
          changedKeys.push(old.key);
          changedVectors.push(d.vector!);
          updated++;
        } else if (!old.hash.equals(d.hash)) {
          throw new Error('unreachable: a changed text without a vector');
        } else if (old.metadata !== d.metadata) {
          st.updateMetadata.run(d.metadata, old.key);
          updated++;
        } else {
          unchanged++;
        }
      }
      if (inserted + updated > 0) st.setMeta.run(seq, 'seq');
    })();
    if (inserted + updated === 0) return { inserted, updated, unchanged };
    this.#dataChanged = true;
    this.#gen++;
    this.#filterCache.clear();
    const prev = this.#seq;
    this.#seq = seq;
    if (changedKeys.length > 0) {
      this.#unsaved += changedKeys.length;
      if (this.#indexSeq === prev) {
        const data = new Float32Array(changedKeys.length * this.dims);
        changedVectors.forEach((v, i) => data.set(v, i * this.dims));
        try {
          this.#index.add(BigUint64Array.from(changedKeys, (k) => BigInt(k)), { data, rows: changedKeys.length, dims: this.dims });
          this.#keyword.add(changedTexts);
          this.#indexSeq = seq;
        } catch {
          // The write is committed; the index stays behind and catches up from the database before the next search.
        }
      }
    } else if (this.#indexSeq === prev) {
      this.#indexSeq = seq; // metadata only: the index is unaffected
    }
    return { inserted, updated, unchanged };
  }

  /** Deletes documents by id (unknown ids are ignored). Returns how many were deleted. Atomic. */
  delete(ids: readonly string[]): Promise<number> {
    try {
      this.#assertWritable();
      const list = checkIds(ids);
      if (list.length === 0) return Promise.resolve(0);
      return this.#exclusive(() => this.#deleteRows(this.#st.lookupByIds.all(JSON.stringify([...new Set(list)]))));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Deletes every document (or chunk) whose metadata match the filter. Returns how many were deleted. Atomic. */
  deleteWhere(filter: MetadataFilter): Promise<number> {
    try {
      this.#assertWritable();
      checkDeleteFilter(filter);
      const { sql, params } = compileFilterNode(parseFilter(filter), 'metadata');
      return this.#exclusive(() => this.#deleteRows(this.#db.prepare(`SELECT key FROM docs WHERE ${sql}`).all(params) as { key: number }[]));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Deletes rows by key in one transaction (tombstones for the index), inside #exclusive. */
  async #deleteRows(rows: readonly { key: number }[]): Promise<number> {
    const st = this.#st;
    if (rows.length === 0) return 0;
    const seq = this.#seq + 1;
    this.#db.transaction(() => {
      for (const r of rows) {
        st.deleteDoc.run(r.key);
        st.deleteVector.run(r.key);
        st.insertTombstone.run(r.key, seq);
      }
      st.setMeta.run(seq, 'seq');
    })();
    const prev = this.#seq;
    this.#seq = seq;
    this.#dataChanged = true;
    this.#gen++;
    this.#filterCache.clear();
    this.#unsaved += rows.length;
    if (this.#indexSeq === prev) {
      try {
        this.#index.remove(BigUint64Array.from(rows, (r) => BigInt(r.key)));
        this.#keyword.remove(rows.map((r) => r.key));
        this.#indexSeq = seq;
      } catch {
        // caught up before the next search
      }
    }
    await this.#maybeAutoFlush();
    return rows.length;
  }

  /** Saves the index (if it changed since it was last saved) so that reopening needs no catch-up. */
  flush(): Promise<void> {
    try {
      this.#assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.readOnly) return Promise.resolve();
    return this.#exclusive(async () => {
      const fileMissing = this.#index.size > 0 && !existsSync(join(this.dir, indexFileName(this.#savedIndexSeq)));
      if (this.#unsaved > 0 || this.#savedIndexSeq !== this.#seq || fileMissing) await this.#saveIndex();
    });
  }

  /** Flushes (writers), closes the database and releases the writer lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    let error: unknown;
    if (!this.readOnly) {
      try {
        await this.flush();
      } catch (e) {
        error = e;
      }
    }
    this.#closed = true;
    await this.#calls.settled();
    try {
      this.#conn.close();
    } finally {
      this.#lock?.release();
    }
    if (error !== undefined) throw error;
  }

  // ---------------------------------------------------------------- reads

  /** The documents with these ids, in the same order; undefined where an id is not stored. */
  get(ids: readonly string[], options: { vectors?: boolean } = {}): Promise<(StoredDocument | undefined)[]> {
    try {
      this.#assertOpen();
      const list = checkIds(ids);
      const rows = this.#read(() => this.#st.getByIds.all(JSON.stringify(list)));
      const byId = new Map<string, StoredDocument>();
      for (const r of rows) {
        const doc: StoredDocument = { id: r.id, text: r.text, metadata: JSON.parse(r.metadata) as Metadata };
        if (options.vectors) {
          if (r.vector === null) throw new BiencoderError('COLLECTION_CORRUPT', `document ${JSON.stringify(r.id)} has no stored vector`);
          byId.set(r.id, { ...doc, vector: blobToVector(r.vector, this.dims, r.key) });
        } else {
          byId.set(r.id, doc);
        }
      }
      return Promise.resolve(list.map((id) => byId.get(id)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Number of documents. */
  count(): number {
    return this.#read(() => this.#st.count.get()!.n);
  }

  info(): CollectionInfo {
    this.#assertOpen();
    return { count: this.count(), seq: this.#seq, savedIndexSeq: this.#savedIndexSeq, indexSize: this.#index.size, unsavedChanges: this.#unsaved };
  }

  /** The k nearest documents to a text (embedded as a query), a vector, or (keyword and hybrid modes) a text with its vector. */
  async search(query: string | Float32Array | TextWithVector, options: SearchOptions = {}): Promise<SearchHit[]> {
    if (typeof query !== 'string' && !(query instanceof Float32Array) && !isTextWithVector(query)) {
      throw invalid('query must be a string, a Float32Array or { text, vector }');
    }
    return (await this.searchBatch([query], options))[0];
  }

  /** search() for many queries at once (texts are embedded in one call): one result list per query. */
  searchBatch(queries: readonly (string | Float32Array | TextWithVector)[] | Matrix, options: SearchOptions = {}): Promise<SearchHit[][]> {
    try {
      this.#assertOpen();
      const k = searchK(options);
      const filter = options.filter === undefined ? undefined : parseFilter(options.filter);
      const mode = checkSearchMode(options.mode ?? 'dense');
      if (mode !== 'dense') {
        const { texts, vectors } = checkTextQueries(queries, mode, this.dims, this.metric);
        checkKeywordOptions(options.keyword);
        const hybrid = mode === 'hybrid' ? resolveHybridOptions(options.hybrid, k) : undefined;
        return this.#withDbErrors(this.#calls.track(this.#keywordOrHybrid(texts, vectors, k, filter, options, hybrid)));
      }
      checkDenseQueries(queries);
      return this.#withDbErrors(this.#calls.track(this.#searchBatch(queries as readonly (string | Float32Array)[] | Matrix, k, filter, options)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #searchBatch(queries: readonly (string | Float32Array)[] | Matrix, k: number, filter: FilterNode | undefined, options: SearchOptions): Promise<SearchHit[][]> {
    const matches = await this.#denseMatches(queries, k, filter, options);
    const keys = new Set<number>();
    for (const m of matches) for (let i = 0; i < m.count; i++) keys.add(Number(m.keys[i]));
    const rows = this.#rowsByKey(keys);
    return matches.map((m) => {
      const hits: SearchHit[] = [];
      for (let i = 0; i < m.count; i++) {
        const row = rows.get(Number(m.keys[i]));
        if (row === undefined) continue; // a reader's index may briefly hold a key deleted since its snapshot
        hits.push({ id: row.id, score: m.scores[i], text: row.text, metadata: row.metadata });
      }
      return hits;
    });
  }

  /** The stored rows of these keys, metadata parsed once per key (hits of several queries share it). */
  #rowsByKey(keys: ReadonlySet<number>): Map<number, { id: string; text: string; metadata: Metadata }> {
    const rows = new Map<number, { id: string; text: string; metadata: Metadata }>();
    if (keys.size === 0) return rows;
    for (const r of this.#st.getByKeys.all(JSON.stringify([...keys]))) rows.set(r.key, { id: r.id, text: r.text, metadata: JSON.parse(r.metadata) as Metadata });
    return rows;
  }

  /** The dense top-k keys and scores of each query (no rows read): one entry per query, none for no queries. */
  async #denseMatches(queries: readonly (string | Float32Array)[] | Matrix, k: number, filter: FilterNode | undefined, options: SearchOptions): Promise<readonly IndexMatches[]> {
    const matrix = await this.#queryMatrix(queries, options);
    if (matrix.rows === 0) return [];
    await this.#catchUp();
    this.#assertOpen();
    return this.#searchIndex(matrix, k, filter === undefined ? undefined : this.#filterBits(filter, options.filter!), options);
  }

  /** The queries as a matrix of vectors, texts embedded as queries. */
  async #queryMatrix(queries: readonly (string | Float32Array)[] | Matrix, options: SearchOptions | EmbedQueriesOptions): Promise<Matrix> {
    const matrix = await queryMatrix(queries, {
      adapter: options.adapter === false ? undefined : () => this.#activeAdapter(),
      dims: this.dims,
      metric: this.metric,
      encoder: this.#encoder,
      encoderRequired: () => new BiencoderError('ENCODER_REQUIRED', `text queries need an encoder but the collection at ${this.dir} was opened without one (pass { encoder } to Collection.open, or search with vectors)`),
      signal: options.signal,
    });
    this.#assertOpen();
    return matrix;
  }

  /** The vector index's top k for each row of the matrix, only keys the filter's bits accept when given. */
  #searchIndex(matrix: Matrix, k: number, bits: FilterBits | undefined, options: SearchOptions, exactScores?: number): readonly IndexMatches[] {
    const none = (): IndexMatches[] => Array.from({ length: matrix.rows }, () => ({ keys: new BigUint64Array(0), scores: new Float32Array(0), count: 0 }));
    if (k === 0 || bits?.count === 0) return none();
    const searchOptions: { filter?: IndexSearchOptions['filter']; ef?: number; exactScores?: number } = {};
    if (options.ef !== undefined) searchOptions.ef = options.ef;
    if (exactScores !== undefined) searchOptions.exactScores = exactScores;
    if (bits !== undefined) {
      const accept = bits.accept;
      searchOptions.filter = (key: bigint): boolean => accept(Number(key));
    }
    return this.#index.search(matrix, k, searchOptions);
  }

  async #keywordOrHybrid(
    texts: readonly string[], vectors: readonly (Float32Array | undefined)[], k: number, filter: FilterNode | undefined, options: SearchOptions,
    hybrid: ReturnType<typeof resolveHybridOptions> | undefined,
  ): Promise<SearchHit[][]> {
    throwIfAborted(options.signal);
    if (texts.length === 0) return [];
    if (k === 0) return texts.map(() => []);
    // Hybrid embeds the texts first, then runs both searches without a pause: nothing is held across the encoder's wait.
    const matrix = hybrid === undefined ? undefined : await this.#queryMatrix(texts.map((t, i) => vectors[i] ?? t), options);
    await this.#catchUp();
    this.#assertOpen();
    const want = hybrid === undefined ? k : hybrid.candidates;
    let bits: FilterBits | undefined;
    if (filter !== undefined) {
      bits = this.#read(() => this.#filterBits(filter, options.filter!));
      if (bits.count === 0) return texts.map(() => []);
    }
    // Convex fusion takes the keyword candidates in any order (it ranks them by key and score itself).
    const sorted = hybrid?.fusion !== 'convex';
    const accept = bits?.accept;
    const keyword = texts.map((t) => searchTopK(this.#keyword, this.#analyzer.queryTerms(t, options.keyword), want, { accept, sorted }));
    if (hybrid === undefined || matrix === undefined) return this.#hitsOfKeys(keyword.map(scoredKeys));
    // Hybrid: fuse on keys, then read the rows of the k winners only.
    // The dense candidates past the first HYBRID_EXACT_DENSE need a score for the fusion, not an exact one: a
    // quantized index keeps their graph score (1,000 candidates rescored cost more than the rest of the search).
    const dense = this.#searchIndex(matrix, want, bits, options, Math.max(k, HYBRID_EXACT_DENSE));
    const fuse = (qi: number, limit: number): ScoredKey[] => {
      const d = dense[qi];
      const denseSide = { keys: numericKeys(d.keys, d.count), scores: d.scores, count: d.count };
      if (hybrid.fusion === 'convex') return convexFusionByKey(denseSide, keyword[qi], hybrid.weight, hybrid.normalization, limit);
      const denseList: ScoredKey[] = [];
      for (let i = 0; i < d.count; i++) denseList.push({ id: denseSide.keys[i], score: d.scores[i] });
      return fuseRankings(denseList, scoredKeys(keyword[qi]), hybrid, limit);
    };
    const fused = texts.map((_, qi) => fuse(qi, k));
    const hits = this.#hitsOfKeys(fused);
    // A reader's index may briefly hold a key deleted since its snapshot: fuse everything for such a query.
    return hits.map((h, qi) => (h.length < fused[qi].length ? this.#hitsOfKeys([fuse(qi, Number.MAX_SAFE_INTEGER)])[0].slice(0, k) : h));
  }

  /** The stored rows of ranked keys, as hits (a key deleted meanwhile is skipped). */
  #hitsOfKeys(matches: readonly (readonly ScoredKey[])[]): SearchHit[][] {
    const keys = new Set<number>();
    for (const list of matches) for (const m of list) keys.add(m.id);
    const rows = this.#rowsByKey(keys);
    return matches.map((list) => list.flatMap((m) => {
      const row = rows.get(m.id);
      return row === undefined ? [] : [{ ...row, score: m.score }];
    }));
  }

  /** The keys matching a filter, as a bitset over keys, cached until the next write. */
  #filterBits(node: FilterNode, original: MetadataFilter): FilterBits {
    const cacheKey = JSON.stringify(original);
    const cached = this.#filterCache.get(cacheKey);
    if (cached !== undefined && cached.gen === this.#gen) return cached;
    const { sql, params } = compileFilterNode(node, 'metadata');
    const max = this.#st.maxKey.get()!.m ?? 0;
    const bits = new Uint8Array(Math.floor(max / 8) + 1);
    let count = 0;
    const stmt = this.#db.prepare(`SELECT key FROM docs WHERE ${sql}`).pluck();
    for (const key of stmt.iterate(params) as Iterable<number>) {
      bits[Math.floor(key / 8)] |= 1 << key % 8;
      count++;
    }
    const size = bits.length * 8;
    const accept = (key: number): boolean => key < size && (bits[key >>> 3] & (1 << (key & 7))) !== 0;
    const entry = { gen: this.#gen, accept, count };
    if (this.#filterCache.size >= 16) this.#filterCache.delete(this.#filterCache.keys().next().value!);
    this.#filterCache.set(cacheKey, entry);
    return entry;
  }
}

/**
 * The query adapter file a manifest names (COLLECTION_CORRUPT when missing, damaged or for another
 * model). A file missing because a writer replaced the adapter since the manifest was read is found
 * by reading the manifest again.
 */
function readAdapterFile(dir: string, opened: Manifest): QueryAdapter {
  let manifest = opened;
  for (let attempt = 0; ; attempt++) {
    const path = join(dir, manifest.queryAdapter!.file);
    try {
      return loadRecordedAdapter(readFileSync(path), manifest, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const now = attempt === 0 ? readManifest(dir) : manifest;
      if (now.queryAdapter === undefined) return readAdapterFileGone(dir, manifest, error);
      if (now.queryAdapter.file === manifest.queryAdapter!.file) return readAdapterFileGone(dir, manifest, error);
      manifest = now;
    }
  }
}

function readAdapterFileGone(dir: string, manifest: Manifest, error: unknown): never {
  throw new BiencoderError('COLLECTION_CORRUPT', `the collection at ${dir} names the query adapter ${manifest.queryAdapter!.file}, which cannot be read (${(error as Error).message}): text queries cannot be embedded through it (search with adapter: false, or remove it with \`biencoder tune --remove\`)`, { cause: error, details: { dir } });
}

/** Dense candidates of a hybrid search rescored exactly (see IndexSearchOptions.exactScores). */
const HYBRID_EXACT_DENSE = 32;

export type { TextWithVector };

/** An index's keys as numbers (collection keys are integers below 2^53), read as 32-bit halves: no BigInt per key. */
function numericKeys(keys: BigUint64Array, count: number): Float64Array {
  const halves = new Uint32Array(keys.buffer, keys.byteOffset, count * 2);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = halves[2 * i] + halves[2 * i + 1] * 0x1_0000_0000; // little-endian
  return out;
}

/** A keyword top-k as the { id, score } list fusion takes. */
function scoredKeys(top: KeywordTopK): ScoredKey[] {
  const out: ScoredKey[] = new Array(top.count);
  for (let i = 0; i < top.count; i++) out[i] = { id: top.keys[i], score: top.scores[i] };
  return out;
}

/** A collection key with its score, as fusion takes and gives them. */
type ScoredKey = Scored<number>;

export type { Metadata, MetadataFilter, JsonValue };
