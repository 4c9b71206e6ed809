/**
 * npm run bench:collection — the embedded store at scale, with the encoder out of the picture.
 *
 * Vectors are random unit vectors, not embeddings (seeded): by default a Gaussian mixture (1,000
 * random unit centres, each vector = centre + N(0, sigma^2/dims) noise, normalized), because
 * uniformly random 384-d vectors have no structure: their "nearest" neighbours are barely nearer
 * than any other vector, HNSW recall is meaningless on them and its inserts are slowest. --data
 * uniform selects those.
 *
 *  A. The store at full size (--docs, default 1,000,000): documents with precomputed vectors and
 *     metadata { bucket: i % 100 } ingested by upsertVectors (batches of --batch) into a collection
 *     with an exact (flat) index: upsert throughput of the store itself (SQLite commit with fsync +
 *     an in-memory add), flush and reopen times, bytes per document on disk, exact search latency
 *     and filtered (1%) search latency.
 *  B. HNSW f32 (the default collection index) on the first --hnsw-docs documents, updated inline
 *     by upsertVectors: upsert throughput with the graph insert, search latency p50/p99 (k 10,
 *     one query per call), filtered search latency, recall@10 against exact search.
 *  C. Index build time and bytes per vector in the index for f32, i8 and b1 on the first --subset
 *     vectors (HNSW built directly from the vectors, as a reopen rebuilds it): build seconds,
 *     in-memory bytes per vector (memoryUsage) and on-disk bytes per vector (the index file and its
 *     .f32 companion), recall@10.
 *
 * HNSW inserts dominate: ~1,000-2,300 vectors/s here (2 vCPUs; usearch's threads do not help on
 * them), so the full run takes 15-25 minutes; --hnsw-docs N builds the graph on fewer documents.
 *
 * Options: --docs (1000000), --hnsw-docs (= docs), --subset (min(docs, 100000)),
 * --dims (384), --batch (1000), --queries (1000), --flat-queries (100), --recall-queries (50),
 * --data clustered|uniform, --sigma (1), --dir, --keep.
 * Human-readable lines, then one JSON object as the last stdout line.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Collection, DEFAULT_COLLECTION_INDEX } from '../src/collection/collection.ts';
import { createIndex, type IndexSpec, type IndexSpecInput } from '../src/collection/index-backend.ts';
import { indexFileGroup, listIndexFiles } from '../src/collection/index-sync.ts';
import type { MetadataFilter } from '../src/collection/filter.ts';
import { normalizeInPlace } from '../src/index/validate.ts';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '1000000' },
    'hnsw-docs': { type: 'string' },
    subset: { type: 'string' },
    dims: { type: 'string', default: '384' },
    batch: { type: 'string', default: '1000' },
    queries: { type: 'string', default: '1000' },
    'flat-queries': { type: 'string', default: '100' },
    'recall-queries': { type: 'string', default: '50' },
    data: { type: 'string', default: 'clustered' },
    sigma: { type: 'string', default: '1' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const int = (name: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
};
const N = int('docs', values.docs, 1);
const HNSW_N = Math.min(N, int('hnsw-docs', values['hnsw-docs'] ?? String(N), 1));
const SUBSET = Math.min(N, int('subset', values.subset ?? String(Math.min(N, 100_000)), 1));
const DIMS = int('dims', values.dims, 1);
const BATCH = int('batch', values.batch, 1);
const QUERIES = int('queries', values.queries, 1);
const FLAT_QUERIES = int('flat-queries', values['flat-queries'], 1);
const RECALL_QUERIES = int('recall-queries', values['recall-queries'], 0);
const DATA = values.data;
if (DATA !== 'clustered' && DATA !== 'uniform') throw new Error('--data must be clustered or uniform');
const SIGMA = Number(values.sigma);
const CENTERS = 1000;
const K = 10;

const root = values.dir ?? mkdtempSync(join(tmpdir(), 'biencoder-bench-collection-'));
const log = (line: string): void => console.log(line);
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const fileSize = (path: string): number => statSync(path).size;
const dbBytes = (d: string): number => ['collection.db', 'collection.db-wal'].reduce((s, f) => s + (existsSync(join(d, f)) ? fileSize(join(d, f)) : 0), 0);
const indexBytes = (d: string): number => listIndexFiles(d).flatMap((f) => indexFileGroup(d, f.name)).reduce((s, f) => s + fileSize(join(d, f)), 0);
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

// ---------------------------------------------------------------- data

/** A small fast PRNG (xorshift32) with a standard normal sampler. */
class Rng {
  #s: number;
  #spare: number | undefined;
  constructor(seed: number) {
    this.#s = ((seed * 2654435761) ^ 0x9e3779b9) >>> 0 || 1;
  }
  next(): number {
    let s = this.#s;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    this.#s = s;
    return s / 4294967296;
  }
  normal(): number {
    if (this.#spare !== undefined) {
      const v = this.#spare;
      this.#spare = undefined;
      return v;
    }
    const u = 1 - this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * this.next();
    this.#spare = r * Math.sin(t);
    return r * Math.cos(t);
  }
}

