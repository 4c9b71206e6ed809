/**
 * npm run bench:serve — the HTTP server under load, on the embedded default.
 *
 * 1. The scifact corpus (5,183 documents, "title text", metadata { title }) in a collection embedded
 *    with USE lite (the embedded default), built once and cached in .cache/bench/serve-scifact/
 *    (a rerun embeds only what is missing: upserts skip unchanged texts).
 * 2. The server in-process on 127.0.0.1:0 (createServer, micro-batching on its defaults).
 * 3. autocannon (in a worker thread) on POST /collections/scifact/search ({ query, k: 10 }), each
 *    connection cycling through 256 real scifact queries, at 1 and at 32 connections: requests/s,
 *    latency p50/p99, and the mean texts per encode() call (micro-batching) from /metrics.
 * 4. autocannon on POST /v1/embeddings at 32 connections, one query text per request: inputs/s.
 * Reference (there is no like-for-like server peer here): the same encoder embedding the same
 * queries in-process, one at a time (the floor of a request at 1 connection) and in batches of 32
 * with two in flight (the ceiling micro-batching aims at); the ratios server/in-process are reported.
 *
 * 5. Unless --mode dense: the dense route at 32 connections, for reference (the same embedding work, a k = 10 search).
 * Every run reports the process's CPU time (all threads: server, encoder workers, load generator, GC) per
 * request and the cores it kept busy: on this 2-core machine, 2,000 ms of CPU a second is the ceiling.
 *
 * Options: --duration S (per autocannon run, default 15), --warmup S (default 3), --dir DIR, --mode M.
 * Human-readable lines, then one JSON object as the last stdout line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Collection } from '../src/collection/collection.ts';
import { loadEncoder } from '../src/encoders/load-encoder.ts';
import type { Encoder } from '../src/encoders/encoder.ts';
import { createServer } from '../src/server/app.ts';
import { DEFAULT_MICRO_BATCH } from '../src/server/micro-batcher.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    dir: { type: 'string', default: '.cache/bench/serve-scifact' },
    mode: { type: 'string' },
  },
});
const duration = Number(values.duration);
const warmup = Number(values.warmup);
if (!(duration > 0) || !(warmup >= 0)) throw new Error('--duration must be > 0 and --warmup >= 0 seconds');

const DATA = new URL('../../shared/data/scifact/', import.meta.url);
const readJsonl = <T>(name: string): T[] => readFileSync(new URL(name, DATA), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

async function buildCollection(dir: string, encoder: Encoder): Promise<{ count: number; built_s: number }> {
  const corpus = readJsonl<{ _id: string; title: string; text: string }>('corpus.jsonl');
  const docs = corpus.map((d) => ({ id: d._id, text: `${d.title} ${d.text}`.trim(), metadata: { title: d.title } }));
  const c = existsSync(join(dir, 'manifest.json'))
    ? await Collection.open(dir, { encoder })
    : await Collection.create(dir, { encoder }); // the default index, as users get it
  const started = performance.now();
  try {
    if (c.count() === docs.length) return { count: c.count(), built_s: 0 };
    console.log(`building ${dir}: ${docs.length} scifact documents with ${encoder.modelId} (cached for later runs)`);
    let embedded = 0;
    for (let i = 0; i < docs.length; i += 256) {
      const r = await c.upsert(docs.slice(i, i + 256));
      embedded += r.embedded;
      const s = (performance.now() - started) / 1000;
      console.log(`  ${Math.min(i + 256, docs.length)}/${docs.length} documents, ${embedded} embedded, ${(embedded / s).toFixed(1)} docs/s`);
    }
    return { count: c.count(), built_s: (performance.now() - started) / 1000 };
  } finally {
    await c.close();
  }
}

interface Run {
  connections: number;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** Mean texts per encode() call the server made during the run (micro-batching). */
  texts_per_encode_call: number;
  /** CPU time of this process (every thread: server, encoder workers, load generator, GC) per request. */
  cpu_ms_per_request: number;
  /** That CPU time over the run's wall time: cores kept busy on average. */
  cpu_cores: number;
}

