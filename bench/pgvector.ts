/**
 * npm run bench:pgvector — the pgvector store over a real PostgreSQL wire protocol.
 *
 * PGlite 0.5.14 (PostgreSQL 18 in WebAssembly) with pgvector, served on 127.0.0.1 by pglite-socket and
 * reached with the ordinary `pg` client (or BIENCODER_PG_URL: any PostgreSQL with pgvector). The data:
 * --docs (50,000) random 384-d unit vectors drawn around 1,000 random centres (a Gaussian mixture,
 * sigma 1, as bench:collection), metadata { bucket: i % 100 }.
 *
 *  1. Bulk load: PgvectorCollection.create({ deferIndex: true }) and upsertVectors in batches of --batch
 *     (one transaction each) for the first docs - --inline documents: rows/s.
 *  2. HNSW build (m 16, ef_construction 128, cosine) with buildIndex(): seconds, rows/s.
 *  3. Inline upserts: the last --inline documents with the index maintained row by row: rows/s.
 *  4. Search, k 10, one query per call on one connection: recall@10 against exact search (FlatIndex in
 *     process, the ground truth) for each ef in --efs; latency p50/p99 and QPS at --ef (the headline);
 *     a 1% metadata filter (recall and how many results fall short of k; the store searches such
 *     selective filters exactly); pgvector's exact scan (the store's `ORDER BY distance + 0`) latency.
 *     Round trips: the statements the `pg` client sends (pg.Client.prototype.query counted, see
 *     pg-statements.ts) during the timed searches, after warm-up searches (so the one-time session
 *     setting and the filter's selectivity estimate are outside), per query, unfiltered and 1% filtered;
 *     and the statements of the first searches on a freshly opened handle (a new connection).
 *  5. Peer, same run, same vectors: the embedded store (Collection, usearch HNSW with the same M 16 /
 *     efConstruction 128), upsert rows/s, recall@10 and latency at the same ef; ratios.
 *  6. Text (bench/pgvector-text.ts; ~3 min on PGlite, on by default, --no-text skips it): BEIR scifact
 *     embedded with USE lite on both stores: dense, keyword and hybrid p50/p99, round trips per query,
 *     nDCG@10, ratios.
 *  7. Filtered search as the table grows (bench/pgvector-filter.ts; --filter-sizes 50000,200000 by
 *     default, `none` skips it; --filter-dims 64 keeps the load and build of 250,000 rows affordable on
 *     PGlite): 1%, 500-row and 50% filters, p50/p99, statements per search, recall, and the plan of the
 *     statement the store sends (EXPLAIN ANALYZE, BUFFERS): whether it holds a Seq Scan on the documents
 *     table, the rows it reads there; the p50 ratio of the largest size over the smallest.
 *
 * Options: --docs (50000), --dims (384), --batch (1000), --inline (2000), --queries (500),
 * --recall-queries (200), --ef (200), --efs (40,64,100,200,400), --sigma (1), --no-peer, --no-text,
 * --text-data (../shared/data/scifact), --filter-sizes (50000,200000 | none), --filter-dims (64),
 * --filter-queries (200).
 * --overlap [--writers N (2)]: instead, N writer processes upserting overlapping batches in opposite
 * orders at once (bench/pgvector-overlap.ts): failed batches, exact contents, deadlocks detected.
 * Human-readable lines, then one JSON object as the last stdout line (recall10: at --ef). */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Collection } from '../src/collection/collection.ts';
