/**
 * npm run bench:encode — encoding throughput.
 *
 * The first 2,000 scifact documents (title + " " + text), max_seq_length 256, batch size 32, fp32:
 * biencoder's ONNX encoder vs transformers.js's feature-extraction pipeline on the same synthetic
 * all-MiniLM-L6-v2-architecture model files (same batches of input order for the peer), then the embedded
 * default (Universal Sentence Encoder lite) on the same texts, by its default ONNX route and by its
 * TF.js route (interleaved chunks too), with the smallest per-row cosine between the two routes and
 * one short query's latency (p50 over --queries runs, after a warm-up).
 * Options: --docs N (default 2000), --batch-size N (default 32), --chunk N (default 500),
 * --queries N (default 200), --skip-use-lite, --only use-lite (skip the MiniLM comparison).
 * Last stdout line: JSON with ours_docs_per_s, peer_docs_per_s, ratio, min_row_cosine, peer_batch8_docs_per_s and
 * ratio_vs_peer_batch8 (the peer with batches of 8, the positions per call biencoder's maxBatchTokens allows), use_lite_docs_per_s,
 * use_lite_tfjs_docs_per_s, use_lite_speedup, use_lite_min_row_cosine, use_lite_max_abs_diff, use_lite_query_p50_ms,
 * use_lite_tfjs_query_p50_ms, and the 1-minute load average before and after the run.
 */
import { mkdirSync, existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { makeSyntheticModel } from '../scripts/synthetic-model.ts';
import { loadOnnxEncoder } from '../src/encoders/onnx/onnx-encoder.ts';
import { loadUseLite } from '../src/encoders/use-lite/index.ts';
import type { UseLiteEncoder } from '../src/encoders/use-lite/index.ts';
import { scifactDocs } from '../test/helpers/synthetic.ts';
import { rowCosine } from '../test/helpers/vector-math.ts';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '2000' },
    'batch-size': { type: 'string', default: '32' },
    'skip-use-lite': { type: 'boolean', default: false },
    only: { type: 'string' },
    chunk: { type: 'string', default: '500' },
    queries: { type: 'string', default: '200' },
  },
});
if (values.only !== undefined && values.only !== 'use-lite') throw new Error(`--only takes 'use-lite', got ${values.only}`);
const onlyUseLite = values.only === 'use-lite';
const nDocs = Number(values.docs);
const batchSize = Number(values['batch-size']);
const chunk = Number(values.chunk);
const nQueries = Number(values.queries);
const maxSeqLength = 256;
const loadBefore = loadavg()[0];

