/**
 * npm run bench:encode — encoding throughput.
 *
 * The first 2,000 scifact documents (title + " " + text), max_seq_length 256, batch size 32, fp32:
 * biencoder's ONNX encoder vs transformers.js's feature-extraction pipeline on the same synthetic
 * all-MiniLM-L6-v2-architecture model files (same batches of input order for the peer), then the embedded
 * default (Universal Sentence Encoder lite) on the same texts.
 * Options: --docs N (default 2000), --batch-size N (default 32), --skip-use-lite.
 * Last stdout line: JSON with ours_docs_per_s, peer_docs_per_s, ratio, min_row_cosine, use_lite_docs_per_s.
 */
import { mkdirSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { makeSyntheticModel } from '../scripts/synthetic-model.ts';
import { loadOnnxEncoder } from '../src/encoders/onnx/onnx-encoder.ts';
import { loadUseLite } from '../src/encoders/use-lite/index.ts';
import { rowCosine, scifactDocs } from '../test/helpers/synthetic.ts';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '2000' },
    'batch-size': { type: 'string', default: '32' },
    'skip-use-lite': { type: 'boolean', default: false },
  },
});
const nDocs = Number(values.docs);
const batchSize = Number(values['batch-size']);
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

// --- transformers.js (the peer) ---
const { pipeline, env } = await import('@huggingface/transformers');
env.allowRemoteModels = false;
env.useFSCache = false;
const extractor = await pipeline('feature-extraction', modelDir, { dtype: 'fp32' });
await extractor(texts.slice(0, 4), { pooling: 'mean', normalize: true }); // warm-up
const peer = await timed(async () => {
  const out = new Float32Array(texts.length * 384);
  for (let i = 0; i < texts.length; i += batchSize) {
    const r = await extractor(texts.slice(i, i + batchSize), { pooling: 'mean', normalize: true });
    out.set(r.data as Float32Array, i * 384);
  }
  return out;
});
await extractor.dispose();
const peerDocsPerS = texts.length / peer.seconds;
console.log(`transformers.js pipeline: ${peerDocsPerS.toFixed(2)} docs/s (${peer.seconds.toFixed(1)} s)`);

// --- biencoder ---
// truncation 'transformers.js' cuts long texts exactly as the peer does, so the vectors can be compared
// row by row; the default (sentence-transformers) truncation keeps [SEP] and costs the same.
const encoder = await loadOnnxEncoder(modelDir, { truncation: 'transformers.js', batchSize });
await encoder.encode(texts.slice(0, 4)); // warm-up
const ours = await timed(() => encoder.encode(texts));
await encoder.close();
const oursDocsPerS = texts.length / ours.seconds;
let minRowCosine = 1;
for (let i = 0; i < texts.length; i++) minRowCosine = Math.min(minRowCosine, rowCosine(ours.value.data, peer.value, 384, i));
console.log(`biencoder ONNX encoder:   ${oursDocsPerS.toFixed(2)} docs/s (${ours.seconds.toFixed(1)} s), ${ours.value.truncated} truncated`);
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