import { PgvectorCollection } from '../src/collection/pgvector/pgvector-collection.ts';
import { toVectorSend } from '../src/collection/pgvector/vector-codec.ts';
import { startPgServer } from '../test/helpers/pglite-server.ts';
import { runOverlap } from './pgvector-overlap.ts';
import { exactTopK, gaussianMixture, percentile, recallOf, round, rowOf } from './pgvector-data.ts';
import { runFilterPhase } from './pgvector-filter.ts';
import { runTextPhase } from './pgvector-text.ts';
import { recordStatements, statementHead, type SentStatement } from './pg-statements.ts';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '50000' },
    dims: { type: 'string', default: '384' },
    batch: { type: 'string', default: '1000' },
    inline: { type: 'string', default: '2000' },
    queries: { type: 'string', default: '500' },
    'recall-queries': { type: 'string', default: '200' },
    ef: { type: 'string', default: '200' },
    efs: { type: 'string', default: '40,64,100,200,400' },
    sigma: { type: 'string', default: '1' },
    'no-peer': { type: 'boolean', default: false },
    'no-text': { type: 'boolean', default: false },
    'text-data': { type: 'string', default: join('..', 'shared', 'data', 'scifact') },
    'filter-sizes': { type: 'string', default: '50000,200000' },
    'filter-dims': { type: 'string', default: '64' },
    'filter-queries': { type: 'string', default: '200' },
    overlap: { type: 'boolean', default: false },
    writers: { type: 'string', default: '2' },
  },
});
const int = (name: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
};
if (values.overlap) {
  const writers = int('writers', values.writers, 1);
  const figures = await runOverlap(writers);
  console.log(JSON.stringify({ bench: 'pgvector', mode: 'overlap', date: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version }, ...figures }));
  process.exit(0);
}
const N = int('docs', values.docs, 100);
const DIMS = int('dims', values.dims, 2);
const BATCH = int('batch', values.batch, 1);
const INLINE = Math.min(N - 1, int('inline', values.inline, 0));
const QUERIES = int('queries', values.queries, 1);
const RECALL_QUERIES = int('recall-queries', values['recall-queries'], 1);
const EF = int('ef', values.ef, 1);
const EFS = [...new Set([...values.efs!.split(',').map((s) => int('efs', s, 1)), EF])].sort((a, b) => a - b);
const SIGMA = Number(values.sigma);
const FILTER_SIZES = values['filter-sizes'] === 'none' || values['filter-sizes'] === '' ? [] : values['filter-sizes']!.split(',').map((s) => int('filter-sizes', s, 1000));
const FILTER_DIMS = int('filter-dims', values['filter-dims'], 2);
const FILTER_QUERIES = int('filter-queries', values['filter-queries'], 1);
const CENTERS = 1000;
const K = 10;
const log = (line: string): void => console.log(line);
const t0 = performance.now();
const load0 = loadavg()[0];

// ---------------------------------------------------------------- data

const draw = gaussianMixture(DIMS, CENTERS, SIGMA);
const data = draw(2, N);
const queries = draw(3, Math.max(QUERIES, RECALL_QUERIES));
const row = (m: Float32Array, i: number): Float32Array => rowOf(m, DIMS, i);
const docs = (from: number, to: number) => Array.from({ length: to - from }, (_, j) => ({ id: `doc-${from + j}`, vector: row(data, from + j), metadata: { bucket: (from + j) % 100 } }));
const FILTER_BUCKET = 7;

interface StoreUnderTest {
  search(q: Float32Array, options: { k: number; ef: number; filter?: { bucket: number } }): Promise<{ id: string }[]>;
}

