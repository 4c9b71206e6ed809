/**
 * The surface every collection store offers: the embedded directory store (`Collection`, SQLite +
 * usearch) and the PostgreSQL + pgvector store (`PgvectorCollection`). Code written against
 * CollectionApi runs on either; `openCollection` / `createCollection` (open-collection.ts) pick the
 * store from the target (a directory or a postgres:// URL).
 *
 * count() and info() are synchronous on the embedded store and asynchronous on pgvector: `await`
 * them (awaiting a plain value is harmless).
 */
import type { Encoder } from '../encoders/encoder.ts';
import type { Matrix } from '../matrix.ts';
import type { IndexMetric } from '../index/vector-index.ts';
import type { DocumentInput, EmbedQueriesOptions, SearchHit, SearchMode, SearchOptions, StoredDocument, TextWithVector, VectorDocumentInput, WriteOptions, WriteResult } from './collection.ts';
import type { QueryAdapter } from '../tune/query-adapter.ts';
import type { Manifest } from './manifest.ts';
import type { MetadataFilter } from './filter.ts';

/** What both stores report from info(). */
export interface CollectionApiInfo {
  /** Number of documents. */
  readonly count: number;
  /** The sequence number of the last committed write. */
  readonly seq: number;
}

export interface CollectionApi {
  /** The encoder identity, dims, metric and index spec the collection was created with. */
  readonly manifest: Manifest;
  readonly readOnly: boolean;
  readonly dims: number;
  readonly metric: IndexMetric;
  /** The search modes this collection serves: 'dense', 'keyword' and 'hybrid' (a pgvector collection made before keyword search and opened read-only: 'dense'). */
  readonly searchModes: readonly SearchMode[];
  /** The encoder given at open or create, if any. */
  readonly encoder: Encoder | undefined;
  /** The query adapter stored with the collection (applied to every text query it embeds), if any. */
  readonly queryAdapter: QueryAdapter | undefined;

  /** Inserts or replaces documents; only new or changed texts are embedded. Atomic per call. */
  upsert(docs: readonly DocumentInput[], options?: WriteOptions): Promise<WriteResult>;
  /** Inserts or replaces documents with precomputed vectors of this collection's model. Atomic per call. */
  upsertVectors(docs: readonly VectorDocumentInput[], options?: WriteOptions): Promise<WriteResult>;
  /** Deletes documents by id (unknown ids are ignored); returns how many were deleted. */
  delete(ids: readonly string[]): Promise<number>;
  /** Deletes every document (or chunk) whose metadata match the filter (the search filter language); returns how many. Atomic. */
  deleteWhere(filter: MetadataFilter): Promise<number>;
  /** The documents with these ids, in order; undefined where an id is not stored. */
  get(ids: readonly string[], options?: { vectors?: boolean }): Promise<(StoredDocument | undefined)[]>;
  /** Number of documents. */
  count(): number | Promise<number>;
  info(): CollectionApiInfo | Promise<CollectionApiInfo>;
  /**
   * The k best documents for a text (embedded as a query) or a vector; scores are higher-is-better.
   * keyword and hybrid modes take texts, or { text, vector } with the text's embedding computed elsewhere.
   */
  search(query: string | Float32Array | TextWithVector, options?: SearchOptions): Promise<SearchHit[]>;
  /** search() for many queries at once: one result list per query. */
  searchBatch(queries: readonly (string | Float32Array | TextWithVector)[] | Matrix, options?: SearchOptions): Promise<SearchHit[][]>;
  /** Text queries embedded as searches embed them: the encoder (as queries), then the query adapter unless `adapter: false`. */
  embedQueries(texts: readonly string[], options?: EmbedQueriesOptions): Promise<Matrix>;
  /** Stores a query adapter with the collection (replacing any); documents and their vectors are not touched. */
  setQueryAdapter(adapter: QueryAdapter, options?: { readonly validation?: Readonly<Record<string, unknown>> }): Promise<void>;
  /** Removes the collection's query adapter; resolves whether there was one. */
  removeQueryAdapter(): Promise<boolean>;
  /** Makes pending state durable (the embedded index file); a no-op where every write is already durable. */
  flush(): Promise<void>;
  /** Releases the collection (files, locks, connections). Idempotent. */
  close(): Promise<void>;
}
