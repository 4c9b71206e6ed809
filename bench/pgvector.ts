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
 *     selective filters exactly); pgvector's exact scan (index scans disabled) latency.
 *  5. Peer, same run, same vectors: the embedded store (Collection, usearch HNSW with the same M 16 /
 *     efConstruction 128), upsert rows/s, recall@10 and latency at the same ef; ratios.
 *
 * Options: --docs (50000), --dims (384), --batch (1000), --inline (2000), --queries (500),
 * --recall-queries (200), --ef (200), --efs (40,64,100,200,400), --sigma (1), --no-peer.
 * --overlap [--writers N (2)]: instead, N writer processes upserting overlapping batches in opposite
 * orders at once (bench/pgvector-overlap.ts): failed batches, exact contents, deadlocks detected.
 * Human-readable lines, then one JSON object as the last stdout line (recall10: at --ef).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Collection } from '../src/collection/collection.ts';
import { PgvectorCollection } from '../src/collection/pgvector/pgvector-collection.ts';
import { toVectorLiteral } from '../src/collection/pgvector/vector-codec.ts';
import { FlatIndex } from '../src/index/flat-index.ts';
import { normalizeInPlace } from '../src/index/validate.ts';
import { startPgServer } from '../test/helpers/pglite-server.ts';
import { runOverlap } from './pgvector-overlap.ts';
import { rng as uniform } from '../test/helpers/prng.ts';

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
const CENTERS = 1000;
const K = 10;
const log = (line: string): void => console.log(line);
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const t0 = performance.now();

// ---------------------------------------------------------------- data

