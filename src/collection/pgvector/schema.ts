/**
 * The PostgreSQL schema of pgvector collections.
 *
 *   biencoder_collections(name PRIMARY KEY, table_name, manifest jsonb, seq, created_at, updated_at)
 *       one row per collection: the same manifest as an embedded collection's manifest.json (the
 *       encoder guard reads it), and seq, bumped by every committed write
 *   biencoder_<name>(id text COLLATE "C" PRIMARY KEY, text, hash bytea, metadata jsonb, embedding vector(d))
 *       the documents; `embedding` is halfvec(d) when the index spec's quantization is f16
 *   biencoder_<name>_hnsw   USING hnsw (embedding <opclass>) WITH (m, ef_construction), for kind "hnsw"
 *       (created with the table, or after a bulk load: create({ deferIndex: true }) then buildIndex())
 *   biencoder_<name>$t(id text COLLATE "C", term text COLLATE "C", tf int, len int, PRIMARY KEY (id, term))
 *       the keyword (BM25) postings: one row per distinct analyzed term of a document, with its term
 *       frequency and the document's length in terms (keyword-postings.ts); the index
 *       biencoder_<name>$ti ON (term) INCLUDE (id, tf, len) serves a query's terms by index-only scans.
 *       doc_count and term_count in the registry row (N and the total length for BM25, and count()) are
 *       kept by the same transactions.
 *   biencoder_<name>$m      USING gin (metadata jsonb_path_ops): filters' equality conditions read
 *       the matching rows through it (filter-sql.ts: containmentHint), whatever the table's size.
 *
 * Partitioned collections (create({ partitions: N })) hash-partition both tables by id into N
 * partitions, biencoder_<name>$0.. and biencoder_<name>$t$0..: the key of every unique constraint
 * (id; id, term) holds the partition key, so PRIMARY KEY and ON CONFLICT work across partitions, a
 * document and its postings land in partitions with the same remainder, and the HNSW and term indexes
 * are created on the parent (one per partition). The same schema is Citus's distributed layout:
 * docs/pgvector.md shows create_distributed_table on id, colocated.
 *
 * ids use the "C" collation, so id order is byte order of UTF-8 (as SQLite's BINARY in the embedded
 * store): migrations page through both stores in the same order. Identifiers are built only from
 * validated collection names and quoted; every value goes in as a bind parameter. The index parameters
 * are validated integers (DDL takes no parameters).
 */
import { BiencoderError } from '../../errors.ts';
import type { IndexMetric } from '../../index/vector-index.ts';
import type { IndexSpec } from '../index-backend.ts';

export const REGISTRY_TABLE = 'biencoder_collections';
/** pgvector's limits on indexed dimensions (HNSW): vector 2,000, halfvec 4,000; the types hold up to 16,000. */
export const MAX_INDEXED_DIMS = { vector: 2000, halfvec: 4000 } as const;
export const MAX_DIMS = 16000;
export const MAX_EF_SEARCH = 1000;

export type VectorType = 'vector' | 'halfvec';

export interface TableNames {
  readonly table: string;
  readonly index: string;
  /** The keyword postings table and its index on term. */
  readonly terms: string;
  readonly termsIndex: string;
  /** The GIN index on metadata (filter-sql.ts: containmentHint). */
  readonly metadataIndex: string;
}

/**
 * At most this many hash partitions: the partitions' names (biencoder_<name>$t$63, 63 characters
 * for a 48-character name) must fit PostgreSQL's 63-byte identifiers, which it would silently truncate.
 */
export const MAX_PARTITIONS = 64;

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Names of a collection's relations. The keyword ones carry a `$`, which collection names cannot hold,
 * so they never meet another collection's table (collection "x_terms" vs the postings of "x").
 */
export function tableNames(collection: string): TableNames {
  const table = `biencoder_${collection}`;
  return { table, index: `${table}_hnsw`, terms: `${table}$t`, termsIndex: `${table}$ti`, metadataIndex: `${table}$m` };
}

/** The name of partition `i` of a partitioned table. */
export function partitionName(table: string, i: number): string {
  return `${table}$${i}`;
}