const centers = new Float32Array(CENTERS * DIMS);
{
  const r = new Rng(42);
  for (let i = 0; i < centers.length; i++) centers[i] = r.normal();
  normalizeInPlace(centers, CENTERS, DIMS);
}

/** `rows` vectors from a seeded stream (batch b of the documents, or the queries). */
function vectors(seed: number, rows: number, out: Float32Array = new Float32Array(rows * DIMS)): Float32Array {
  const r = new Rng(seed);
  const scale = SIGMA / Math.sqrt(DIMS);
  for (let i = 0; i < rows; i++) {
    const o = i * DIMS;
    if (DATA === 'uniform') {
      for (let j = 0; j < DIMS; j++) out[o + j] = r.normal();
    } else {
      const c = Math.floor(r.next() * CENTERS) * DIMS;
      for (let j = 0; j < DIMS; j++) out[o + j] = centers[c + j] + scale * r.normal();
    }
  }
  normalizeInPlace(out, rows, DIMS);
  return out;
}
const batchVectors = (b: number, rows: number, out?: Float32Array): Float32Array => vectors(1_000_000 + b, rows, out);

/** Exact top-k document numbers for the queries over documents 0..n-1 (regenerated batch by batch). */
function exactTopK(queries: Float32Array, nq: number, n: number, filter?: (i: number) => boolean): number[][] {
  const best = Array.from({ length: nq }, () => ({ ids: [] as number[], scores: [] as number[] }));
  const buf = new Float32Array(BATCH * DIMS);
  for (let start = 0, b = 0; start < n; start += BATCH, b++) {
    const rows = Math.min(BATCH, n - start);
    batchVectors(b, rows, buf);
    for (let r = 0; r < rows; r++) {
      const i = start + r;
      if (filter && !filter(i)) continue;
      for (let q = 0; q < nq; q++) {
        let dot = 0;
        for (let j = 0, qo = q * DIMS, o = r * DIMS; j < DIMS; j++) dot += queries[qo + j] * buf[o + j];
        const t = best[q];
        if (t.ids.length < K || dot > t.scores[t.scores.length - 1]) {
          let p = t.scores.length;
          while (p > 0 && t.scores[p - 1] < dot) p--;
          t.scores.splice(p, 0, dot);
          t.ids.splice(p, 0, i);
          if (t.ids.length > K) {
            t.ids.pop();
            t.scores.pop();
          }
        }
      }
    }
  }
  return best.map((t) => t.ids);
}

function recall(found: number[][], truth: number[][]): number {
  let hit = 0;
  let total = 0;
  found.forEach((f, q) => {
    const t = new Set(truth[q]);
    total += t.size;
    for (const x of f) if (t.has(x)) hit++;
  });
  return total === 0 ? 1 : hit / total;
}

const docNumber = (id: string): number => Number(id.slice(4));

/** Ingests documents 0..n-1 into a new collection; returns it and the seconds spent in upsertVectors. */
async function ingest(dir: string, n: number, index: IndexSpecInput, label: string): Promise<{ c: Collection; seconds: number }> {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  const c = await Collection.create(dir, {
    encoder: { modelId: `bench/random-unit-vectors-${DATA}`, dims: DIMS, normalized: true, similarity: 'cosine' },
    index,
    autoFlushChanges: Number.POSITIVE_INFINITY,
  });
  let seconds = 0;
  let lastReport = performance.now();
  const buf = new Float32Array(BATCH * DIMS);
  for (let start = 0, b = 0; start < n; start += BATCH, b++) {
    const rows = Math.min(BATCH, n - start);
    batchVectors(b, rows, buf);
    const docs = Array.from({ length: rows }, (_, r) => ({ id: `doc-${start + r}`, vector: buf.subarray(r * DIMS, (r + 1) * DIMS), metadata: { bucket: (start + r) % 100 } }));
    const t = performance.now();
    await c.upsertVectors(docs);
    seconds += (performance.now() - t) / 1000;
    if (performance.now() - lastReport > 60_000) {
      lastReport = performance.now();
      log(`  ${label}: ${(start + rows).toLocaleString('en-US')} documents, ${Math.round((start + rows) / seconds)} docs/s so far`);
    }
  }
  return { c, seconds };
}