/** The seeded uniform stream (mulberry32) with a standard normal sampler (Box-Muller, one output per pair). */
function rng(seed: number): { next: () => number; normal: () => number } {
  const next = uniform(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return { next, normal };
}

const centers = new Float32Array(CENTERS * DIMS);
{
  const r = rng(1);
  for (let i = 0; i < centers.length; i++) centers[i] = r.normal();
  normalizeInPlace(centers, CENTERS, DIMS);
}

function vectors(seed: number, rows: number): Float32Array {
  const out = new Float32Array(rows * DIMS);
  const r = rng(seed);
  const scale = SIGMA / Math.sqrt(DIMS);
  for (let i = 0; i < rows; i++) {
    const c = Math.floor(r.next() * CENTERS) * DIMS;
    const o = i * DIMS;
    for (let j = 0; j < DIMS; j++) out[o + j] = centers[c + j] + scale * r.normal();
  }
  normalizeInPlace(out, rows, DIMS);
  return out;
}

const data = vectors(2, N);
const queries = vectors(3, Math.max(QUERIES, RECALL_QUERIES));
const row = (m: Float32Array, i: number): Float32Array => m.subarray(i * DIMS, (i + 1) * DIMS);
const docs = (from: number, to: number) => Array.from({ length: to - from }, (_, j) => ({ id: `doc-${from + j}`, vector: row(data, from + j), metadata: { bucket: (from + j) % 100 } }));
const FILTER_BUCKET = 7;

function groundTruth(filter?: (i: number) => boolean): string[][] {
  const index = new FlatIndex({ dims: DIMS, metric: 'cosine' });
  const keep = Array.from({ length: N }, (_, i) => i).filter((i) => filter === undefined || filter(i));
  const m = new Float32Array(keep.length * DIMS);
  keep.forEach((i, j) => m.set(row(data, i), j * DIMS));
  index.add(BigUint64Array.from(keep, (i) => BigInt(i)), { data: m, rows: keep.length, dims: DIMS });
  const matches = index.search({ data: queries.subarray(0, RECALL_QUERIES * DIMS), rows: RECALL_QUERIES, dims: DIMS }, K);
  return matches.map((mm) => Array.from(mm.keys.subarray(0, mm.count), (key) => `doc-${key}`));
}

function recallOf(found: string[][], truth: string[][]): number {
  let hit = 0;
  let total = 0;
  found.forEach((f, q) => {
    const t = new Set(truth[q]);
    total += t.size;
    hit += f.filter((id) => t.has(id)).length;
  });
  return total === 0 ? 1 : hit / total;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

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
  for (let q = 0; q < QUERIES; q++) {
    const t = performance.now();
    await store.search(row(queries, q), { k: K, ef: EF });
    times.push(performance.now() - t);
  }
  const qps = QUERIES / ((performance.now() - start) / 1000);
  times.sort((a, b) => a - b);
  const filteredFound: string[][] = [];
  const filteredTimes: number[] = [];
  let short = 0;
  for (let q = 0; q < RECALL_QUERIES; q++) {
    const t = performance.now();
    const hits = await store.search(row(queries, q), { k: K, ef: EF, filter: { bucket: FILTER_BUCKET } });
    filteredTimes.push(performance.now() - t);
    if (hits.length < K) short++;
    filteredFound.push(hits.map((h) => h.id));
  }
  filteredTimes.sort((a, b) => a - b);
  const result = {
    recall10_by_ef: recallByEf,
    recall10: recallByEf[EF],
    search_p50_ms: round(percentile(times, 50), 3),
    search_p99_ms: round(percentile(times, 99), 3),
    qps: round(qps, 1),
    filtered_recall10: round(recallOf(filteredFound, filteredTruth), 4),
    filtered_p50_ms: round(percentile(filteredTimes, 50), 3),
    filtered_p99_ms: round(percentile(filteredTimes, 99), 3),
    filtered_short_of_k: short,
  };
  log(`  ${label} at ef ${EF}: p50 ${result.search_p50_ms} ms, p99 ${result.search_p99_ms} ms, ${result.qps} QPS (sequential, one connection)`);
  log(`  ${label} filtered (1% match): recall@10 ${result.filtered_recall10}, p50 ${result.filtered_p50_ms} ms, p99 ${result.filtered_p99_ms} ms, ${short} of ${RECALL_QUERIES} short of k`);
  return result;
}

// ---------------------------------------------------------------- run

log(`bench:pgvector — ${N} ${DIMS}-d vectors (Gaussian mixture, ${CENTERS} centres, sigma ${SIGMA}), k ${K}, ${cpus().length} CPUs, Node ${process.version}`);
log('exact ground truth (FlatIndex) ...');
const truth = groundTruth();
const filteredTruth = groundTruth((i) => i % 100 === FILTER_BUCKET);

const server = await startPgServer();
log(`server: ${server.embedded ? 'PGlite + pgvector via pglite-socket on' : 'BIENCODER_PG_URL'} ${server.url}`);
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

const pgResult = await measure(store, truth, filteredTruth, 'pgvector');

// pgvector's own exact scan (index scans disabled): the cost HNSW avoids.
const client = new pg.Client({ connectionString: server.url });
await client.connect();
const exactTimes: number[] = [];
await client.query('BEGIN');
await client.query(`SELECT set_config('enable_indexscan', 'off', true)`);
for (let q = 0; q < Math.min(20, queries.length / DIMS); q++) {
  const tq = performance.now();
  await client.query(`SELECT id FROM biencoder_${store.collectionName} ORDER BY embedding <=> $1::vector LIMIT 10`, [toVectorLiteral(row(queries, q))]);
  exactTimes.push(performance.now() - tq);
}
await client.query('COMMIT');
await client.end();
exactTimes.sort((a, b) => a - b);
const exactP50 = round(percentile(exactTimes, 50), 2);
log(`pgvector exact scan (index scans off): p50 ${exactP50} ms over 20 queries`);
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
    const m = await measure(c, truth, filteredTruth, 'embedded');
    await c.close();
    peer = { store: 'embedded (SQLite + usearch HNSW)', upsert_rows_per_s: Math.round(N / seconds), ...m };
    ratio = {
      qps_pgvector_over_embedded: round(pgResult.qps / m.qps, 3),
      p50_pgvector_over_embedded: round(pgResult.search_p50_ms / m.search_p50_ms, 2),
      recall10_pgvector_minus_embedded: round(pgResult.recall10 - m.recall10, 4),
    };
    log(`ratio: pgvector/embedded QPS ${ratio.qps_pgvector_over_embedded}, p50 ${ratio.p50_pgvector_over_embedded}x`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const result = {
  bench: 'pgvector',
  date: new Date().toISOString().slice(0, 10),
  docs: N,
  dims: DIMS,
  data: `random unit vectors, Gaussian mixture (${CENTERS} centres, sigma ${SIGMA})`,
  cpus: cpus().length,
  node: process.version,
  server: server.embedded ? 'PGlite 0.5.14 (PostgreSQL 18, wasm) via pglite-socket, pg client' : 'BIENCODER_PG_URL',
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
    exact_scan_p50_ms: exactP50,
  },
  peer,
  ratio,
  recall10: pgResult.recall10,
  total_seconds: Math.round((performance.now() - t0) / 1000),
};
console.log(JSON.stringify(result));