/** Texts and encode() calls so far, from the server's own metrics. */
async function batchTotals(url: string): Promise<{ calls: number; texts: number }> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  let calls = 0;
  let texts = 0;
  for (const m of metrics.matchAll(/biencoder_embed_batch_size_count\{[^}]*\} (\d+)/g)) calls += Number(m[1]);
  for (const m of metrics.matchAll(/biencoder_embed_batch_size_sum\{[^}]*\} (\d+)/g)) texts += Number(m[1]);
  return { calls, texts };
}

/**
 * autocannon in a worker thread (so that the load generator does not share the server's event loop),
 * each connection cycling through the request bodies.
 */
async function cannon(url: string, path: string, connections: number, seconds: number, bodies: readonly string[]): Promise<Run> {
  const before = await batchTotals(url);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({
    url: `${url}${path}`,
    connections,
    duration: seconds,
    workers: 1,
    requests: bodies.map((body) => ({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body })),
  });
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - started;
  const after = await batchTotals(url);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    connections,
    requests_per_s: result.requests.total / (result.duration || seconds),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    mean_ms: result.latency.mean,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    texts_per_encode_call: (after.texts - before.texts) / Math.max(1, after.calls - before.calls),
    cpu_ms_per_request: cpuMs / Math.max(1, result.requests.total),
    cpu_cores: cpuMs / wallMs,
  };
}

const round = (x: number, d = 1): number => Number(x.toFixed(d));
const show = (label: string, r: Run): void => {
  console.log(`${label}: ${r.requests_per_s.toFixed(1)} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms (${r.requests} requests, ${r.errors} errors, ${r.non2xx} non-2xx; ${r.texts_per_encode_call.toFixed(1)} texts per encode call; CPU ${r.cpu_ms_per_request.toFixed(2)} ms a request, ${r.cpu_cores.toFixed(2)} cores busy)`);
};

