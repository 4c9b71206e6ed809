/**
 * npm run bench:soak -- --minutes 10 — a bounded soak of the server: mixed upserts, searches and
 * deletes against `biencoder serve` (a child process, so that its resident memory is the server's
 * alone), with a check that memory stops growing and that no request fails.
 *
 * - Model: the tiny synthetic ONNX model by default (--model tiny: a 2-layer BERT with the real
 *   MiniLM tokenizer, written to a temporary directory), so that the server handles many requests
 *   per minute; --model use-lite soaks the embedded default instead.
 * - The server: `biencoder serve --data-dir TMP --model MODEL --port 0`; the soak creates
 *   collection `soak` (the default index) through POST /collections.
 * - Load: --concurrency workers (default 8), each looping: 70% searches (a random scifact query,
 *   k 1..20, a metadata filter one time in four), 25% upserts of 16 scifact documents whose ids cycle
 *   through --ids (default 3,000; so the collection fills, then documents are replaced with new
 *   texts and re-embedded), 5% deletes of 8 random ids.
 * - Memory: the server's RSS (/proc/PID/status) every --sample seconds (default 5). Warm-up is the
 *   first 20% of the run; baseline = mean RSS over 20-30% of the run, final = mean over the last
 *   10%; growth = (final - baseline) / baseline. Pass: growth < 10% and no error response.
 * Human-readable lines, then one JSON object as the last stdout line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSyntheticModel } from '../scripts/synthetic-model.ts';
import { rng } from '../test/helpers/prng.ts';
import { CLI } from '../test/helpers/cli-bin.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    model: { type: 'string', default: 'tiny' },
    concurrency: { type: 'string', default: '8' },
    ids: { type: 'string', default: '3000' },
    sample: { type: 'string', default: '5' },
  },
});
const minutes = Number(values.minutes);
const concurrency = Number(values.concurrency);
const idSpace = Number(values.ids);
const sampleS = Number(values.sample);
if (!(minutes > 0) || !Number.isInteger(concurrency) || concurrency < 1 || !Number.isInteger(idSpace) || idSpace < 16 || !(sampleS > 0)) {
  throw new Error('usage: --minutes M (> 0) --concurrency N (>= 1) --ids N (>= 16) --sample S (> 0) --model tiny|use-lite');
}
if (values.model !== 'tiny' && values.model !== 'use-lite') throw new Error('--model must be tiny or use-lite');

const DATA = new URL('../../shared/data/scifact/', import.meta.url);
const readJsonl = <T>(name: string): T[] => readFileSync(new URL(name, DATA), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
const corpus = readJsonl<{ _id: string; title: string; text: string }>('corpus.jsonl').map((d) => `${d.title} ${d.text}`.slice(0, 1500));
const queries = readJsonl<{ text: string }>('queries.jsonl').map((q) => q.text);

const work = mkdtempSync(join(tmpdir(), 'biencoder-soak-'));
let model = 'use-lite';
if (values.model === 'tiny') {
  model = join(work, 'tiny-model');
  await makeSyntheticModel({ outDir: model, tiny: true });
}

// A deterministic PRNG (mulberry32, the tests' one): the same run each time.
const rand = rng(12345);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

const server = spawn(process.execPath, [...CLI, 'serve', '--data-dir', join(work, 'data'), '--model', model, '--port', '0', '--log', 'silent'], { stdio: ['ignore', 'ignore', 'pipe'] });
let serverErr = '';
const url = await new Promise<string>((resolve, reject) => {
  server.stderr.on('data', (d: Buffer) => {
    serverErr += d.toString();
    const m = /listening on (http:\/\/\S+)/.exec(serverErr);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`the server exited (${code}): ${serverErr}`)));
});

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb * 1024;
}

const counts = { search: 0, upsert: 0, delete: 0 };
const errorsByKind = new Map<string, number>();
let errors = 0;
let sequence = 0;

async function call(method: string, path: string, body: unknown): Promise<void> {
  let kind: string | undefined;
  try {
    const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status < 200 || res.status >= 300) kind = `${method} ${path} ${res.status} ${text.slice(0, 200)}`;
  } catch (error) {
    kind = `${method} ${path} network error: ${(error as Error).message}`;
  }
  if (kind !== undefined) {
    errors++;
    errorsByKind.set(kind, (errorsByKind.get(kind) ?? 0) + 1);
  }
}

const created = await fetch(`${url}/collections`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'soak' }) });
if (created.status !== 201) throw new Error(`creating the collection failed: ${created.status} ${await created.text()}`);

const totalMs = minutes * 60_000;
const started = performance.now();
const deadline = started + totalMs;
const samples: { t: number; rss: number }[] = [];

async function worker(): Promise<void> {
  while (performance.now() < deadline) {
    const r = rand();
    if (r < 0.7) {
      counts.search++;
      const body: Record<string, unknown> = { query: pick(queries), k: 1 + Math.floor(rand() * 20) };
      if (rand() < 0.25) body.filter = { bucket: { $lt: 5 } };
      await call('POST', '/collections/soak/search', body);
    } else if (r < 0.95) {
      counts.upsert++;
      const n = sequence++;
      const documents = Array.from({ length: 16 }, (_, i) => {
        const id = (n * 16 + i) % idSpace;
        return { id: `doc-${id}`, text: `${pick(corpus)} (revision ${n})`, metadata: { bucket: id % 10, revision: n } };
      });
      await call('POST', '/collections/soak/documents', { documents });
    } else {
      counts.delete++;
      const ids = Array.from({ length: 8 }, () => `doc-${Math.floor(rand() * idSpace)}`);
      await call('DELETE', '/collections/soak/documents', { ids });
    }
  }
}

const sampler = setInterval(() => {
  const t = (performance.now() - started) / 1000;
  const rss = rssBytes(server.pid!);
  samples.push({ t, rss });
  const done = counts.search + counts.upsert + counts.delete;
  if (samples.length % Math.max(1, Math.round(30 / sampleS)) === 0) {
    console.log(`${t.toFixed(0)} s: RSS ${(rss / 2 ** 20).toFixed(1)} MiB, ${done} requests (${counts.search} searches, ${counts.upsert} upserts, ${counts.delete} deletes), ${errors} errors`);
  }
}, sampleS * 1000);

console.log(`soak: ${minutes} min, model ${values.model} (${model}), ${concurrency} workers, ids 0..${idSpace - 1}, server ${url} (pid ${server.pid})`);
await Promise.all(Array.from({ length: concurrency }, worker));
clearInterval(sampler);
const info = (await (await fetch(`${url}/collections/soak`)).json()) as { count: number };

server.kill('SIGTERM');
const exitCode = await new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
rmSync(work, { recursive: true, force: true });

const total = totalMs / 1000;
const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
const window = (from: number, to: number): number[] => samples.filter((s) => s.t >= from * total && s.t <= to * total).map((s) => s.rss);
const baseline = mean(window(0.2, 0.3));
const final = mean(window(0.9, 1));
const afterWarmup = window(0.2, 1);
const maxRss = Math.max(...afterWarmup);
const growth = ((final - baseline) / baseline) * 100;
const requests = counts.search + counts.upsert + counts.delete;
const mib = (b: number): number => Number((b / 2 ** 20).toFixed(1));
console.log(`RSS after warm-up: baseline ${mib(baseline)} MiB (20-30%), final ${mib(final)} MiB (last 10%), max ${mib(maxRss)} MiB: growth ${growth.toFixed(2)}%`);
console.log(`${requests} requests (${(requests / total).toFixed(1)}/s), ${errors} errors${errorsByKind.size ? `: ${JSON.stringify(Object.fromEntries(errorsByKind))}` : ''}; collection ends with ${info.count} documents; server exit code ${exitCode}`);
const pass = growth < 10 && errors === 0 && exitCode === 0;
console.log(pass ? 'PASS: RSS growth < 10% after warm-up, no error responses' : 'FAIL');
console.log(JSON.stringify({
  bench: 'soak',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, load_average_1m: Number(loadavg()[0].toFixed(2)) },
  minutes,
  model: values.model,
  concurrency,
  requests: { total: requests, search: counts.search, upsert: counts.upsert, delete: counts.delete, per_s: Number((requests / total).toFixed(1)) },
  documents_at_end: info.count,
  errors,
  rss_mb: { baseline: mib(baseline), final: mib(final), max: mib(maxRss), samples: samples.length },
  rss_growth_pct: Number(growth.toFixed(2)),
  server_exit_code: exitCode,
  pass,
}));
process.exitCode = pass ? 0 : 1;