const texts = scifactDocs(nDocs);
console.log(`bench:encode — ${texts.length} scifact docs, max_seq_length ${maxSeqLength}, batch ${batchSize}, fp32, ${cpus().length} CPUs, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

/**
 * Runs a and b over `texts` in alternating chunks (who goes first alternates too), because the machine
 * is shared and its load drifts; returns each side's summed seconds.
 */
async function interleaved(
  a: (from: number, to: number) => Promise<void>,
  b: (from: number, to: number) => Promise<void>,
): Promise<[number, number]> {
  let aSeconds = 0;
  let bSeconds = 0;
  const time = async (fn: (from: number, to: number) => Promise<void>, from: number, to: number): Promise<number> => {
    const t0 = performance.now();
    await fn(from, to);
    return (performance.now() - t0) / 1000;
  };
  for (let from = 0, round = 0; from < texts.length; from += chunk, round++) {
    const to = Math.min(from + chunk, texts.length);
    if (round % 2 === 0) {
      aSeconds += await time(a, from, to);
      bSeconds += await time(b, from, to);
    } else {
      bSeconds += await time(b, from, to);
      aSeconds += await time(a, from, to);
    }
  }
  return [aSeconds, bSeconds];
}

function minRowCosine(x: Float32Array, y: Float32Array, dims: number): number {
  let min = 1;
  for (let i = 0; i < x.length / dims; i++) min = Math.min(min, rowCosine(x, y, dims, i));
  return min;
}

// --- biencoder vs transformers.js (the peer), interleaved ---
let minilm: { ours: number; peer: number; peer8: number; minCosine: number } | null = null;
if (!onlyUseLite) {
  const modelDir = fileURLToPath(new URL('../.cache/bench/synthetic-minilm-l6/', import.meta.url));
  if (!existsSync(`${modelDir}/onnx/model.onnx`)) {
    mkdirSync(modelDir, { recursive: true });
    await makeSyntheticModel({ outDir: modelDir, maxSeqLength });
  }
  const { pipeline, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.useFSCache = false;
  const extractor = await pipeline('feature-extraction', modelDir, { dtype: 'fp32' });
  // truncation 'transformers.js' cuts long texts exactly as the peer does, so the vectors can be compared
  // row by row; the default (sentence-transformers) truncation keeps [SEP] and costs the same.
  const encoder = await loadOnnxEncoder(modelDir, { truncation: 'transformers.js', batchSize });
  await extractor(texts.slice(0, 4), { pooling: 'mean', normalize: true }); // warm-up
  await encoder.encode(texts.slice(0, 4));

  const peerOut = new Float32Array(texts.length * 384);
  const oursOut = new Float32Array(texts.length * 384);
  let truncated = 0;
  const [peerSeconds, oursSeconds] = await interleaved(
    async (from, to) => {
      for (let i = from; i < to; i += batchSize) {
        const r = await extractor(texts.slice(i, Math.min(i + batchSize, to)), { pooling: 'mean', normalize: true });
        peerOut.set(r.data as Float32Array, i * 384);
      }
    },
    async (from, to) => {
      const r = await encoder.encode(texts.slice(from, to));
      oursOut.set(r.data, from * 384);
      truncated += r.truncated;
    },
  );
  // biencoder caps a call at maxBatchTokens (2048) padded positions: 8 texts of 256 tokens. For a fair view,
  // the peer is also timed with batches of 8 (the same positions per call), on the same texts.
  const peer8Started = performance.now();
  for (let i = 0; i < texts.length; i += 8) await extractor(texts.slice(i, i + 8), { pooling: 'mean', normalize: true });
  const peer8Seconds = (performance.now() - peer8Started) / 1000;
  await extractor.dispose();
  await encoder.close();
  minilm = { ours: texts.length / oursSeconds, peer: texts.length / peerSeconds, peer8: texts.length / peer8Seconds, minCosine: minRowCosine(oursOut, peerOut, 384) };
  console.log(`transformers.js pipeline: ${minilm.peer.toFixed(2)} docs/s (${peerSeconds.toFixed(1)} s)`);
  console.log(`biencoder ONNX encoder:   ${minilm.ours.toFixed(2)} docs/s (${oursSeconds.toFixed(1)} s), ${truncated} truncated`);
  console.log(`ratio ${(minilm.ours / minilm.peer).toFixed(3)}, min row cosine ${minilm.minCosine.toFixed(7)}`);
  console.log(`transformers.js pipeline with batches of 8: ${minilm.peer8.toFixed(2)} docs/s (${peer8Seconds.toFixed(1)} s): ratio ${(minilm.ours / minilm.peer8).toFixed(3)}`);
}

// --- the embedded default: ONNX route vs TF.js route, interleaved ---
/** p50 in ms of encoding one short query, over nQueries runs after 10 warm-up runs. */
async function queryP50(encoder: UseLiteEncoder): Promise<number> {
  const query = 'What causes vitamin D deficiency in older adults?';
  for (let i = 0; i < 10; i++) await encoder.encode([query]);
  const ms: number[] = [];
  for (let i = 0; i < nQueries; i++) {
    const t0 = performance.now();
    await encoder.encode([query]);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}

let useLite: { onnx: number; tfjs: number; minCosine: number; maxAbsDiff: number; queryP50: number; tfjsQueryP50: number; threads: number } | null = null;
if (!values['skip-use-lite']) {
  const onnxRoute = await loadUseLite({ route: 'onnx', batchSize });
  const tfjsRoute = await loadUseLite({ route: 'tfjs', batchSize });
  console.log(`USE lite: ${onnxRoute.threads} worker threads per route; ONNX model ${onnxRoute.onnxFile?.source} (${onnxRoute.onnxFile?.path ?? 'in memory'})`);
  await onnxRoute.encode(texts.slice(0, 8));
  await tfjsRoute.encode(texts.slice(0, 8));
  const onnxOut = new Float32Array(texts.length * 512);
  const tfjsOut = new Float32Array(texts.length * 512);
  const [onnxSeconds, tfjsSeconds] = await interleaved(
    async (from, to) => onnxOut.set((await onnxRoute.encode(texts.slice(from, to))).data, from * 512),
    async (from, to) => tfjsOut.set((await tfjsRoute.encode(texts.slice(from, to))).data, from * 512),
  );
  const queryP50Ms = await queryP50(onnxRoute);
  const tfjsQueryP50Ms = await queryP50(tfjsRoute);
  useLite = {
    onnx: texts.length / onnxSeconds,
    tfjs: texts.length / tfjsSeconds,
    minCosine: minRowCosine(onnxOut, tfjsOut, 512),
    maxAbsDiff: onnxOut.reduce((m, v, i) => Math.max(m, Math.abs(v - tfjsOut[i])), 0),
    queryP50: queryP50Ms,
    tfjsQueryP50: tfjsQueryP50Ms,
    threads: onnxRoute.threads,
  };
  await Promise.all([onnxRoute.close(), tfjsRoute.close()]);
  console.log(`USE lite (embedded default), ONNX route: ${useLite.onnx.toFixed(2)} docs/s (${onnxSeconds.toFixed(1)} s), one short query p50 ${queryP50Ms.toFixed(2)} ms`);
  console.log(`USE lite, TF.js route:                  ${useLite.tfjs.toFixed(2)} docs/s (${tfjsSeconds.toFixed(1)} s), one short query p50 ${tfjsQueryP50Ms.toFixed(2)} ms`);
  console.log(`USE lite speedup ${(useLite.onnx / useLite.tfjs).toFixed(2)}x, min row cosine ${useLite.minCosine.toFixed(9)}, max abs diff ${useLite.maxAbsDiff.toExponential(2)}`);
}
const loadAfter = loadavg()[0];
console.log(`load average (1 min) before ${loadBefore.toFixed(2)}, after ${loadAfter.toFixed(2)}`);

console.log(
  JSON.stringify({
    docs: texts.length,
    batch_size: batchSize,
    max_seq_length: maxSeqLength,
    ours_docs_per_s: minilm === null ? null : round(minilm.ours),
    peer_docs_per_s: minilm === null ? null : round(minilm.peer),
    ratio: minilm === null ? null : round(minilm.ours / minilm.peer),
    peer_batch8_docs_per_s: minilm === null ? null : round(minilm.peer8),
    ratio_vs_peer_batch8: minilm === null ? null : round(minilm.ours / minilm.peer8),
    min_row_cosine: minilm === null ? null : Number(minilm.minCosine.toFixed(7)),
    use_lite_docs_per_s: useLite === null ? null : round(useLite.onnx),
    use_lite_tfjs_docs_per_s: useLite === null ? null : round(useLite.tfjs),
    use_lite_speedup: useLite === null ? null : round(useLite.onnx / useLite.tfjs),
    use_lite_min_row_cosine: useLite === null ? null : Number(useLite.minCosine.toFixed(9)),
    use_lite_max_abs_diff: useLite === null ? null : Number(useLite.maxAbsDiff.toExponential(2)),
    use_lite_query_p50_ms: useLite === null ? null : round(useLite.queryP50),
    use_lite_tfjs_query_p50_ms: useLite === null ? null : round(useLite.tfjsQueryP50),
    use_lite_threads: useLite === null ? null : useLite.threads,
    cpus: cpus().length,
    loadavg_1m_before: round(loadBefore),
    loadavg_1m_after: round(loadAfter),
  }),
);

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