async function measure(store: StoreUnderTest, truth: string[][], filteredTruth: string[][], label: string) {
  const recallByEf: Record<string, number> = {};
  for (const ef of EFS) {
    const found: string[][] = [];
    for (let q = 0; q < RECALL_QUERIES; q++) found.push((await store.search(row(queries, q), { k: K, ef })).map((h) => h.id));
    recallByEf[ef] = round(recallOf(found, truth), 4);
    log(`  ${label} recall@10 at ef ${ef}: ${recallByEf[ef]}`);
  }
  for (let q = 0; q < Math.min(20, queries.length / DIMS); q++) await store.search(row(queries, q), { k: K, ef: EF }); // warm-up
  const times: number[] = [];
  const start = performance.now();
  const timed = await recordStatements(async () => {
    for (let q = 0; q < QUERIES; q++) {
      const t = performance.now();
      await store.search(row(queries, q), { k: K, ef: EF });
      times.push(performance.now() - t);
    }
  });
  const qps = QUERIES / ((performance.now() - start) / 1000);
  times.sort((a, b) => a - b);
  const filter = { bucket: FILTER_BUCKET };
  for (let q = 0; q < 3; q++) await store.search(row(queries, q), { k: K, ef: EF, filter }); // warm-up: the filter's selectivity estimate
  const filteredFound: string[][] = [];
  const filteredTimes: number[] = [];
  let short = 0;
  const filtered = await recordStatements(async () => {
    for (let q = 0; q < RECALL_QUERIES; q++) {
      const t = performance.now();
      const hits = await store.search(row(queries, q), { k: K, ef: EF, filter });
      filteredTimes.push(performance.now() - t);
      if (hits.length < K) short++;
      filteredFound.push(hits.map((h) => h.id));
    }
  });
  filteredTimes.sort((a, b) => a - b);
  const result = {
    recall10_by_ef: recallByEf,
    recall10: recallByEf[EF],
    search_p50_ms: round(percentile(times, 50), 3),
    search_p99_ms: round(percentile(times, 99), 3),
    qps: round(qps, 1),
    search_round_trips_per_query: round(timed.statements.length / QUERIES, 3),
    filtered_recall10: round(recallOf(filteredFound, filteredTruth), 4),
    filtered_p50_ms: round(percentile(filteredTimes, 50), 3),
    filtered_p99_ms: round(percentile(filteredTimes, 99), 3),
    filtered_short_of_k: short,
    filtered_round_trips_per_query: round(filtered.statements.length / RECALL_QUERIES, 3),
  };
  log(`  ${label} at ef ${EF}: p50 ${result.search_p50_ms} ms, p99 ${result.search_p99_ms} ms, ${result.qps} QPS (sequential, one connection), ${result.search_round_trips_per_query} statements per search`);
  log(`  ${label} filtered (1% match): recall@10 ${result.filtered_recall10}, p50 ${result.filtered_p50_ms} ms, p99 ${result.filtered_p99_ms} ms, ${short} of ${RECALL_QUERIES} short of k, ${result.filtered_round_trips_per_query} statements per search`);
  return { result, filteredStatement: filtered.statements.find((s) => /ORDER BY/.test(s.text)) };
}

/** The statements of `fn`, logged one per line. */
async function listed(label: string, fn: () => Promise<unknown>): Promise<SentStatement[]> {
  const { statements } = await recordStatements(fn);
  log(`  ${label}: ${statements.length} statement(s)`);
  for (const s of statements) log(`    ${statementHead(s.text)}`);
  return statements;
}

// ---------------------------------------------------------------- run

log(`bench:pgvector — ${N} ${DIMS}-d vectors (Gaussian mixture, ${CENTERS} centres, sigma ${SIGMA}), k ${K}, ${cpus().length} CPUs, Node ${process.version}, load average ${load0.toFixed(2)}`);
log('exact ground truth (FlatIndex) ...');
const truth = exactTopK(data, DIMS, queries, RECALL_QUERIES, K);
const filteredTruth = exactTopK(data, DIMS, queries, RECALL_QUERIES, K, (i) => i % 100 === FILTER_BUCKET);

const server = await startPgServer();
const serverName = server.embedded ? 'PGlite 0.5.14 (PostgreSQL 18, wasm) via pglite-socket, pg client' : 'BIENCODER_PG_URL';
log(`server: ${server.embedded ? 'PGlite + pgvector via pglite-socket on' : 'BIENCODER_PG_URL'} ${server.url}`);
{
  const { rows } = await server.query<{ v: string }>('SELECT version() AS v');
  log(`  ${rows[0].v}`);
}
const url = server.collectionUrl('bench');
const index = { kind: 'hnsw', connectivity: 16, expansionAdd: 128, expansionSearch: 64 } as const;
const store = await PgvectorCollection.create(url, { encoder: { modelId: 'bench/gaussian-mixture', dims: DIMS, normalized: true }, metric: 'cosine', index, deferIndex: true, poolSize: 1 });
log(`pgvector ${store.pgvectorVersion}`);

