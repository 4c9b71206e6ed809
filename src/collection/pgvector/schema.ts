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
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function tableNames(collection: string): TableNames {
  return { table: `biencoder_${collection}`, index: `biencoder_${collection}_hnsw` };
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
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)`;

/** The statement creating a collection's HNSW index (IF NOT EXISTS: building it twice is a no-op). */
export function hnswIndexDdl(names: TableNames, type: VectorType, metric: IndexMetric, spec: IndexSpec & { kind: 'hnsw' }): string {
  const m = Math.trunc(spec.connectivity);
  const ef = Math.trunc(spec.expansionAdd);
  return `CREATE INDEX IF NOT EXISTS ${quoteIdent(names.index)} ON ${quoteIdent(names.table)} USING hnsw (embedding ${type}_${metricOperator(metric).opclass}) WITH (m = ${m}, ef_construction = ${ef})`;
}

/** The statements creating a collection's table and (for hnsw, unless deferred) its index. */
export function collectionDdl(names: TableNames, dims: number, type: VectorType, metric: IndexMetric, spec: IndexSpec, deferIndex = false): string[] {
  const table = quoteIdent(names.table);
  const out = [
    `CREATE TABLE ${table} (
      id text COLLATE "C" PRIMARY KEY,
      text text NOT NULL,
      hash bytea NOT NULL,
      metadata jsonb NOT NULL,
      embedding ${type}(${dims}) NOT NULL
    )`,
  ];
  if (spec.kind === 'hnsw' && !deferIndex) out.push(hnswIndexDdl(names, type, metric, spec));
  return out;
}