/** The column type for an index spec: halfvec for f16, vector for f32 and flat; i8 and b1 are not offered. */
export function vectorTypeFor(spec: IndexSpec): VectorType {
  if (spec.kind === 'flat' || spec.quantization === 'f32') return 'vector';
  if (spec.quantization === 'f16') return 'halfvec';
  throw new BiencoderError('UNSUPPORTED', `the pgvector store stores vectors as vector (f32) or halfvec (f16); quantization ${spec.quantization} is not supported (use f32 or f16)`);
}

/** pgvector's distance operator and operator class of a metric. */
export function metricOperator(metric: IndexMetric): { readonly op: '<=>' | '<#>' | '<->'; readonly opclass: string } {
  switch (metric) {
    case 'cosine':
      return { op: '<=>', opclass: 'cosine_ops' };
    case 'dot':
      return { op: '<#>', opclass: 'ip_ops' };
    case 'l2':
      return { op: '<->', opclass: 'l2_ops' };
  }
}

/** The SQL expression turning pgvector's distance into the store's higher-is-better score. */
export function scoreExpression(metric: IndexMetric, distance: string): string {
  // <=> is 1 - cosine similarity, <#> the negated inner product, <-> the euclidean distance.
  return metric === 'cosine' ? `(1 - (${distance}))` : `(-(${distance}))`;
}

/** Checks what pgvector can index (INVALID_ARGUMENT naming the limit). */
export function checkSpecForPgvector(spec: IndexSpec, dims: number): VectorType {
  const type = vectorTypeFor(spec);
  if (dims > MAX_DIMS) throw new BiencoderError('INVALID_ARGUMENT', `pgvector holds at most ${MAX_DIMS} dimensions, the encoder has ${dims}`);
  if (spec.kind === 'hnsw') {
    if (dims > MAX_INDEXED_DIMS[type]) {
      throw new BiencoderError('INVALID_ARGUMENT', `pgvector's HNSW indexes ${type} columns of at most ${MAX_INDEXED_DIMS[type]} dimensions, the encoder has ${dims}${type === 'vector' ? ' (use quantization f16 for halfvec, up to 4000)' : ''}`);
    }
    if (spec.connectivity < 2 || spec.connectivity > 100) throw new BiencoderError('INVALID_ARGUMENT', `pgvector's HNSW takes m (connectivity) in 2..100, got ${spec.connectivity}`);
    if (spec.expansionAdd < 4 || spec.expansionAdd > 1000 || spec.expansionAdd < 2 * spec.connectivity) {
      throw new BiencoderError('INVALID_ARGUMENT', `pgvector's HNSW takes ef_construction (expansionAdd) in 4..1000 and at least 2 x m, got ${spec.expansionAdd} with m ${spec.connectivity}`);
    }
    if (spec.expansionSearch < 1 || spec.expansionSearch > MAX_EF_SEARCH) throw new BiencoderError('INVALID_ARGUMENT', `pgvector's hnsw.ef_search is 1..${MAX_EF_SEARCH}, got expansionSearch ${spec.expansionSearch}`);
  }
  return type;
}

export const REGISTRY_DDL = `CREATE TABLE IF NOT EXISTS ${REGISTRY_TABLE} (
  name text PRIMARY KEY,
  table_name text NOT NULL UNIQUE,
  manifest jsonb NOT NULL,
  seq bigint NOT NULL DEFAULT 0,
  doc_count bigint,
  term_count bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)`;

/**
 * The statement creating an HNSW index (IF NOT EXISTS: building it twice is a no-op): a collection's
 * on its table, or a partition's; CONCURRENTLY (outside a transaction) to let writers go on, or ON ONLY
 * a partitioned table (its partitions' indexes attached one by one).
 */