const bulkEnd = N - INLINE;
let t = performance.now();
for (let i = 0; i < bulkEnd; i += BATCH) await store.upsertVectors(docs(i, Math.min(bulkEnd, i + BATCH)));
const bulkSeconds = (performance.now() - t) / 1000;
log(`bulk upsert (no index yet): ${bulkEnd} rows in ${round(bulkSeconds, 1)} s = ${Math.round(bulkEnd / bulkSeconds)} rows/s`);

t = performance.now();
await store.buildIndex({ maintenanceWorkMem: '512MB' });
const buildSeconds = (performance.now() - t) / 1000;
log(`HNSW build (m 16, ef_construction 128): ${round(buildSeconds, 1)} s = ${Math.round(bulkEnd / buildSeconds)} rows/s`);

t = performance.now();
for (let i = bulkEnd; i < N; i += BATCH) await store.upsertVectors(docs(i, Math.min(N, i + BATCH)));
const inlineSeconds = (performance.now() - t) / 1000;
if (INLINE > 0) log(`inline upsert (index maintained): ${INLINE} rows in ${round(inlineSeconds, 1)} s = ${Math.round(INLINE / inlineSeconds)} rows/s`);
if ((await store.count()) !== N) throw new Error('count mismatch');

const { result: pgResult, filteredStatement } = await measure(store, truth, filteredTruth, 'pgvector');
// autovacuum (a real server's, PGlite has none) may have vacuumed the table since the load: the GIN index's pending list is then merged
const tableState = (await server.query<{ analyzed: boolean; vacuumed: boolean }>(
  `SELECT coalesce(last_analyze, last_autoanalyze) IS NOT NULL AS analyzed, coalesce(last_vacuum, last_autovacuum) IS NOT NULL AS vacuumed FROM pg_stat_user_tables WHERE relid = $1::regclass`,
  [`"biencoder_${store.collectionName}"`],
)).rows[0] ?? { analyzed: false, vacuumed: false };
log(`  table state after the searches: analyzed ${tableState.analyzed}, vacuumed ${tableState.vacuumed}`);
if (filteredStatement !== undefined) log(`  the 1% filtered search sends: ${statementHead(filteredStatement.text, 400)}`);

// The first searches on a fresh handle (a new pooled connection, nothing cached).
log('statements of the first searches on a freshly opened handle (poolSize 1):');
const fresh = await PgvectorCollection.open(url, { poolSize: 1 });
const firstDense = await listed('first dense search', () => fresh.search(row(queries, 0), { k: K, ef: EF }));
const secondDense = await listed('second dense search', () => fresh.search(row(queries, 1), { k: K, ef: EF }));
const firstFiltered = await listed('first 1% filtered search', () => fresh.search(row(queries, 2), { k: K, ef: EF, filter: { bucket: FILTER_BUCKET } }));
const secondFiltered = await listed('second 1% filtered search', () => fresh.search(row(queries, 3), { k: K, ef: EF, filter: { bucket: FILTER_BUCKET } }));
await fresh.close();

// pgvector's own exact scan: the store's exact form (ORDER BY distance + 0, no index can serve it).
const client = new pg.Client({ connectionString: server.url });
await client.connect();
const exactTimes: number[] = [];
for (let q = 0; q < Math.min(20, queries.length / DIMS); q++) {
  const tq = performance.now();
  await client.query(`SELECT id FROM biencoder_${store.collectionName} ORDER BY (embedding <=> $1::vector(${DIMS})) + 0 LIMIT 10`, [toVectorSend(row(queries, q))]);
  exactTimes.push(performance.now() - tq);
}
await client.end();
exactTimes.sort((a, b) => a - b);
const exactP50 = round(percentile(exactTimes, 50), 2);
log(`pgvector exact scan (ORDER BY distance + 0): p50 ${exactP50} ms over 20 queries`);
await store.close();
await server.stop();

