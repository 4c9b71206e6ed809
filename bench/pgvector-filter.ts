/**
 * bench:pgvector's filtered-search phase (--filter-sizes, default 50000,200000): what a filtered dense
 * search costs as the table grows, and the plan of the statement the store sends.
 *
 * For each size N: a fresh server (PGlite) or collection (BIENCODER_PG_URL); N random unit vectors of
 * --filter-dims (64: the load and HNSW build of 250,000 rows stay affordable on PGlite) drawn as the
 * main phase's, metadata { bucket: i % 100, half: i % 2 = 0, tile: i % (N / 500) }, bulk-loaded with the
 * index deferred, then the HNSW index built (m 16, ef_construction 128). Three filters, k 10:
 *   1%        { bucket: 7 }   N / 100 rows: selective, searched exactly through the GIN index on metadata
 *   500 rows  { tile: 7 }     500 rows at every N: the cost of a selective filter alone, whatever the table
 *   50%       { half: true }  N / 2 rows: not selective, an HNSW scan (iterative) with the filter
 * For each: latency p50/p99 and statements per search (after the filter's selectivity estimate is
 * cached), recall@10 against FlatIndex on the matching rows, and the plan: the statement the store sent
 * for the first timed query (text and parameters captured from pg.Client.prototype.query) run again as
 * EXPLAIN (ANALYZE, BUFFERS) on the bench's own connection with the store's session settings
 * (pgvector-explain.ts). A reference: the same 1% statement with bitmap and index scans disabled (the
 * full scan the GIN index replaces), its plan and latency. The table is measured as loaded first (the
 * store runs no VACUUM or ANALYZE, and the bench turns autovacuum off for the table so that every size
 * and server is measured in the same state: the GIN index's pending list holds the rows inserted since
 * the index was made, up to gin_pending_list_limit, and every lookup reads that list), then again after
 * VACUUM ANALYZE, what autovacuum does (the 1% and 500-row filters; plans printed when they differ).
 */
import pg from 'pg';
import type { MetadataFilter } from '../src/collection/filter.ts';
import { parseVersion, versionAtLeast } from '../src/collection/pgvector/connection.ts';
import { PgvectorCollection } from '../src/collection/pgvector/pgvector-collection.ts';
import type { PgServer } from '../test/helpers/pglite-server.ts';
import { exactTopK, gaussianMixture, latency, recallOf, round, rowOf } from './pgvector-data.ts';
import { explainStatement, timeStatement, type PlanSummary, type Settings } from './pgvector-explain.ts';
import { lastHnswSettings, recordStatements, statementHead, type SentStatement } from './pg-statements.ts';

export interface FilterPhaseOptions {
  readonly sizes: readonly number[];
  readonly dims: number;
  readonly batch: number;
  /** Timed searches per filter. */
  readonly queries: number;
  /** Searches per filter scored against exact ground truth. */
  readonly recallQueries: number;
  readonly startServer: () => Promise<PgServer>;
  readonly log: (line: string) => void;
}

const K = 10;
const EF = 64;
const TILE_ROWS = 500;

interface FilterCase {
  readonly name: string;
  readonly filter: MetadataFilter;
  readonly keep: (i: number, n: number) => boolean;
}

const CASES: readonly FilterCase[] = [
  { name: '1%', filter: { bucket: 7 }, keep: (i) => i % 100 === 7 },
  { name: '500_rows', filter: { tile: 7 }, keep: (i, n) => i % tiles(n) === 7 },
  { name: '50%', filter: { half: true }, keep: (i) => i % 2 === 0 },
];

function tiles(n: number): number {
  return Math.max(8, Math.round(n / TILE_ROWS));
}

function planFigures(p: PlanSummary): Record<string, unknown> {
  const metadataIndex = Object.entries(p.indexBuffers).filter(([name]) => name.endsWith('$m')).reduce((sum, [, b]) => sum + b, 0);
  return {
    seq_scan_on_documents: p.seqScanOnTable,
    documents_access: p.tableAccess.join(' > '),
    documents_rows_read: p.tableRowsRead,
    documents_heap_blocks: p.tableHeapBlocks,
    documents_buffers: p.tableBuffers,
    documents_buffers_read: p.tableBuffersRead,
    metadata_index_buffers: metadataIndex,
    execution_ms: round(p.executionMs, 3),
  };
}

interface FilterRun {
  readonly figures: Record<string, unknown>;
  readonly statement: SentStatement;
  readonly settings: Settings;
  readonly plan: PlanSummary;
}

