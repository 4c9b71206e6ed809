/**
 * The share of a collection's rows a metadata filter matches, estimated from a bounded sample so that
 * its cost does not grow with the table: about SELECTIVITY_SAMPLE_ROWS rows read, whatever the size.
 * - A table the planner counts (pg_class.reltuples, kept by ANALYZE and autovacuum) at more than twice
 *   that is sampled with TABLESAMPLE SYSTEM: whole pages chosen at random, the percentage that holds
 *   about SELECTIVITY_SAMPLE_ROWS rows.
 * - A smaller table is counted in full, and one never analyzed (reltuples unknown) by its first
 *   2 x SELECTIVITY_SAMPLE_ROWS rows: bounded either way.
 * PostgreSQL's own selectivity estimate for jsonb predicates is a fixed guess without statistics on the
 * expression, so it is not used.
 */
import type { Pool, PoolClient } from './connection.ts';

export const SELECTIVITY_SAMPLE_ROWS = 10_000;

export interface FilterFraction {
  /** Matching rows / rows read (0 for an empty table). */
  readonly fraction: number;
  /** Rows read. */
  readonly sampled: number;
  readonly method: 'tablesample' | 'bounded-scan';
}

/** `where` is a compiled filter over the `metadata` column (filter-sql.ts) with its parameters. */
export async function estimateFilterFraction(client: Pool | PoolClient, table: string, where: string, params: readonly unknown[]): Promise<FilterFraction> {
  const estimate = await client.query<{ rows: number }>('SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = $1::regclass', [table]);
  const tableRows = estimate.rows[0]?.rows ?? -1;
  const sampled = tableRows > 2 * SELECTIVITY_SAMPLE_ROWS;
  const from = sampled
    ? `${table} TABLESAMPLE SYSTEM (${((100 * SELECTIVITY_SAMPLE_ROWS) / tableRows).toFixed(6)})`
    : `(SELECT metadata FROM ${table} LIMIT ${2 * SELECTIVITY_SAMPLE_ROWS}) AS bounded`;
  const { rows } = await client.query<{ matches: string; total: string }>(
    `SELECT (count(*) FILTER (WHERE ${where}))::text AS matches, count(*)::text AS total FROM ${from}`,
    params as unknown[],
  );
  const matches = Number(rows[0].matches);
  const total = Number(rows[0].total);
  return { fraction: total > 0 ? matches / total : 0, sampled: total, method: sampled ? 'tablesample' : 'bounded-scan' };
}
