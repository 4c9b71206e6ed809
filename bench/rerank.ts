/**
 * npm run bench:rerank — cross-encoder reranking throughput.
 *
 * The synthetic ms-marco-MiniLM-L6-architecture cross-encoder (random weights, real tokenizer, written by
 * scripts/synthetic-cross-encoder.ts into .cache/bench/), max length 512, fp32, batch size 32. The workload is
 * a reranking one: Q scifact queries, each against C scifact abstracts (title + text; the same pairs for both
 * sides). biencoder's CrossEncoder.score(query, docs) vs transformers.js written the way its users write it:
 * AutoTokenizer (text_pair, padding: true, truncation: true) + AutoModelForSequenceClassification over
 * batches of the same size, in the given order. Each query's list is one timed call per side; who goes first
 * alternates. biencoder runs with truncation 'transformers.js' so that the logits can be compared pair by
 * pair (the default 'only-second' truncation computes the same number of tokens). biencoder runs its default
 * graph: the last layer rewritten to compute the [CLS] row only (see src/rerank/first-token-graph.ts).
 * Options: --queries Q (default 4), --candidates C (default 100, the Retriever's default top-N), --batch-size N (default 32,
 * sentence-transformers' CrossEncoder.predict default).
 * Wall-clock time is the measure (ratio); the CPU time of each side is reported too (cpu_ratio), as it is far
 * less sensitive to other jobs on a shared machine.
 * Last stdout line: JSON with ours_pairs_per_s, peer_pairs_per_s, ratio, cpu_ratio, max_abs_diff, tokens.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeSyntheticCrossEncoder } from '../scripts/synthetic-cross-encoder.ts';
import { loadCrossEncoder } from '../src/rerank/cross-encoder.ts';
import { scifactDocs } from '../test/helpers/synthetic.ts';

const { values } = parseArgs({
  options: {
    queries: { type: 'string', default: '4' },
    candidates: { type: 'string', default: '100' },
    'batch-size': { type: 'string', default: '32' },
  },
});
const nQueries = positiveInt('--queries', values.queries);
const nCandidates = positiveInt('--candidates', values.candidates);
const batchSize = positiveInt('--batch-size', values['batch-size']);
const maxLength = 512;

const modelDir = fileURLToPath(new URL('../.cache/bench/synthetic-cross-encoder-minilm-l6/', import.meta.url));
if (!existsSync(`${modelDir}/onnx/model.onnx`)) {
  mkdirSync(modelDir, { recursive: true });
  await makeSyntheticCrossEncoder({ outDir: modelDir, maxLength });
}

const queryPath = fileURLToPath(new URL('../../shared/data/scifact/queries.jsonl', import.meta.url));
const allQueries = readFileSync(queryPath, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text);
const docs = scifactDocs(nQueries * nCandidates);
const lists = Array.from({ length: nQueries }, (_, q) => ({
  query: allQueries[(q * 37) % allQueries.length],
  candidates: docs.slice(q * nCandidates, (q + 1) * nCandidates),
}));
const pairs = nQueries * nCandidates;
console.log(
  `bench:rerank — ${nQueries} scifact queries x ${nCandidates} abstracts = ${pairs} pairs, max length ${maxLength}, batch ${batchSize}, fp32, ` +
    `${cpus().length} CPUs, load ${loadavg()[0].toFixed(1)}, node ${process.version}`,
);

type TjsTokenizer = (text: string[], options: { text_pair: string[]; padding: boolean; truncation: boolean }) => { input_ids: { dims: number[] } };
type TjsModel = ((inputs: unknown) => Promise<{ logits: { data: Float32Array } }>) & { dispose(): Promise<unknown> };
const tjs = await import('@huggingface/transformers');
tjs.env.allowRemoteModels = false;
tjs.env.useFSCache = false;
const tokenizer = (await tjs.AutoTokenizer.from_pretrained(modelDir)) as unknown as TjsTokenizer;
const model = (await tjs.AutoModelForSequenceClassification.from_pretrained(modelDir, { dtype: 'fp32' })) as unknown as TjsModel;
const crossEncoder = await loadCrossEncoder(modelDir, { truncation: 'transformers.js', batchSize });
const graphKind = crossEncoder.graph.kind;
console.log(`biencoder graph: ${graphKind}${crossEncoder.graph.reason ? ` (${crossEncoder.graph.reason})` : ''}`);

// Warm-up, both sides, on a full batch of pairs outside the measured ones (the first large batch also grows
// onnxruntime's memory arena, which should not be timed).
const warmQuery = allQueries[allQueries.length - 1];
const warm = scifactDocs(batchSize, nQueries * nCandidates);
await model(tokenizer(warm.map(() => warmQuery), { text_pair: warm, padding: true, truncation: true }));
await crossEncoder.score(warmQuery, warm);

const peerLogits = new Float32Array(pairs);
const oursLogits = new Float32Array(pairs);
let peerMs = 0;
let oursMs = 0;
// CPU time (user + system, all threads of the process) of each side: on a shared, loaded machine the wall
// clock depends on what else runs; CPU time much less so. Both figures are reported.
let peerCpuMs = 0;
let oursCpuMs = 0;
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let peerTokens = 0;
let oursTokens = 0;
let realTokens = 0;
let truncated = 0;

async function runPeer(q: number): Promise<void> {
  const { query, candidates } = lists[q];
  const t0 = performance.now();
  const c0 = cpuMs();
  for (let i = 0; i < candidates.length; i += batchSize) {
    const batch = candidates.slice(i, i + batchSize);
    const inputs = tokenizer(batch.map(() => query), { text_pair: batch, padding: true, truncation: true });
    const { logits } = await model(inputs);
    peerLogits.set(logits.data, q * nCandidates + i);
    peerTokens += inputs.input_ids.dims[0] * inputs.input_ids.dims[1];
  }
  peerMs += performance.now() - t0;
  peerCpuMs += cpuMs() - c0;
}

async function runOurs(q: number): Promise<void> {
  const { query, candidates } = lists[q];
  const t0 = performance.now();
  const c0 = cpuMs();
  const out = await crossEncoder.score(query, candidates);
  oursMs += performance.now() - t0;
  oursCpuMs += cpuMs() - c0;
  oursLogits.set(out.logits, q * nCandidates);
  oursTokens += out.stats.paddedTokens;
  realTokens += out.stats.tokens;
  truncated += out.truncated;
}

for (let q = 0; q < nQueries; q++) {
  if (q % 2 === 0) {
    await runPeer(q);
    await runOurs(q);
  } else {
    await runOurs(q);
    await runPeer(q);
  }
  console.log(`  query ${q + 1}/${nQueries}: peer ${(peerMs / 1000).toFixed(1)} s, ours ${(oursMs / 1000).toFixed(1)} s so far`);
}
await model.dispose();
await crossEncoder.close();

let maxAbsDiff = 0;
let min = Infinity;
let max = -Infinity;
for (let i = 0; i < pairs; i++) {
  maxAbsDiff = Math.max(maxAbsDiff, Math.abs(oursLogits[i] - peerLogits[i]));
  min = Math.min(min, peerLogits[i]);
  max = Math.max(max, peerLogits[i]);
}
const oursPairsPerS = pairs / (oursMs / 1000);
const peerPairsPerS = pairs / (peerMs / 1000);
console.log(`transformers.js (AutoTokenizer + AutoModelForSequenceClassification): ${peerPairsPerS.toFixed(2)} pairs/s (${(peerMs / 1000).toFixed(1)} s, ${peerTokens} tokens computed)`);
console.log(`biencoder CrossEncoder: ${oursPairsPerS.toFixed(2)} pairs/s (${(oursMs / 1000).toFixed(1)} s, ${oursTokens} tokens computed, ${realTokens} real, ${truncated} pairs truncated)`);
console.log(`CPU time: transformers.js ${(peerCpuMs / 1000).toFixed(1)} s, biencoder ${(oursCpuMs / 1000).toFixed(1)} s: cpu ratio ${(peerCpuMs / oursCpuMs).toFixed(3)}`);
console.log(`ratio ${(oursPairsPerS / peerPairsPerS).toFixed(3)}; logits agree to ${maxAbsDiff.toExponential(2)} (max abs diff; logits span ${min.toFixed(3)}..${max.toFixed(3)})`);
console.log(
  JSON.stringify({
    queries: nQueries,
    candidates: nCandidates,
    pairs,
    batch_size: batchSize,
    max_length: maxLength,
    ours_pairs_per_s: round(oursPairsPerS),
    peer_pairs_per_s: round(peerPairsPerS),
    ratio: round(oursPairsPerS / peerPairsPerS),
    cpu_ratio: round(peerCpuMs / oursCpuMs),
    ours_cpu_s: round(oursCpuMs / 1000),
    peer_cpu_s: round(peerCpuMs / 1000),
    max_abs_diff: maxAbsDiff,
    real_tokens: realTokens,
    ours_tokens_computed: oursTokens,
    peer_tokens_computed: peerTokens,
    truncated_pairs: truncated,
    graph: graphKind,
  }),
);

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench:rerank: ${flag} must be a positive integer, got ${String(value)}`);
    process.exit(2);
  }
  return n;
}