let peer: Record<string, unknown> | undefined;
let ratio: Record<string, number> | undefined;
if (!values['no-peer']) {
  log('peer: the embedded store (usearch HNSW, M 16, efConstruction 128), same vectors ...');
  const dir = mkdtempSync(join(tmpdir(), 'biencoder-bench-pgvector-'));
  try {
    const c = await Collection.create(join(dir, 'c'), { encoder: { modelId: 'bench/gaussian-mixture', dims: DIMS, normalized: true }, metric: 'cosine', index, autoFlushChanges: Number.POSITIVE_INFINITY });
    t = performance.now();
    for (let i = 0; i < N; i += BATCH) await c.upsertVectors(docs(i, Math.min(N, i + BATCH)));
    const seconds = (performance.now() - t) / 1000;
    log(`  embedded upsert (HNSW inline): ${Math.round(N / seconds)} rows/s`);
    const { result: m } = await measure(c, truth, filteredTruth, 'embedded');
    await c.close();
    const { search_round_trips_per_query: _a, filtered_round_trips_per_query: _b, ...inProcess } = m; // in process: no round trips
    peer = { store: 'embedded (SQLite + usearch HNSW)', upsert_rows_per_s: Math.round(N / seconds), ...inProcess };
    ratio = {
      qps_pgvector_over_embedded: round(pgResult.qps / m.qps, 3),
      p50_pgvector_over_embedded: round(pgResult.search_p50_ms / m.search_p50_ms, 2),
      filtered_p50_pgvector_over_embedded: round(pgResult.filtered_p50_ms / m.filtered_p50_ms, 2),
      recall10_pgvector_minus_embedded: round(pgResult.recall10 - m.recall10, 4),
    };
    log(`ratio: pgvector/embedded QPS ${ratio.qps_pgvector_over_embedded}, p50 ${ratio.p50_pgvector_over_embedded}x, filtered p50 ${ratio.filtered_p50_pgvector_over_embedded}x`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const text = values['no-text'] ? undefined : await runTextPhase({ dataset: values['text-data']!, startServer: startPgServer, log });

let filtered: Record<string, unknown> | undefined;
if (FILTER_SIZES.length > 0) {
  log(`\nfiltered search as the table grows: ${FILTER_SIZES.join(', ')} rows of ${FILTER_DIMS}-d vectors (--filter-dims ${FILTER_DIMS}: smaller than --dims ${DIMS} so that loading and indexing ${FILTER_SIZES.reduce((a, b) => a + b, 0)} rows stays affordable${server.embedded ? ' on PGlite' : ''})`);
  filtered = await runFilterPhase({ sizes: FILTER_SIZES, dims: FILTER_DIMS, batch: BATCH, queries: FILTER_QUERIES, recallQueries: Math.min(50, FILTER_QUERIES), startServer: startPgServer, log });
}

const result = {
  bench: 'pgvector',
  date: new Date().toISOString().slice(0, 10),
  docs: N,
  dims: DIMS,
  data: `random unit vectors, Gaussian mixture (${CENTERS} centres, sigma ${SIGMA})`,
  cpus: cpus().length,
  node: process.version,
  load_average_1m: { start: round(load0, 2), end: round(loadavg()[0], 2) },
  server: serverName,
  pgvector: {
    version: store.pgvectorVersion,
    index: { m: 16, ef_construction: 128 },
    bulk_upsert_rows_per_s: Math.round(bulkEnd / bulkSeconds),
    bulk_rows: bulkEnd,
    index_build_seconds: round(buildSeconds, 1),
    index_build_rows_per_s: Math.round(bulkEnd / buildSeconds),
    inline_upsert_rows_per_s: INLINE > 0 ? Math.round(INLINE / inlineSeconds) : null,
    ef: EF,
    ...pgResult,
    table_vacuumed_at_search: tableState.vacuumed,
    first_search_statements: { dense: firstDense.length, dense_second: secondDense.length, filtered_1pct: firstFiltered.length, filtered_1pct_second: secondFiltered.length },
    exact_scan_p50_ms: exactP50,
  },
  peer,
  ratio,
  text,
  filtered,
  recall10: pgResult.recall10,
  search_round_trips_per_query: pgResult.search_round_trips_per_query,
  total_seconds: Math.round((performance.now() - t0) / 1000),
};
console.log(JSON.stringify(result));
