/**
 * npm run bench:encode — encoding throughput.
 *
 * The first 2,000 scifact documents (title + " " + text), max_seq_length 256, batch size 32, fp32:
 * biencoder's ONNX encoder vs transformers.js's feature-extraction pipeline on the same synthetic
 * all-MiniLM-L6-v2-architecture model files (same batches of input order for the peer), then the embedded
 * default (Universal Sentence Encoder lite) on the same texts.
 * Options: --docs N (default 2000), --batch-size N (default 32), --chunk N (default 500), --skip-use-lite.
 * Last stdout line: JSON with ours_docs_per_s, peer_docs_per_s, ratio, min_row_cosine, use_lite_docs_per_s.
 */
import { mkdirSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { makeSyntheticModel } from '../scripts/synthetic-model.ts';
import { loadOnnxEncoder } from '../src/encoders/onnx/onnx-encoder.ts';
import { loadUseLite } from '../src/encoders/use-lite/index.ts';
import { scifactDocs } from '../test/helpers/synthetic.ts';
import { rowCosine } from '../test/helpers/vector-math.ts';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '2000' },
    'batch-size': { type: 'string', default: '32' },
    'skip-use-lite': { type: 'boolean', default: false },
    chunk: { type: 'string', default: '500' },
  },
});
const nDocs = Number(values.docs);
const batchSize = Number(values['batch-size']);
const chunk = Number(values.chunk);
const maxSeqLength = 256;

const modelDir = fileURLToPath(new URL('../.cache/bench/synthetic-minilm-l6/', import.meta.url));
if (!existsSync(`${modelDir}/onnx/model.onnx`)) {
  mkdirSync(modelDir, { recursive: true });
  await makeSyntheticModel({ outDir: modelDir, maxSeqLength });
}
const texts = scifactDocs(nDocs);
console.log(`bench:encode — ${texts.length} scifact docs, max_seq_length ${maxSeqLength}, batch ${batchSize}, fp32, ${cpus().length} CPUs, node ${process.version}`);

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

// --- biencoder vs transformers.js (the peer), interleaved ---
// The machine is shared and its load drifts, so the two run in alternating chunks of `--chunk` docs
// (who goes first alternates too) and each side's time is summed over its chunks.
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
let peerSeconds = 0;
let oursSeconds = 0;
let truncated = 0;
const runPeer = async (from: number, to: number): Promise<void> => {
  const t0 = performance.now();
  for (let i = from; i < to; i += batchSize) {
    const r = await extractor(texts.slice(i, Math.min(i + batchSize, to)), { pooling: 'mean', normalize: true });
    peerOut.set(r.data as Float32Array, i * 384);
  }
  peerSeconds += (performance.now() - t0) / 1000;
};
const runOurs = async (from: number, to: number): Promise<void> => {
  const t0 = performance.now();
  const r = await encoder.encode(texts.slice(from, to));
  oursSeconds += (performance.now() - t0) / 1000;
  oursOut.set(r.data, from * 384);
  truncated += r.truncated;
};
for (let from = 0, round = 0; from < texts.length; from += chunk, round++) {
  const to = Math.min(from + chunk, texts.length);
  if (round % 2 === 0) {
    await runPeer(from, to);
    await runOurs(from, to);
  } else {
    await runOurs(from, to);
    await runPeer(from, to);
  }
}
await extractor.dispose();
await encoder.close();
const peerDocsPerS = texts.length / peerSeconds;
const oursDocsPerS = texts.length / oursSeconds;
let minRowCosine = 1;
for (let i = 0; i < texts.length; i++) minRowCosine = Math.min(minRowCosine, rowCosine(oursOut, peerOut, 384, i));
console.log(`transformers.js pipeline: ${peerDocsPerS.toFixed(2)} docs/s (${peerSeconds.toFixed(1)} s)`);
console.log(`biencoder ONNX encoder:   ${oursDocsPerS.toFixed(2)} docs/s (${oursSeconds.toFixed(1)} s), ${truncated} truncated`);
console.log(`ratio ${(oursDocsPerS / peerDocsPerS).toFixed(3)}, min row cosine ${minRowCosine.toFixed(7)}`);

// --- the embedded default ---
let useLiteDocsPerS: number | null = null;
if (!values['skip-use-lite']) {
  const useLite = await loadUseLite();
  await useLite.encode(texts.slice(0, 4));
  const r = await timed(() => useLite.encode(texts));
  await useLite.close();
  useLiteDocsPerS = texts.length / r.seconds;
  console.log(`USE lite (embedded default): ${useLiteDocsPerS.toFixed(2)} docs/s (${r.seconds.toFixed(1)} s)`);
}

console.log(
  JSON.stringify({
    docs: texts.length,
    batch_size: batchSize,
    max_seq_length: maxSeqLength,
    ours_docs_per_s: round(oursDocsPerS),
    peer_docs_per_s: round(peerDocsPerS),
    ratio: round(oursDocsPerS / peerDocsPerS),
    min_row_cosine: Number(minRowCosine.toFixed(7)),
    use_lite_docs_per_s: useLiteDocsPerS === null ? null : round(useLiteDocsPerS),
  }),
);

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
