import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOnnxEncoder, type OnnxEncoder } from '../../../src/encoders/onnx/onnx-encoder.ts';
import { BiEncoder } from '../../../src/encoders/bi-encoder.ts';
import { isBiencoderError } from '../../../src/errors.ts';
import { VARIED_SENTENCES } from '../../fixtures/sentences.ts';
import { scifactDocs, syntheticModel, tempDir } from '../../helpers/synthetic.ts';
import { maxAbsDiff, rowCosine } from '../../helpers/vector-math.ts';

type Extractor = (texts: string[], options: { pooling: string; normalize: boolean }) => Promise<{ data: Float32Array; dims: number[] }>;

async function transformersJsPipeline(dir: string): Promise<Extractor> {
  const { pipeline, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.useFSCache = false; // read our files, never a cached copy
  // An absolute path is not a hub id, so transformers.js 4 reads the directory as it is.
  return (await pipeline('feature-extraction', dir, { dtype: 'fp32' })) as unknown as Extractor;
}

const tmp = tempDir('onnx-encoder');
after(() => tmp.cleanup());

// >= 200 varied texts: the shared fixture, a 1-token text, and scifact abstracts longer than max_seq_length.
const ORACLE_TEXTS = [...VARIED_SENTENCES, 'a', '?', ...scifactDocs(24)];

describe('oracle: transformers.js on the MiniLM-L6-architecture synthetic model', () => {
  let dir: string;
  let extractor: Extractor;
  let theirs: Float32Array;
  before(async () => {
    dir = await syntheticModel(tmp.dir, 'minilm');
    extractor = await transformersJsPipeline(dir);
    const out: number[] = [];
    for (let i = 0; i < ORACLE_TEXTS.length; i += 32) {
      const r = await extractor(ORACLE_TEXTS.slice(i, i + 32), { pooling: 'mean', normalize: true });
      out.push(...r.data);
    }
    theirs = Float32Array.from(out);
  });

  test('transformers.js truncation mode: cosine >= 0.99999 on every row', async () => {
    assert.ok(ORACLE_TEXTS.length >= 200, `${ORACLE_TEXTS.length} texts`);
    const encoder = await loadOnnxEncoder(dir, { truncation: 'transformers.js' });
    try {
      const ours = await encoder.encode(ORACLE_TEXTS);
      assert.equal(ours.dims, 384);
      assert.ok(ours.truncated >= 15, `expected long scifact texts to be truncated, got ${ours.truncated}`);
      let min = 1;
      for (let i = 0; i < ORACLE_TEXTS.length; i++) min = Math.min(min, rowCosine(ours.data, theirs, 384, i));
      assert.ok(min >= 0.99999, `min row cosine ${min}`);
    } finally {
      await encoder.close();
    }
  });

  test('default (sentence-transformers) truncation keeps [SEP]; short texts match transformers.js exactly', async () => {
    const encoder = await loadOnnxEncoder(dir);
    try {
      const ours = await encoder.encode(ORACLE_TEXTS);
      const cut = new Set(ours.truncatedIndices);
      for (let i = 0; i < ORACLE_TEXTS.length; i++) {
        const c = rowCosine(ours.data, theirs, 384, i);
        if (cut.has(i)) {
          // The last token differs ([SEP] vs a word): close, but not the same vector.
          assert.ok(c > 0.999 && c < 0.999999, `truncated row ${i}: cosine ${c}`);
        } else {
          assert.ok(c >= 0.99999, `row ${i}: cosine ${c}`);
        }
      }
      assert.equal(encoder.countTokens(['hello world'])[0], 4); // [CLS] hello world [SEP]
    } finally {
      await encoder.close();
    }
  });
});

/** Reference pooling over one unpadded sequence of token states, written plainly. */
function referencePool(mode: string, states: Float32Array, seqLen: number, hidden: number): Float32Array {
  const out = new Float32Array(hidden);
  for (let h = 0; h < hidden; h++) {
    const col: number[] = [];
    for (let t = 0; t < seqLen; t++) col.push(states[t * hidden + h]);
    if (mode === 'cls') out[h] = col[0];
    else if (mode === 'lasttoken') out[h] = col[seqLen - 1];
    else if (mode === 'max') out[h] = Math.max(...col);
    else out[h] = col.reduce((a, b) => a + b, 0) / seqLen;
  }
  return out;
}

describe('pooling modes against transformers.js token states', () => {
  for (const pooling of ['mean', 'cls', 'max', 'lasttoken'] as const) {
    test(`${pooling} pooling, no Normalize module`, async () => {
      const dir = await syntheticModel(tmp.dir, `tiny-${pooling}`, { tiny: true, pooling, normalize: false, seed: 7 });
      const extractor = await transformersJsPipeline(dir);
      const encoder = await loadOnnxEncoder(dir);
      try {
        assert.equal(encoder.normalized, false);
        const texts = VARIED_SENTENCES.slice(0, 24);
        const ours = await encoder.encode(texts, { batchSize: 5 });
        for (let i = 0; i < texts.length; i++) {
          const r = await extractor([texts[i]], { pooling: 'none', normalize: false });
          const expected = referencePool(pooling, r.data, r.dims[1], r.dims[2]);
          assert.ok(maxAbsDiff(ours.data.subarray(i * 32, (i + 1) * 32), expected) <= 1e-5, `${pooling} row ${i}`);
        }
      } finally {
        await encoder.close();
      }
    });
  }
});

describe('batching', () => {
  let encoder: OnnxEncoder;
  let dir: string;
  before(async () => {
    dir = await syntheticModel(tmp.dir, 'tiny-batch', { tiny: true });
    encoder = await loadOnnxEncoder(dir);
  });
  after(() => encoder.close());

  test('a text embeds the same alone or in any batch (max abs diff <= 1e-5)', async () => {
    const texts = [...VARIED_SENTENCES.slice(0, 40), ...scifactDocs(3)];
    const alone = new Float32Array(texts.length * 32);
    for (let i = 0; i < texts.length; i++) alone.set((await encoder.encode([texts[i]])).data, i * 32);
    for (const batchSize of [1, 3, 8, 64]) {
      const batched = await encoder.encode(texts, { batchSize });
      assert.ok(maxAbsDiff(batched.data, alone) <= 1e-5, `batchSize ${batchSize}: ${maxAbsDiff(batched.data, alone)}`);
    }
    // Reversed input order gives the same rows, reversed.
    const reversed = await encoder.encode([...texts].reverse(), { batchSize: 7 });
    for (let i = 0; i < texts.length; i++) {
      const j = texts.length - 1 - i;
      assert.ok(maxAbsDiff(reversed.data.subarray(j * 32, (j + 1) * 32), alone.subarray(i * 32, (i + 1) * 32)) <= 1e-5);
    }
  });

  test('maxBatchTokens caps the padded positions of a call (long texts run fewer per call), vectors unchanged', async () => {
    const long = 'word '.repeat(300); // 128 tokens after truncation
    const texts = ['short', long, 'also short', long, long];
    const expected = await encoder.encode(texts, { batchSize: 8 });
    for (const [maxBatchTokens, calls] of [[256, [2, 4, 5]], [128, [1, 2, 3, 5]], [100, [1, 2, 3, 5]], [4096, [5]]] as const) {
      const capped = await loadOnnxEncoder(dir, { maxBatchTokens });
      try {
        const progress: number[] = [];
        const out = await capped.encode(texts, { batchSize: 8, onProgress: (p) => progress.push(p.done) });
        assert.deepEqual(progress, calls, `maxBatchTokens ${maxBatchTokens}`);
        assert.ok(maxAbsDiff(out.data, expected.data) <= 1e-5);
      } finally {
        await capped.close();
      }
    }
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(loadOnnxEncoder(dir, { maxBatchTokens: bad }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'), String(bad));
    }
  });

  test('rows are unit-norm, truncation is counted, progress is reported', async () => {
    const long = 'word '.repeat(300);
    const progress: number[] = [];
    const out = await encoder.encode(['short', long, 'also short', long], { batchSize: 2, onProgress: (p) => progress.push(p.done) });
    assert.equal(out.rows, 4);
    assert.equal(out.truncated, 2);
    assert.deepEqual(out.truncatedIndices, [1, 3]);
    assert.deepEqual(progress, [2, 4]);
    for (let i = 0; i < 4; i++) {
      let n = 0;
      for (let j = 0; j < 32; j++) n += out.data[i * 32 + j] ** 2;
      assert.ok(Math.abs(n - 1) < 1e-5);
    }
    assert.equal(encoder.maxTokens, 128);
    assert.deepEqual(encoder.countTokens(['short', long]), [3, 302]);
  });

  test('bad inputs: empty, non-string, NUL, lone surrogate, bad batch size', async () => {
    await assert.rejects(encoder.encode(['ok', '']), (e) => isBiencoderError(e, 'EMPTY_INPUT'));
    // @ts-expect-error a number on purpose
    await assert.rejects(encoder.encode(['ok', 3]), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(encoder.encode(['ok'], { batchSize: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    const [withNul, withSpace] = [await encoder.encode(['a\u0000b']), await encoder.encode(['a b'])];
    assert.ok(maxAbsDiff(withNul.data, withSpace.data) <= 1e-6);
    const [lone, replaced] = [await encoder.encode(['x\uD800y']), await encoder.encode(['x\uFFFDy'])];
    assert.ok(maxAbsDiff(lone.data, replaced.data) <= 1e-6);
    const empty = await encoder.encode([]);
    assert.equal(empty.rows, 0);
  });

  test('an aborted signal stops encoding with ABORTED', async () => {
    const controller = new AbortController();
    const texts = VARIED_SENTENCES.slice(0, 20);
    const run = encoder.encode(texts, { batchSize: 2, signal: controller.signal, onProgress: () => controller.abort() });
    await assert.rejects(run, (e) => isBiencoderError(e, 'ABORTED'));
  });
});

describe('model files and options', () => {
  test('prompts from config_sentence_transformers.json, per role, overridable', async () => {
    const dir = await syntheticModel(tmp.dir, 'tiny-prompts', { tiny: true, prompts: { query: 'query: ', passage: 'passage: ' } });
    const encoder = await loadOnnxEncoder(dir);
    const overridden = await loadOnnxEncoder(dir, { prompts: { query: 'search: ', document: '' } });
    try {
      assert.deepEqual(encoder.prompts, { query: 'query: ', document: 'passage: ' });
      const q = await encoder.encode(['what is a cell'], { role: 'query' });
      const manual = await encoder.encode(['query: what is a cell'], { prompt: '' });
      assert.ok(maxAbsDiff(q.data, manual.data) <= 1e-6);
      const d = await encoder.encode(['what is a cell'], { role: 'document' });
      assert.ok(maxAbsDiff(d.data, (await encoder.encode(['passage: what is a cell'], { prompt: '' })).data) <= 1e-6);
      assert.ok(maxAbsDiff(q.data, d.data) > 1e-3, 'query and document prompts give different vectors');

      assert.deepEqual(overridden.prompts, { query: 'search: ' });
      const bi = new BiEncoder({ document: encoder, prompts: { query: 'search: ' } });
      assert.equal(bi.promptFor('query'), 'search: ');
      assert.equal(bi.promptFor('document'), 'passage: ');
      const viaBi = await bi.encodeQueries(['what is a cell']);
      assert.ok(maxAbsDiff(viaBi.data, (await overridden.encode(['what is a cell'], { role: 'query' })).data) <= 1e-6);
    } finally {
      await encoder.close();
      await overridden.close();
    }
  });

  test('an asymmetric BiEncoder uses its query model for queries only', async () => {
    const qDir = await syntheticModel(tmp.dir, 'tiny-q', { tiny: true, seed: 1 });
    const dDir = await syntheticModel(tmp.dir, 'tiny-d', { tiny: true, seed: 2 });
    const [q, d] = await Promise.all([loadOnnxEncoder(qDir), loadOnnxEncoder(dDir)]);
    const bi = new BiEncoder({ query: q, document: d });
    try {
      assert.equal(bi.shared, false);
      assert.equal(bi.metric, 'cosine');
      const viaBi = await bi.encodeQueries(['hello']);
      assert.ok(maxAbsDiff(viaBi.data, (await q.encode(['hello'])).data) <= 1e-7);
      assert.ok(maxAbsDiff(viaBi.data, (await d.encode(['hello'])).data) > 1e-3);
    } finally {
      await bi.close();
    }
    await assert.rejects(q.encode(['x']), (e) => isBiencoderError(e, 'CLOSED'));
  });

  test('a graph without token_type_ids, dtype variants, a missing variant', async () => {
    const dir = await syntheticModel(tmp.dir, 'tiny-notype', { tiny: true, tokenTypeIds: false, variants: ['fp16', 'quantized'] });
    const fp32 = await loadOnnxEncoder(dir);
    const fp16 = await loadOnnxEncoder(dir, { dtype: 'fp16' });
    const q8 = await loadOnnxEncoder(dir, { dtype: 'q8' });
    try {
      const texts = VARIED_SENTENCES.slice(0, 10);
      const a = await fp32.encode(texts);
      for (const other of [fp16, q8]) {
        const b = await other.encode(texts);
        for (let i = 0; i < texts.length; i++) assert.ok(rowCosine(a.data, b.data, 32, i) > 0.99, `${other.dtype} row ${i}`);
      }
      assert.equal(fp16.dtype, 'fp16');
    } finally {
      await Promise.all([fp32.close(), fp16.close(), q8.close()]);
    }
    await assert.rejects(loadOnnxEncoder(dir, { dtype: 'int8' }), (e) => isBiencoderError(e, 'MODEL_INVALID') && /model_int8\.onnx/.test(e.message));
    // @ts-expect-error an unknown dtype on purpose
    await assert.rejects(loadOnnxEncoder(dir, { dtype: 'fp8' }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  });

  test('maxSeqLength override and a missing model directory', async () => {
    const dir = await syntheticModel(tmp.dir, 'tiny-len', { tiny: true });
    const encoder = await loadOnnxEncoder(dir, { maxSeqLength: 8 });
    try {
      assert.equal(encoder.maxTokens, 8);
      const out = await encoder.encode(['one two three four five six seven eight nine']);
      assert.equal(out.truncated, 1);
    } finally {
      await encoder.close();
    }
    await assert.rejects(loadOnnxEncoder(`${tmp.dir}/does-not-exist`), (e) => isBiencoderError(e, 'MODEL_NOT_FOUND'));
  });
});