async function latencies(c: Collection, queries: Float32Array, count: number, filter?: MetadataFilter): Promise<{ p50: number; p99: number; short: number }> {
  const lat: number[] = [];
  let short = 0;
  for (let q = 0; q < count; q++) {
    const s = performance.now();
    const hits = await c.search(queries.subarray(q * DIMS, (q + 1) * DIMS), { k: K, filter });
    lat.push(performance.now() - s);
    if (hits.length < K) short++;
  }
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), short };
}

const filter: MetadataFilter = { bucket: 42 };
const inBucket = (i: number): boolean => i % 100 === 42;
const queries = vectors(7, Math.max(QUERIES, FLAT_QUERIES, RECALL_QUERIES));
const t0 = performance.now();

log(`bench:collection — ${N.toLocaleString('en-US')} documents of random unit ${DIMS}-d vectors (${DATA === 'clustered' ? `Gaussian mixture: ${CENTERS} centres, sigma ${SIGMA}` : 'uniform on the sphere'}; not embeddings), batches of ${BATCH}`);
log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, node ${process.version}; files under ${root}`);

// ---------------------------------------------------------------- A. the store at full size
const storeDir = join(root, 'store');
const A = await ingest(storeDir, N, { kind: 'flat' }, 'store');
const storeDocsPerS = N / A.seconds;
log(`A. store: upsertVectors of ${N.toLocaleString('en-US')} docs in ${A.seconds.toFixed(1)} s = ${Math.round(storeDocsPerS)} docs/s (SQLite transaction + fsync per batch of ${BATCH}, exact in-memory index)`);
let t = performance.now();
await A.c.flush();
const storeFlush = (performance.now() - t) / 1000;
await A.c.close();
t = performance.now();
const a = await Collection.open(storeDir);
const storeReopen = (performance.now() - t) / 1000;
const storeDb = dbBytes(storeDir);
const storeIdx = indexBytes(storeDir);
log(`   flush ${storeFlush.toFixed(1)} s, reopen ${storeReopen.toFixed(1)} s (index ${a.indexStatus.action}, no re-embedding); collection.db ${mib(storeDb)} = ${Math.round(storeDb / N)} B/doc (the f32 vector is ${DIMS * 4} B), flat index file ${Math.round(storeIdx / N)} B/doc`);
for (let q = 0; q < 5; q++) await a.search(queries.subarray(q * DIMS, (q + 1) * DIMS), { k: K });
const flatLat = await latencies(a, queries, FLAT_QUERIES);
t = performance.now();
await a.search(queries.subarray(0, DIMS), { k: K, filter });
const flatFilterFirst = performance.now() - t;
const flatFiltered = await latencies(a, queries, FLAT_QUERIES, filter);
log(`   exact search over ${N.toLocaleString('en-US')}: p50 ${flatLat.p50.toFixed(1)} ms, p99 ${flatLat.p99.toFixed(1)} ms (${FLAT_QUERIES} queries); filtered to 1% ({ bucket: 42 }): first ${flatFilterFirst.toFixed(0)} ms (SQL scan into a key bitset, cached until the next write), then p50 ${flatFiltered.p50.toFixed(1)} ms, p99 ${flatFiltered.p99.toFixed(1)} ms`);
await a.close();
if (!values.keep) rmSync(storeDir, { recursive: true, force: true });

// ---------------------------------------------------------------- B. HNSW f32 collection
const hnswDir = join(root, 'hnsw');
const spec: IndexSpec = DEFAULT_COLLECTION_INDEX;
const B = await ingest(hnswDir, HNSW_N, spec, 'hnsw');
const hnswDocsPerS = HNSW_N / B.seconds;
log(`B. HNSW ${JSON.stringify(spec)}: upsertVectors of ${HNSW_N.toLocaleString('en-US')} docs in ${B.seconds.toFixed(1)} s = ${Math.round(hnswDocsPerS)} docs/s (the same store + the graph insert, inline)`);
t = performance.now();
await B.c.flush();
const hnswFlush = (performance.now() - t) / 1000;
await B.c.close();
t = performance.now();
const h = await Collection.open(hnswDir);
const hnswReopen = (performance.now() - t) / 1000;
const hnswIdx = indexBytes(hnswDir);
log(`   flush ${hnswFlush.toFixed(1)} s, reopen ${hnswReopen.toFixed(1)} s (index ${h.indexStatus.action}); index files ${mib(hnswIdx)} = ${Math.round(hnswIdx / HNSW_N)} B/vector (usearch graph file + the .f32 copy kept for rescoring and exact fallbacks)`);
for (let q = 0; q < 20; q++) await h.search(queries.subarray(q * DIMS, (q + 1) * DIMS), { k: K });
const hnswLat = await latencies(h, queries, QUERIES);
t = performance.now();
await h.search(queries.subarray(0, DIMS), { k: K, filter });
const hnswFilterFirst = performance.now() - t;
const hnswFiltered = await latencies(h, queries, QUERIES, filter);
log(`   search (k ${K}, one query per call, ef ${spec.kind === 'hnsw' ? spec.expansionSearch : '-'}): p50 ${hnswLat.p50.toFixed(2)} ms, p99 ${hnswLat.p99.toFixed(2)} ms over ${QUERIES} queries`);
log(`   filtered to 1%: first ${hnswFilterFirst.toFixed(0)} ms, then p50 ${hnswFiltered.p50.toFixed(2)} ms, p99 ${hnswFiltered.p99.toFixed(2)} ms; ${hnswFiltered.short} of ${QUERIES} returned fewer than ${K} hits`);
let hnswRecall = Number.NaN;
let hnswFilteredRecall = Number.NaN;
if (RECALL_QUERIES > 0) {
  const rq = queries.subarray(0, RECALL_QUERIES * DIMS);
  const truth = exactTopK(rq, RECALL_QUERIES, HNSW_N);
  const truthF = exactTopK(rq, RECALL_QUERIES, HNSW_N, inBucket);
  const found: number[][] = [];
  const foundF: number[][] = [];
  for (let q = 0; q < RECALL_QUERIES; q++) {
    const v = queries.subarray(q * DIMS, (q + 1) * DIMS);
    found.push((await h.search(v, { k: K })).map((x) => docNumber(x.id)));
    foundF.push((await h.search(v, { k: K, filter })).map((x) => docNumber(x.id)));
  }
  hnswRecall = recall(found, truth);
  hnswFilteredRecall = recall(foundF, truthF);
  log(`   recall@${K} vs exact (${RECALL_QUERIES} queries): ${hnswRecall.toFixed(3)} unfiltered, ${hnswFilteredRecall.toFixed(3)} filtered`);
}
await h.close();
if (!values.keep) rmSync(hnswDir, { recursive: true, force: true });

// ---------------------------------------------------------------- C. quantizations on a subset
interface QuantRow {
  quantization: string;
  vectors: number;
  build_seconds: number;
  vectors_per_s: number;
  memory_bytes_per_vector: number | null;
  searched_vector_bytes: number | null;
  disk_bytes_per_vector: number;
  recall_at_10: number;
}
const quant: QuantRow[] = [];
const subsetTruth = RECALL_QUERIES > 0 ? exactTopK(queries.subarray(0, RECALL_QUERIES * DIMS), RECALL_QUERIES, SUBSET) : [];
const { connectivity, expansionAdd, expansionSearch } = spec as Extract<IndexSpec, { kind: 'hnsw' }>;
for (const q of ['f32', 'i8', 'b1'] as const) {
  const qspec: IndexSpecInput = { kind: 'hnsw', connectivity, expansionAdd, expansionSearch, quantization: q };
  const index = createIndex(qspec, { dims: DIMS, metric: 'cosine' });
  const tb = performance.now();
  const buf = new Float32Array(8192 * DIMS);
  for (let start = 0; start < SUBSET; start += 8192) {
    const rows = Math.min(8192, SUBSET - start);
    // Regenerate documents start..start+rows-1 from their ingest batches (the same vectors as the collections').
    for (let i = 0; i < rows;) {
      const doc = start + i;
      const off = doc % BATCH;
      const take = Math.min(BATCH - off, rows - i);
      buf.set(batchVectors(Math.floor(doc / BATCH), off + take).subarray(off * DIMS, (off + take) * DIMS), i * DIMS);
      i += take;
    }
    index.add(BigUint64Array.from({ length: rows }, (_, r) => BigInt(start + r)), { data: buf.subarray(0, rows * DIMS), rows, dims: DIMS });
  }
  const bs = (performance.now() - tb) / 1000;
  const mem = index.memoryUsage?.();
  const path = join(root, `subset-${q}.bin`);
  await index.save(path);
  const disk = readdirSync(root).filter((f) => f.startsWith(`subset-${q}.bin`)).reduce((s, f) => s + fileSize(join(root, f)), 0);
  for (const f of readdirSync(root)) if (f.startsWith(`subset-${q}.bin`)) rmSync(join(root, f), { force: true });
  let r = Number.NaN;
  if (RECALL_QUERIES > 0) {
    const found = index.search({ data: queries.subarray(0, RECALL_QUERIES * DIMS), rows: RECALL_QUERIES, dims: DIMS }, K).map((m) => Array.from(m.keys.subarray(0, m.count), Number));
    r = recall(found, subsetTruth);
  }
  index.close?.();
  quant.push({
    quantization: q, vectors: SUBSET, build_seconds: round(bs, 1), vectors_per_s: Math.round(SUBSET / bs),
    memory_bytes_per_vector: mem ? round(mem.bytesPerVector, 1) : null, searched_vector_bytes: mem?.vectorBytes ?? null,
    disk_bytes_per_vector: round(disk / SUBSET, 1), recall_at_10: round(r, 3),
  });
  log(`C. HNSW ${q} built from ${SUBSET.toLocaleString('en-US')} vectors in ${bs.toFixed(1)} s (${Math.round(SUBSET / bs)}/s): ${mem ? `${mem.bytesPerVector.toFixed(0)} B/vector in memory (searched vector ${mem.vectorBytes} B + graph + the f32 copy), ` : ''}${(disk / SUBSET).toFixed(0)} B/vector on disk, recall@${K} ${r.toFixed(3)}${q === 'f32' ? '' : ' (candidates rescored with f32)'}${q === 'b1' ? ' (b1: exact scan of sign codes, no graph)' : ''}`);
}

const total = (performance.now() - t0) / 1000;
log(`total ${(total / 60).toFixed(1)} min`);
if (!values.keep && values.dir === undefined) rmSync(root, { recursive: true, force: true });

console.log(JSON.stringify({
  docs: N,
  dims: DIMS,
  batch: BATCH,
  data: DATA === 'clustered' ? `random unit vectors, Gaussian mixture (${CENTERS} centres, sigma ${SIGMA})` : 'random unit vectors, uniform',
  cpus: cpus().length,
  store: {
    docs: N,
    upsert_docs_per_s: Math.round(storeDocsPerS),
    upsert_seconds: round(A.seconds, 1),
    flush_seconds: round(storeFlush),
    reopen_seconds: round(storeReopen),
    db_bytes_per_doc: Math.round(storeDb / N),
    exact_search_p50_ms: round(flatLat.p50),
    exact_search_p99_ms: round(flatLat.p99),
    filtered_first_ms: round(flatFilterFirst, 1),
    filtered_search_p50_ms: round(flatFiltered.p50),
    filtered_search_p99_ms: round(flatFiltered.p99),
  },
  hnsw: {
    docs: HNSW_N,
    index: spec,
    upsert_docs_per_s: Math.round(hnswDocsPerS),
    upsert_seconds: round(B.seconds, 1),
    flush_seconds: round(hnswFlush),
    reopen_seconds: round(hnswReopen),
    index_bytes_per_vector: Math.round(hnswIdx / HNSW_N),
    search_p50_ms: round(hnswLat.p50, 3),
    search_p99_ms: round(hnswLat.p99, 3),
    filtered_first_ms: round(hnswFilterFirst, 1),
    filtered_search_p50_ms: round(hnswFiltered.p50, 3),
    filtered_search_p99_ms: round(hnswFiltered.p99, 3),
    filtered_short_results: hnswFiltered.short,
    recall_at_10: round(hnswRecall, 3),
    filtered_recall_at_10: round(hnswFilteredRecall, 3),
  },
  index_build_subset: quant,
  total_seconds: round(total, 1),
}));
