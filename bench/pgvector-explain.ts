/**
 * EXPLAIN (ANALYZE, BUFFERS) of a statement a PgvectorCollection sent (captured by pg-statements.ts), run
 * again with the same text and parameters on the bench's own connection, inside a transaction whose
 * local settings are the store's session settings (hnsw.ef_search, hnsw.iterative_scan for its HNSW
 * scans; none for its exact scans). The transaction is rolled back: set_config(..., true) lasts only for
 * it, so nothing leaks into other sessions (PGlite serves every connection from one session).
 */
import type pg from 'pg';
import type { SentStatement } from './pg-statements.ts';

/** Settings applied with set_config(name, value, true) before the statement. */
export type Settings = Readonly<Record<string, string>>;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Exact Heap Blocks'?: number;
  'Lossy Heap Blocks'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

export interface PlanSummary {
  /** The text plan's lines. */
  readonly lines: string[];
  /** The plan holds a Seq Scan on the documents table. */
  readonly seqScanOnTable: boolean;
  /** How the documents table is read: node types (and index names), outermost first. */
  readonly tableAccess: string[];
  /** Rows the plan read from the documents table: actual rows plus rows removed by filters and rechecks, times loops. */
  readonly tableRowsRead: number;
  /** Heap blocks of the documents table a bitmap scan visited (exact + lossy); null for other scans. */
  readonly tableHeapBlocks: number | null;
  /** Shared buffers (hit + read) of the nodes on the documents table, their index scans included. */
  readonly tableBuffers: number;
  /** Of those, the ones read from outside PostgreSQL's shared buffers (the OS cache or the disk). */
  readonly tableBuffersRead: number;
  /** Shared buffers (hit + read) of each index scan node, by index name (a bitmap index scan's own, not its heap's). */
  readonly indexBuffers: Readonly<Record<string, number>>;
  /** The server's Execution Time (ms). */
  readonly executionMs: number;
}

async function inLocalSettings<T>(client: pg.Client, settings: Settings, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    for (const [name, value] of Object.entries(settings)) await client.query('SELECT set_config($1, $2, true)', [name, value]);
    return await fn();
  } finally {
    await client.query('ROLLBACK');
  }
}

/** EXPLAIN (ANALYZE, BUFFERS) of `statement` on `client` with `settings`; `table` is the documents table (unquoted). */
export async function explainStatement(client: pg.Client, statement: SentStatement, settings: Settings, table: string): Promise<PlanSummary> {
  return inLocalSettings(client, settings, async () => {
    const text = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, [...statement.values]);
    const json = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`, [...statement.values]);
    const root = json.rows[0]['QUERY PLAN'][0];
    let seq = false;
    let rowsRead = 0;
    let heapBlocks: number | null = null;
    let buffers = 0;
    let buffersRead = 0;
    const access: string[] = [];
    const indexBuffers: Record<string, number> = {};
    const onTable = (n: PlanNode): boolean => n['Relation Name'] === table || (n['Relation Name']?.startsWith(`${table}$`) === true && !n['Relation Name'].startsWith(`${table}$t`));
    const walk = (n: PlanNode): void => {
      if (onTable(n)) {
        if (n['Node Type'] === 'Seq Scan') seq = true;
        access.push(n['Index Name'] === undefined ? n['Node Type'] : `${n['Node Type']} using ${n['Index Name']}`);
        const loops = n['Actual Loops'] ?? 1;
        rowsRead += ((n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0)) * loops;
        if (n['Exact Heap Blocks'] !== undefined || n['Lossy Heap Blocks'] !== undefined) heapBlocks = (heapBlocks ?? 0) + (n['Exact Heap Blocks'] ?? 0) + (n['Lossy Heap Blocks'] ?? 0);
        buffers += (n['Shared Hit Blocks'] ?? 0) + (n['Shared Read Blocks'] ?? 0);
        buffersRead += n['Shared Read Blocks'] ?? 0;
      }
      const indexName = n['Index Name'];
      if (indexName !== undefined) indexBuffers[indexName] = (indexBuffers[indexName] ?? 0) + (n['Shared Hit Blocks'] ?? 0) + (n['Shared Read Blocks'] ?? 0);
      for (const child of n.Plans ?? []) walk(child);
    };
    walk(root.Plan);
    return {
      lines: text.rows.map((r) => shortenVectors(r['QUERY PLAN'])),
      seqScanOnTable: seq,
      tableAccess: access,
      tableRowsRead: Math.round(rowsRead),
      tableHeapBlocks: heapBlocks,
      tableBuffers: buffers,
      tableBuffersRead: buffersRead,
      indexBuffers,
      executionMs: root['Execution Time'],
    };
  });
}

/** A plan line with its vector constants ('[0.1,0.2,...]'::vector(d)) cut to their first values. */
function shortenVectors(line: string): string {
  return line.replace(/'\[([^\]]*)\]'/g, (_, inner: string) => {
    const values = inner.split(',');
    return values.length <= 3 ? `'[${inner}]'` : `'[${values.slice(0, 2).join(',')},... ${values.length} values]'`;
  });
}

/** Runs `statement` (not EXPLAINed) on `client` with `settings`; returns the wall time (ms). */
export async function timeStatement(client: pg.Client, statement: SentStatement, settings: Settings): Promise<number> {
  return inLocalSettings(client, settings, async () => {
    const t = performance.now();
    await client.query(statement.text, [...statement.values]);
    return performance.now() - t;
  });
}