/** Runs the phase; returns the JSON figures (per size, and the ratios of the last size over the first). */
export async function runFilterPhase(o: FilterPhaseOptions): Promise<Record<string, unknown>> {
  const { dims, log } = o;
  const draw = gaussianMixture(dims, 1000, 1);
  const queries = draw(3, Math.max(o.queries, o.recallQueries) + 5);
  const q = (i: number): Float32Array => rowOf(queries, dims, i);
  const bySize: Record<string, Record<string, unknown>> = {};
  for (const n of o.sizes) {
    log(`\nfiltered search at ${n} rows (${dims}-d; metadata { bucket: i % 100, half: i % 2 = 0, tile: i % ${tiles(n)} })`);
    const data = draw(2, n);
    const server = await o.startServer();
    const store = await PgvectorCollection.create(server.collectionUrl('filter'), {
      encoder: { modelId: `bench/gaussian-mixture-${dims}`, dims, normalized: true }, metric: 'cosine',
      index: { kind: 'hnsw', connectivity: 16, expansionAdd: 128, expansionSearch: EF }, deferIndex: true, poolSize: 1,
    });
    const table = `biencoder_${store.collectionName}`;
    const iterative = versionAtLeast(parseVersion(store.pgvectorVersion), [0, 8, 0]);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      // no autovacuum on this table until the VACUUM ANALYZE below: "as loaded" is then the same state at
      // every size (on a real server autovacuum would otherwise merge the GIN pending list at a time of its own)
      await client.query(`ALTER TABLE "${table}" SET (autovacuum_enabled = false)`);
      let t = performance.now();
      for (let i = 0; i < n; i += o.batch) {
        const end = Math.min(n, i + o.batch);
        await store.upsertVectors(Array.from({ length: end - i }, (_, j) => {
          const r = i + j;
          return { id: `doc-${r}`, vector: rowOf(data, dims, r), metadata: { bucket: r % 100, half: r % 2 === 0, tile: r % tiles(n) } };
        }));
      }
      const loadSeconds = (performance.now() - t) / 1000;
      log(`  bulk load: ${round(loadSeconds, 1)} s (${Math.round(n / loadSeconds)} rows/s)`);
      t = performance.now();
      await store.buildIndex({ maintenanceWorkMem: '512MB' });
      const buildSeconds = (performance.now() - t) / 1000;
      log(`  HNSW build: ${round(buildSeconds, 1)} s`);
      if ((await store.count()) !== n) throw new Error('count mismatch');
      const stats = async (): Promise<{ reltuples: number; analyzed: boolean; vacuumed: boolean }> => {
        const { rows } = await client.query<{ reltuples: number; analyzed: boolean; vacuumed: boolean }>(
          `SELECT c.reltuples::float8 AS reltuples, coalesce(s.last_analyze, s.last_autoanalyze) IS NOT NULL AS analyzed,
                  coalesce(s.last_vacuum, s.last_autovacuum) IS NOT NULL AS vacuumed
           FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = $1::regclass`, [`"${table}"`]);
        return rows[0];
      };
      const before = await stats();
      log(`  table as loaded (autovacuum off for it): reltuples ${before.reltuples}, analyzed ${before.analyzed}, vacuumed ${before.vacuumed} (the GIN index's pending list holds the rows inserted since the index was made or last vacuumed)`);

      const runFilter = async (c: FilterCase, indent: string, printPlan: boolean): Promise<FilterRun> => {
        // warm-up: the first search estimates the filter's selectivity (cached 30 s by the store)
        const warm = await recordStatements(async () => {
          for (let i = 0; i < 5; i++) await store.search(q(o.queries + i), { k: K, filter: c.filter });
        });
        const times: number[] = [];
        const found: string[][] = [];
        const { statements } = await recordStatements(async () => {
          for (let i = 0; i < o.queries; i++) {
            const t0 = performance.now();
            const hits = await store.search(q(i), { k: K, filter: c.filter });
            times.push(performance.now() - t0);
            if (i < o.recallQueries) found.push(hits.map((h) => h.id));
          }
        });
        const statement = statements.find((s) => /ORDER BY/.test(s.text) && /LIMIT/.test(s.text));
        if (statement === undefined) throw new Error(`no search statement captured for the ${c.name} filter`);
        const exact = /\+ 0 LIMIT/.test(statement.text.replace(/\s+/g, ' '));
        // the store's session settings as it last sent them (its own connection is not reachable), else what it should have set
        const sent = lastHnswSettings();
        const settings: Settings = exact ? {} : sent['hnsw.ef_search'] !== undefined ? sent : { 'hnsw.ef_search': String(EF), ...(iterative ? { 'hnsw.iterative_scan': 'relaxed_order' } : {}) };
        const truth = exactTopK(data, dims, queries, Math.min(o.recallQueries, o.queries), K, (i) => c.keep(i, n));
        const plan = await explainStatement(client, statement, settings, table);
        const l = latency(times);
        const recall = round(recallOf(found, truth), 4);
        const figures = {
          filter: c.filter, route: exact ? 'exact' : 'hnsw', p50_ms: l.p50, p99_ms: l.p99, statements_per_search: round(statements.length / o.queries, 3), recall10: recall,
          plan: planFigures(plan),
        };
        log(`${indent}${c.name} filter ${JSON.stringify(c.filter)}: ${exact ? 'exact scan' : `HNSW scan (ef ${settings['hnsw.ef_search']}${settings['hnsw.iterative_scan'] ? `, iterative ${settings['hnsw.iterative_scan']}` : ''})`}, p50 ${l.p50} ms, p99 ${l.p99} ms, ${figures.statements_per_search} statements per search (warm-up: ${warm.statements.length} for 5), recall@10 ${recall}`);
        if (printPlan) {
          log(`${indent}  statement: ${statementHead(statement.text, 200)}`);
          log(`${indent}  plan (EXPLAIN ANALYZE, BUFFERS; ${exact ? 'no session settings' : Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join(', ')}):`);
          for (const line of plan.lines) log(`${indent}    ${line}`);
        }
        log(`${indent}  documents table: ${plan.tableAccess.join(' > ') || '(not read)'}, ${plan.tableRowsRead} rows read${plan.tableHeapBlocks === null ? '' : `, ${plan.tableHeapBlocks} heap blocks`}, ${plan.tableBuffers} buffers (${plan.tableBuffersRead} read from outside shared buffers), metadata index buffers ${figures.plan.metadata_index_buffers}, Seq Scan: ${plan.seqScanOnTable}, ${round(plan.executionMs, 3)} ms`);
        return { figures, statement, settings, plan };
      };

      const figures: Record<string, unknown> = {
        rows: n, dims, load_seconds: round(loadSeconds, 1), index_build_seconds: round(buildSeconds, 1),
        reltuples_as_loaded: before.reltuples, analyzed_as_loaded: before.analyzed, vacuumed_as_loaded: before.vacuumed,
      };
      const runs = new Map<string, FilterRun>();
      for (const c of CASES) {
        const r = await runFilter(c, '  ', true);
        runs.set(c.name, r);
        figures[c.name] = r.figures;
      }
      const onePercent = runs.get('1%')!;
      const off: Settings = { ...onePercent.settings, enable_bitmapscan: 'off', enable_indexscan: 'off' };
      const refPlan = await explainStatement(client, onePercent.statement, off, table);
      const refTimes: number[] = [];
      for (let i = 0; i < 10; i++) refTimes.push(await timeStatement(client, onePercent.statement, off));
      const ref = latency(refTimes);
      log(`  reference: the 1% statement with bitmap and index scans off (the full scan the GIN index replaces): ${refPlan.tableAccess.join(' > ')}, ${refPlan.tableRowsRead} rows read, p50 ${ref.p50} ms over 10 runs`);
      figures.full_scan_reference_1pct = { p50_ms: ref.p50, plan: planFigures(refPlan) };

      // What autovacuum does to a loaded table: the GIN pending list merged, statistics gathered.
      t = performance.now();
      await client.query(`VACUUM ANALYZE "${table}"`);
      log(`  after VACUUM ANALYZE (${round((performance.now() - t) / 1000, 1)} s; what autovacuum does), the selective filters again:`);
      const vacuumed: Record<string, unknown> = {};
      for (const c of CASES.filter((x) => x.name !== '50%')) {
        const r = await runFilter(c, '    ', false);
        vacuumed[c.name] = r.figures;
        if (r.plan.tableAccess.join() !== runs.get(c.name)!.plan.tableAccess.join()) for (const line of r.plan.lines) log(`        ${line}`);
      }
      figures.after_vacuum_analyze = vacuumed;
      bySize[String(n)] = figures;
    } finally {
      await client.end();
      await store.close();
      await server.stop();
    }
  }
  const ratios: Record<string, number> = {};
  if (o.sizes.length > 1) {
    const first = bySize[String(o.sizes[0])];
    const last = bySize[String(o.sizes[o.sizes.length - 1])];
    const tag = `${o.sizes[o.sizes.length - 1] / 1000}k_over_${o.sizes[0] / 1000}k`;
    type Run = { p50_ms: number; plan: { documents_rows_read: number } };
    const put = (key: string, a: Run, b: Run): void => {
      ratios[`p50_${key}_${tag}`] = round(b.p50_ms / a.p50_ms, 2);
      ratios[`rows_read_${key}_${tag}`] = round(b.plan.documents_rows_read / Math.max(1, a.plan.documents_rows_read), 2);
    };
    for (const c of CASES) put(c.name, first[c.name] as Run, last[c.name] as Run);
    for (const name of ['1%', '500_rows']) {
      put(`${name}_vacuumed`, (first.after_vacuum_analyze as Record<string, Run>)[name], (last.after_vacuum_analyze as Record<string, Run>)[name]);
    }
    put('full_scan_1%', first.full_scan_reference_1pct as Run, last.full_scan_reference_1pct as Run);
    ratios[`table_rows_${tag}`] = round(o.sizes[o.sizes.length - 1] / o.sizes[0], 2);
    log(`\nfiltered p50 ${tag} (table ${ratios[`table_rows_${tag}`]}x): as loaded ${CASES.map((c) => `${c.name} ${ratios[`p50_${c.name}_${tag}`]}`).join(', ')}; after VACUUM ANALYZE 1% ${ratios[`p50_1%_vacuumed_${tag}`]}, 500_rows ${ratios[`p50_500_rows_vacuumed_${tag}`]}; the full scan the GIN index replaces ${ratios[`p50_full_scan_1%_${tag}`]}`);
  }
  return { dims, k: K, ef: EF, sizes: bySize, ratios };
}