const dir = values.dir;
const encoder = await loadEncoder('use-lite');
const built = await buildCollection(dir, encoder);
const queries = readJsonl<{ text: string }>('queries.jsonl').map((q) => q.text);
console.log(`collection: ${built.count} documents; ${queries.length} scifact queries; machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);

// Reference: the encoder in-process on the same queries: one at a time, and in batches of 32 with
// two batches in flight (what the server's micro-batcher does at best).
const sample = queries.slice(0, 512);
let t = performance.now();
for (const q of sample.slice(0, 128)) await encoder.encode([q], { role: 'query' });
const singleQps = 128 / ((performance.now() - t) / 1000);
t = performance.now();
const encodeCpu = process.cpuUsage();
let nextBatch = 0;
const lane = async (): Promise<void> => {
  while (nextBatch < sample.length) {
    const from = nextBatch;
    nextBatch += 32;
    await encoder.encode(sample.slice(from, from + 32), { role: 'query' });
  }
};
await Promise.all([lane(), lane()]);
const batchQps = sample.length / ((performance.now() - t) / 1000);
const encodeCpuUsed = process.cpuUsage(encodeCpu);
// What embedding one query costs the machine (all threads), the floor under any text search route's CPU per request.
const encoderCpuPerText = (encodeCpuUsed.user + encodeCpuUsed.system) / 1000 / sample.length;
console.log(`in-process ${encoder.modelId}: ${singleQps.toFixed(1)} queries/s one at a time, ${batchQps.toFixed(1)} queries/s in batches of 32 (2 in flight), ${encoderCpuPerText.toFixed(2)} ms of CPU a query`);

const app = await createServer({ collections: { scifact: dir }, encoders: [encoder] });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
// Each connection cycles through the same 256 real queries.
// The search route's default ranking (hybrid for text queries: BM25 fused with dense), as users get it;
// `--mode dense` measures the dense route alone.
const searchMode = values.mode;
const searchBodies = queries.slice(0, 256).map((query) => JSON.stringify(searchMode ? { query, k: 10, mode: searchMode } : { query, k: 10 }));
const embedBodies = queries.slice(0, 256).map((q) => JSON.stringify({ model: 'default', input: [q], encoding_format: 'float' }));
let c1: Run;
let c32: Run;
let emb: Run;
let denseC32: Run | undefined;
try {
  if (warmup > 0) await cannon(url, '/collections/scifact/search', 8, warmup, searchBodies);
  c1 = await cannon(url, '/collections/scifact/search', 1, duration, searchBodies);
  show('search, 1 connection', c1);
  c32 = await cannon(url, '/collections/scifact/search', 32, duration, searchBodies);
  show('search, 32 connections', c32);
  emb = await cannon(url, '/v1/embeddings', 32, duration, embedBodies);
  show('/v1/embeddings, 32 connections, 1 input per request', emb);
  if (searchMode !== 'dense') {
    // Reference: the dense route embeds the same queries and searches k = 10 (far less work than hybrid's two searches of 1,000).
    denseC32 = await cannon(url, '/collections/scifact/search', 32, duration, queries.slice(0, 256).map((query) => JSON.stringify({ query, k: 10, mode: 'dense' })));
    show('reference: search (dense), 32 connections', denseC32);
  }
} finally {
  await app.close();
  await encoder.close();
}

const errors = c1.errors + c1.non2xx + c32.errors + c32.non2xx + emb.errors + emb.non2xx + (denseC32 ? denseC32.errors + denseC32.non2xx : 0);
const cpuOf = (r: Run) => ({ cpu_ms_per_request: round(r.cpu_ms_per_request, 2), cpu_cores: round(r.cpu_cores, 2) });
const summary = {
  bench: 'serve',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, load_average_1m: Number(loadavg()[0].toFixed(2)) },
  model: encoder.modelId,
  documents: built.count,
  collection_build_s: round(built.built_s),
  duration_s: duration,
  micro_batch: DEFAULT_MICRO_BATCH,
  search_mode: searchMode ?? 'default (hybrid)',
  search_c1: { qps: round(c1.requests_per_s), p50_ms: c1.p50_ms, p99_ms: c1.p99_ms, texts_per_encode_call: round(c1.texts_per_encode_call, 2), ...cpuOf(c1) },
  search_c32: { qps: round(c32.requests_per_s), p50_ms: c32.p50_ms, p99_ms: c32.p99_ms, texts_per_encode_call: round(c32.texts_per_encode_call, 2), ...cpuOf(c32) },
  embeddings_c32: { inputs_per_s: round(emb.requests_per_s), p50_ms: emb.p50_ms, p99_ms: emb.p99_ms, texts_per_encode_call: round(emb.texts_per_encode_call, 2), ...cpuOf(emb) },
  dense_search_c32: denseC32 ? { qps: round(denseC32.requests_per_s), p50_ms: denseC32.p50_ms, p99_ms: denseC32.p99_ms, ...cpuOf(denseC32) } : null,
  encoder_cpu_ms_per_query: round(encoderCpuPerText, 2),
  errors,
  peer: {
    name: `${encoder.modelId} in-process encode() on the same queries (no HTTP, no search): one at a time, and batches of 32 with 2 in flight`,
    queries_per_s_single: round(singleQps),
    queries_per_s_batch32: round(batchQps),
  },
  ratio: {
    search_c1_vs_single_encode: round(c1.requests_per_s / singleQps, 3),
    search_c32_vs_batch32_encode: round(c32.requests_per_s / batchQps, 3),
    embeddings_c32_vs_batch32_encode: round(emb.requests_per_s / batchQps, 3),
  },
};
console.log(JSON.stringify(summary));