export function hnswIndexDdl(
  on: { readonly index: string; readonly table: string }, type: VectorType, metric: IndexMetric, spec: IndexSpec & { kind: 'hnsw' },
  how: { readonly concurrently?: boolean; readonly only?: boolean } = {},
): string {
  const m = Math.trunc(spec.connectivity);
  const ef = Math.trunc(spec.expansionAdd);
  return `CREATE INDEX ${how.concurrently ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${quoteIdent(on.index)} ON ${how.only ? 'ONLY ' : ''}${quoteIdent(on.table)} USING hnsw (embedding ${type}_${metricOperator(metric).opclass}) WITH (m = ${m}, ef_construction = ${ef})`;
}

/**
 * Registries made before keyword search lack the BM25 statistics' columns (NULL in a row: the
 * collection's postings are not built yet).
 */
export const REGISTRY_UPGRADE_DDL = `ALTER TABLE ${REGISTRY_TABLE} ADD COLUMN IF NOT EXISTS doc_count bigint, ADD COLUMN IF NOT EXISTS term_count bigint`;

/** `CREATE TABLE name (columns)`, hash-partitioned by id into `partitions` tables when partitions > 0. */
function tableDdl(name: string, columns: string, partitions: number): string[] {
  if (partitions === 0) return [`CREATE TABLE ${quoteIdent(name)} (${columns})`];
  const out = [`CREATE TABLE ${quoteIdent(name)} (${columns}) PARTITION BY HASH (id)`];
  for (let i = 0; i < partitions; i++) {
    out.push(`CREATE TABLE ${quoteIdent(partitionName(name, i))} PARTITION OF ${quoteIdent(name)} FOR VALUES WITH (MODULUS ${partitions}, REMAINDER ${i})`);
  }
  return out;
}

/** Validates a partition count: 0 (a plain table) or 2..MAX_PARTITIONS. */
export function checkPartitions(partitions: unknown): number {
  if (partitions === undefined) return 0;
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 0 || partitions === 1 || partitions > MAX_PARTITIONS) {
    throw new BiencoderError('INVALID_ARGUMENT', `partitions must be 0 (no partitioning) or an integer in 2..${MAX_PARTITIONS}, got ${String(partitions)}`);
  }
  return partitions;
}

/**
 * The GIN index on metadata that serves filters' equality conditions (filter-sql.ts: containmentHint):
 * jsonb_path_ops indexes each path-to-value once, smaller than the default opclass, and serves @>.
 * fastupdate off: with GIN's pending list every lookup also scans the entries not yet merged, which
 * after a bulk load made a selective filter 3–7x slower until a vacuum (bench:pgvector: 894 buffers
 * against 8 at 200k rows); writes merge their entries at once instead.
 */
export function metadataIndexDdl(names: TableNames): string {
  return `CREATE INDEX IF NOT EXISTS ${quoteIdent(names.metadataIndex)} ON ${quoteIdent(names.table)} USING gin (metadata jsonb_path_ops) WITH (fastupdate = off)`;
}

/** The statements creating the keyword postings table and its term index. */
export function termsDdl(names: TableNames, partitions: number): string[] {
  return [
    ...tableDdl(names.terms, `
      id text COLLATE "C" NOT NULL,
      term text COLLATE "C" NOT NULL,
      tf integer NOT NULL,
      len integer NOT NULL,
      PRIMARY KEY (id, term)
    `, partitions),
    `CREATE INDEX ${quoteIdent(names.termsIndex)} ON ${quoteIdent(names.terms)} (term) INCLUDE (id, tf, len)`,
  ];
}

/** The statements creating a collection's tables and (for hnsw, unless deferred) its vector index. */
export function collectionDdl(names: TableNames, dims: number, type: VectorType, metric: IndexMetric, spec: IndexSpec, deferIndex = false, partitions = 0): string[] {
  const out = tableDdl(names.table, `
      id text COLLATE "C" PRIMARY KEY,
      text text NOT NULL,
      hash bytea NOT NULL,
      metadata jsonb NOT NULL,
      embedding ${type}(${dims}) NOT NULL
    `, partitions);
  out.push(metadataIndexDdl(names), ...termsDdl(names, partitions));
  if (spec.kind === 'hnsw' && !deferIndex) out.push(hnswIndexDdl(names, type, metric, spec));
  return out;
}
