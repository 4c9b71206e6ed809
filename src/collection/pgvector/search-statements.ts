/**
 * The SELECT statements of a pgvector collection's searches, each one round trip:
 * - dense: `ORDER BY embedding <op> $q LIMIT k`, served by the HNSW index; the exact form orders by
 *   the distance plus 0, an expression no index matches, so PostgreSQL scans and sorts every
 *   (filtered) row instead — no session setting to flip (enable_indexscan) and flip back;
 * - keyword: BM25 over the postings (keyword-postings.ts), best first, ties by id;
 * - hybrid candidates: both lists of ids and scores in one statement (UNION ALL), fused in the client
 *   by the same code as the embedded store's (src/retriever/fusion.ts).
 * The query vector goes in binary (pgvector's vector_recv form, vector-codec.ts: toVectorSend): a
 * Buffer parameter is sent by node-postgres in binary format, 4 bytes a dimension and no float parsing.
 * A halfvec column takes it as vector and casts it.
 */
import type { IndexMetric } from '../../index/vector-index.ts';
import { bm25ScoresSql, type Bm25Placeholders } from './keyword-postings.ts';
import { metricOperator, quoteIdent, scoreExpression, type VectorType } from './schema.ts';

export interface StatementTarget {
  /** Table names, unquoted. */
  readonly table: string;
  readonly terms: string;
  readonly collection: string;
  readonly dims: number;
  readonly vectorType: VectorType;
  readonly metric: IndexMetric;
}

/** The distance expression of a query vector placeholder. */
function distanceOf(t: StatementTarget, vector: string): string {
  const cast = t.vectorType === 'vector' ? `${vector}::vector(${t.dims})` : `${vector}::vector(${t.dims})::halfvec(${t.dims})`;
  return `(embedding ${metricOperator(t.metric).op} ${cast})`;
}

export interface DenseStatement {
  readonly vector: string;
  readonly limit: string;
  /** A compiled filter over `metadata`, or undefined. */
  readonly where: string | undefined;
  /** Order by exact distance over every row (no index). */
  readonly exact: boolean;
  /** Return text and metadata too (a final result, not candidates). */
  readonly rows: boolean;
}

/** id, score[, text, metadata] of the nearest rows. */
export function denseSql(t: StatementTarget, s: DenseStatement): string {
  const distance = distanceOf(t, s.vector);
  return `SELECT id, ${scoreExpression(t.metric, distance)}::float8 AS score${s.rows ? ', text, metadata' : ''}
    FROM ${quoteIdent(t.table)} ${s.where === undefined ? '' : `WHERE ${s.where}`}
    ORDER BY ${s.exact ? `${distance} + 0` : distance} LIMIT ${s.limit}`;
}

export interface KeywordStatement {
  readonly terms: string;
  readonly weights: string;
  readonly collectionName: string;
  readonly bm25: Bm25Placeholders;
  readonly limit: string;
  readonly where: string | undefined;
  readonly rows: boolean;
}

/** id, score[, text, metadata] of the best BM25 matches, ties by id. */
export function keywordSql(t: StatementTarget, s: KeywordStatement): string {
  const scores = bm25ScoresSql(t.terms, { terms: s.terms, weights: s.weights, collection: s.collectionName, bm25: s.bm25 });
  const join = s.rows || s.where !== undefined;
  return `SELECT s.id, s.score${s.rows ? ', d.text, d.metadata' : ''}
    FROM (${scores}) AS s ${join ? `JOIN ${quoteIdent(t.table)} AS d ON d.id = s.id` : ''} ${s.where === undefined ? '' : `WHERE ${s.where}`}
    ORDER BY s.score DESC, s.id LIMIT ${s.limit}`;
}

/** side (0 dense, 1 keyword), id, score: a hybrid search's candidates from both sides. */
export function hybridCandidatesSql(t: StatementTarget, dense: DenseStatement, keyword: KeywordStatement): string {
  return `SELECT 0 AS side, id, score FROM (${denseSql(t, { ...dense, rows: false })}) AS dense
    UNION ALL
    SELECT 1 AS side, id, score FROM (${keywordSql(t, { ...keyword, rows: false })}) AS keyword`;
}
