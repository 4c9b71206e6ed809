import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { isBiencoderError } from '../../src/errors.ts';
import { makeSyntheticModel, syntheticModelDims } from '../../scripts/synthetic-model.ts';
import type { SyntheticModelOptions } from '../../scripts/synthetic-model.ts';
import { cosine } from '../helpers/vector-math.ts';

const { onnx } = onnxProto;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TINY_H = syntheticModelDims(true).hiddenSize;

let root: string;
let counter = 0;

/** Generates a model into a fresh directory under the test's temp root; returns the directory. */
async function generate(options: Omit<SyntheticModelOptions, 'outDir'>, name = `model${++counter}`): Promise<string> {
  const outDir = path.join(root, name);
  await makeSyntheticModel({ outDir, ...options });
  return outDir;
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function int64(values: number[][]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values.flat(), (v) => BigInt(v)), [values.length, values[0].length]);
}

async function runModel(
  session: ort.InferenceSession, ids: number[][], mask: number[][],
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const feeds: Record<string, ort.Tensor> = { input_ids: int64(ids), attention_mask: int64(mask) };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = int64(ids.map((row) => row.map(() => 0)));
  const out = (await session.run(feeds)).last_hidden_state;
  return { data: out.data as Float32Array, dims: out.dims };
}

/** Mean pooling over real tokens, per row. */
function meanPool(data: Float32Array, dims: readonly number[], mask: number[][]): number[][] {
  const [batch, seq, hidden] = dims;
  const rows: number[][] = [];
  for (let b = 0; b < batch; b++) {
    const sum = new Array<number>(hidden).fill(0);
    let count = 0;
    for (let s = 0; s < seq; s++) {
      if (mask[b][s] === 0) continue;
      count++;
      for (let h = 0; h < hidden; h++) sum[h] += data[(b * seq + s) * hidden + h];
    }
    rows.push(sum.map((v) => v / count));
  }
  return rows;
}

function assertAllFinite(data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) assert.ok(Number.isFinite(data[i]), `non-finite value at ${i}`);
}

// A padded batch of two token sequences ([CLS] ... [SEP] with BERT vocab ids).
const IDS = [
  [101, 7592, 2088, 102, 0, 0, 0],
  [101, 1037, 2936, 6251, 2182, 2003, 102],
];
const MASK = [
  [1, 1, 1, 1, 0, 0, 0],
  [1, 1, 1, 1, 1, 1, 1],
];

type Vec = Float64Array<ArrayBufferLike>;

/** Plain TypeScript BERT forward pass (float64) over the initializers of an fp32 model.onnx. */
function referenceForward(modelPath: string, ids: number[], layers: number, heads: number): Vec[] {
  const model = onnx.ModelProto.decode(fs.readFileSync(modelPath));
  const weights = new Map<string, Float32Array>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    const copy = Uint8Array.from(t.rawData ?? []); // aligned copy
    weights.set(t.name ?? '', new Float32Array(copy.buffer));
  }
  const w = (name: string): Float32Array => {
    const value = weights.get(name);
    assert.ok(value, `missing initializer ${name}`);
    return value;
  };
  const H = w('embeddings.LayerNorm.weight').length;
  const headDim = H / heads;
  const linear = (x: Vec[], prefix: string): Vec[] => {
    const weight = w(`${prefix}.weight`);
    const bias = w(`${prefix}.bias`);
    const outDim = bias.length;
    const inDim = weight.length / outDim;
    return x.map((row) => {
      const out = Float64Array.from(bias);
      for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) out[o] += row[i] * weight[i * outDim + o];
      return out;
    });
  };
  const layerNorm = (x: Vec[], prefix: string): Vec[] => {
    const gamma = w(`${prefix}.weight`);
    const beta = w(`${prefix}.bias`);
    return x.map((row) => {
      const mean = row.reduce((a, b) => a + b, 0) / row.length;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
      return row.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-12)) * gamma[i] + beta[i]);
    });
  };
  const add = (a: Vec[], b: Vec[]): Vec[] => a.map((row, i) => row.map((v, j) => v + b[i][j]));
  const erf = (x: number): number => {
    // Numerical Recipes' erfc Chebyshev fit (fractional error < 1.2e-7).
    const t = 1 / (1 + 0.5 * Math.abs(x));
    const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? y : -y;
  };

  const word = w('embeddings.word_embeddings.weight');
  const pos = w('embeddings.position_embeddings.weight');
  const type = w('embeddings.token_type_embeddings.weight');
  let x: Vec[] = ids.map((id, t) => {
    const row = new Float64Array(H);
    for (let h = 0; h < H; h++) row[h] = word[id * H + h] + pos[t * H + h] + type[h];
    return row;
  });
  x = layerNorm(x, 'embeddings.LayerNorm');
  for (let l = 0; l < layers; l++) {
    const p = `encoder.layer.${l}`;
    const q = linear(x, `${p}.attention.self.query`);
    const k = linear(x, `${p}.attention.self.key`);
    const v = linear(x, `${p}.attention.self.value`);
    const context = x.map(() => new Float64Array(H));
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < ids.length; i++) {
        const scores = k.map((kj) => {
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += q[i][h * headDim + d] * kj[h * headDim + d];
          return dot / Math.sqrt(headDim);
        });
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const total = exps.reduce((a, b) => a + b, 0);
        for (let j = 0; j < ids.length; j++) {
          for (let d = 0; d < headDim; d++) context[i][h * headDim + d] += (exps[j] / total) * v[j][h * headDim + d];
        }
      }
    }
    const attn = layerNorm(add(linear(context, `${p}.attention.output.dense`), x), `${p}.attention.output.LayerNorm`);
    const inter = linear(attn, `${p}.intermediate.dense`).map((row) => row.map((u) => 0.5 * u * (1 + erf(u / Math.SQRT2))));
    x = layerNorm(add(linear(inter, `${p}.output.dense`), attn), `${p}.output.LayerNorm`);
  }
  return x;
}

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'biencoder-synthetic-'));
});

after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('makeSyntheticModel (tiny)', () => {
  test('writes the sentence-transformers hub layout', async () => {
    const dir = await generate({ tiny: true, prompts: { query: 'query: ', passage: 'passage: ' } });
    for (const file of [
      'config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'modules.json',
      '1_Pooling/config.json', 'sentence_bert_config.json', 'config_sentence_transformers.json', 'onnx/model.onnx', 'README.md',
    ]) {
      assert.ok(fs.existsSync(path.join(dir, file)), `${file} missing`);
    }
    assert.ok(!fs.existsSync(path.join(dir, 'onnx/model_fp16.onnx')));
    assert.ok(!fs.existsSync(path.join(dir, 'onnx/model_quantized.onnx')));

    const config = readJson(path.join(dir, 'config.json')) as Record<string, unknown>;
    assert.equal(config.model_type, 'bert');
    assert.deepEqual(config.architectures, ['BertModel']);
    assert.equal(config.hidden_size, 32);
    assert.equal(config.num_hidden_layers, 2);
    assert.equal(config.num_attention_heads, 2);
    assert.equal(config.intermediate_size, 64);
    assert.equal(config.max_position_embeddings, 512);
    assert.equal(config.vocab_size, 30522);

    assert.equal((readJson(path.join(dir, 'tokenizer_config.json')) as Record<string, unknown>).model_max_length, 128);
    assert.deepEqual(readJson(path.join(dir, 'modules.json')), [
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
    ]);
    assert.deepEqual(readJson(path.join(dir, '1_Pooling/config.json')), {
      word_embedding_dimension: 32,
      pooling_mode_cls_token: false,
      pooling_mode_mean_tokens: true,
      pooling_mode_max_tokens: false,
      pooling_mode_mean_sqrt_len_tokens: false,
      pooling_mode_weightedmean_tokens: false,
      pooling_mode_lasttoken: false,
      include_prompt: true,
    });
    assert.deepEqual(readJson(path.join(dir, 'sentence_bert_config.json')), { max_seq_length: 128, do_lower_case: false });
    assert.deepEqual(readJson(path.join(dir, 'config_sentence_transformers.json')), {
      __version__: { sentence_transformers: '3.0.1', transformers: '4.41.2', pytorch: '2.3.0' },
      prompts: { query: 'query: ', passage: 'passage: ' },
      default_prompt_name: null,
      similarity_fn_name: 'cosine',
    });
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    assert.match(readme, /synthetic/i);
    assert.match(readme, /random/);
    assert.match(readme, /seed: 42/);
  });

  test('the ONNX graph: opset, inputs, outputs and symbolic dims', async () => {
    const dir = await generate({ tiny: true });
    const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'onnx/model.onnx')));
    assert.ok(Number(model.irVersion) >= 7);
    assert.ok((model.opsetImport ?? []).some((o) => (o.domain ?? '') === '' && Number(o.version) >= 14));
    const graph = model.graph;
    assert.ok(graph);
    const inputs = graph.input ?? [];
    assert.deepEqual(inputs.map((i) => i.name), ['input_ids', 'attention_mask', 'token_type_ids']);
    for (const input of inputs) {
      assert.equal(input.type?.tensorType?.elemType, onnx.TensorProto.DataType.INT64);
      assert.deepEqual(input.type?.tensorType?.shape?.dim?.map((d) => d.dimParam), ['batch_size', 'sequence_length']);
    }
    const output = (graph.output ?? [])[0];
    assert.equal(output.name, 'last_hidden_state');
    assert.equal(output.type?.tensorType?.elemType, onnx.TensorProto.DataType.FLOAT);
    const outDims = output.type?.tensorType?.shape?.dim ?? [];
    assert.deepEqual(outDims.map((d) => d.dimParam || Number(d.dimValue)), ['batch_size', 'sequence_length', 32]);
    const ops = new Set((graph.node ?? []).map((n) => n.opType));
    for (const op of ['Gather', 'LayerNormalization', 'Softmax', 'Erf', 'MatMul', 'Shape', 'Slice']) assert.ok(ops.has(op), op);
    for (const t of graph.initializer ?? []) assert.ok(t.rawData && t.rawData.length > 0, `${t.name} has no raw_data`);
  });

  test('runs in onnxruntime-node: shape, finite values, padding does not leak', async () => {
    const dir = await generate({ tiny: true });
    const session = await ort.InferenceSession.create(path.join(dir, 'onnx/model.onnx'));
    assert.deepEqual(session.inputNames, ['input_ids', 'attention_mask', 'token_type_ids']);
    assert.deepEqual(session.outputNames, ['last_hidden_state']);

    const batch = await runModel(session, IDS, MASK);
    assert.deepEqual(batch.dims, [2, 7, TINY_H]);
    assertAllFinite(batch.data);

    // The first sequence alone (4 tokens) vs inside the padded batch: its real-token rows match.
    const alone = await runModel(session, [IDS[0].slice(0, 4)], [MASK[0].slice(0, 4)]);
    assert.deepEqual(alone.dims, [1, 4, TINY_H]);
    for (let i = 0; i < 4 * TINY_H; i++) assert.ok(Math.abs(alone.data[i] - batch.data[i]) < 1e-5, `row value ${i} differs`);

    // Also with an explicit extra 0-mask tail of arbitrary (non-pad) tokens.
    const tail = await runModel(session, [[...IDS[0].slice(0, 4), 2023, 2003, 1037]], [[1, 1, 1, 1, 0, 0, 0]]);
    for (let i = 0; i < 4 * TINY_H; i++) assert.ok(Math.abs(alone.data[i] - tail.data[i]) < 1e-5, `tail value ${i} differs`);

    // Different texts give clearly different mean-pooled embeddings.
    const pooled = meanPool(batch.data, batch.dims, MASK);
    assert.ok(cosine(pooled[0], pooled[1]) < 0.999, `cosine ${cosine(pooled[0], pooled[1])}`);
    await session.release();
  });

  test('matches a plain TypeScript BERT forward pass over its own weights', async () => {
    const dir = await generate({ tiny: true, seed: 7 });
    const modelPath = path.join(dir, 'onnx/model.onnx');
    const session = await ort.InferenceSession.create(modelPath);
    const ids = IDS[1];
    const got = await runModel(session, [ids], [ids.map(() => 1)]);
    const expected = referenceForward(modelPath, ids, 2, 2);
    let maxDiff = 0;
    expected.forEach((row, t) => row.forEach((v, h) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - got.data[t * TINY_H + h]));
    }));
    assert.ok(maxDiff < 1e-4, `max abs difference ${maxDiff}`);
    await session.release();
  });

  test('loads in transformers.js as a local model', async () => {
    const dir = await generate({ tiny: true }, 'tjs-model');
    const { pipeline, env } = await import('@huggingface/transformers');
    // transformers.js 4.x (utils/hub.js buildResourcePaths): a model id that looks like a hub repo id
    // ("name" or "org/name") is looked up as `${env.localModelPath}/${id}/...`; anything else (e.g. an
    // absolute path) is used as a path as is. We use the documented localModelPath + directory name.
    // The file cache is turned off so nothing stale (or remote) can be served in place of our files.
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.useFSCache = false;
    env.localModelPath = path.dirname(dir);
    const extractor = await pipeline('feature-extraction', path.basename(dir), { dtype: 'fp32' });
    try {
      const texts = ['hello world', 'a longer sentence here'];
      const output = await extractor(texts, { pooling: 'mean', normalize: true });
      assert.deepEqual(output.dims, [2, TINY_H]);
      const data = output.data as Float32Array;
      assertAllFinite(data);
      const a = data.subarray(0, TINY_H);
      const b = data.subarray(TINY_H);
      assert.ok(Math.abs(cosine(a, a) - 1) < 1e-6);
      assert.ok(cosine(a, b) < 0.999, `cosine ${cosine(a, b)}`);

      // Same numbers as running the ONNX file directly on transformers.js's tokenization.
      const encoded = extractor.tokenizer(texts, { padding: true, truncation: true });
      const ids = encoded.input_ids;
      const [batch, seq] = ids.dims as number[];
      const toRows = (t: { data: unknown }): number[][] => Array.from({ length: batch }, (_, r) =>
        Array.from((t.data as BigInt64Array).subarray(r * seq, (r + 1) * seq), Number));
      const mask = toRows(encoded.attention_mask);
      const session = await ort.InferenceSession.create(path.join(dir, 'onnx/model.onnx'));
      const direct = await runModel(session, toRows(ids), mask);
      await session.release();
      meanPool(direct.data, direct.dims, mask).forEach((row, r) => {
        const norm = Math.hypot(...row);
        row.forEach((v, h) => assert.ok(Math.abs(v / norm - data[r * TINY_H + h]) < 1e-5));
      });
    } finally {
      await extractor.dispose();
    }
  });

  test('is deterministic for a seed and differs across seeds', async () => {
    const a = await generate({ tiny: true, seed: 123 });
    const b = await generate({ tiny: true, seed: 123 });
    const c = await generate({ tiny: true, seed: 124 });
    const read = (dir: string): Buffer => fs.readFileSync(path.join(dir, 'onnx/model.onnx'));
    assert.ok(read(a).equals(read(b)), 'same seed must give byte-identical model.onnx');
    assert.ok(!read(a).equals(read(c)), 'a different seed must give a different model.onnx');
    assert.equal(read(a).length, read(c).length);
  });

  test('fp16 and quantized variants load and stay close to fp32', async () => {
    const dir = await generate({ tiny: true, variants: ['fp16', 'quantized'] });
    const fp32 = await ort.InferenceSession.create(path.join(dir, 'onnx/model.onnx'));
    const reference = await runModel(fp32, IDS, MASK);
    const refPooled = meanPool(reference.data, reference.dims, MASK);
    await fp32.release();
    for (const [file, dataType] of [
      ['model_fp16.onnx', onnx.TensorProto.DataType.FLOAT16],
      ['model_quantized.onnx', onnx.TensorProto.DataType.INT8],
    ] as const) {
      const modelPath = path.join(dir, 'onnx', file);
      const graph = onnx.ModelProto.decode(fs.readFileSync(modelPath)).graph;
      assert.ok((graph?.initializer ?? []).some((t) => t.dataType === dataType), `${file} has no ${dataType} initializers`);
      const session = await ort.InferenceSession.create(modelPath);
      assert.deepEqual(session.inputNames, ['input_ids', 'attention_mask', 'token_type_ids']);
      const out = await runModel(session, IDS, MASK);
      await session.release();
      assert.deepEqual(out.dims, reference.dims);
      assertAllFinite(out.data);
      meanPool(out.data, out.dims, MASK).forEach((row, r) => {
        const cos = cosine(row, refPooled[r]);
        assert.ok(cos > 0.99, `${file} row ${r}: cosine ${cos}`);
      });
    }
    assert.ok(fs.statSync(path.join(dir, 'onnx/model_fp16.onnx')).size < fs.statSync(path.join(dir, 'onnx/model.onnx')).size);
  });

  test('without token_type_ids the graph has only input_ids and attention_mask', async () => {
    const withTypes = await generate({ tiny: true });
    const dir = await generate({ tiny: true, tokenTypeIds: false });
    const session = await ort.InferenceSession.create(path.join(dir, 'onnx/model.onnx'));
    assert.deepEqual(session.inputNames, ['input_ids', 'attention_mask']);
    const out = await runModel(session, IDS, MASK);
    await session.release();
    // Token type 0 is used for every token: same outputs as feeding zeros to the 3-input graph.
    const full = await ort.InferenceSession.create(path.join(withTypes, 'onnx/model.onnx'));
    const expected = await runModel(full, IDS, MASK);
    await full.release();
    for (let i = 0; i < out.data.length; i++) assert.ok(Math.abs(out.data[i] - expected.data[i]) < 1e-5);
  });

  test('pooling, normalize and maxSeqLength options', async () => {
    const dir = await generate({ tiny: true, pooling: 'cls', normalize: false, maxSeqLength: 64 });
    const modules = readJson(path.join(dir, 'modules.json')) as Array<{ type: string }>;
    assert.deepEqual(modules.map((m) => m.type), ['sentence_transformers.models.Transformer', 'sentence_transformers.models.Pooling']);
    const pooling = readJson(path.join(dir, '1_Pooling/config.json')) as Record<string, unknown>;
    assert.equal(pooling.pooling_mode_cls_token, true);
    assert.equal(pooling.pooling_mode_mean_tokens, false);
    assert.equal(pooling.pooling_mode_max_tokens, false);
    assert.equal(pooling.pooling_mode_lasttoken, false);
    assert.deepEqual(readJson(path.join(dir, 'sentence_bert_config.json')), { max_seq_length: 64, do_lower_case: false });
    assert.equal((readJson(path.join(dir, 'tokenizer_config.json')) as Record<string, unknown>).model_max_length, 64);

    for (const mode of ['max', 'lasttoken'] as const) {
      const other = await generate({ tiny: true, pooling: mode });
      const config = readJson(path.join(other, '1_Pooling/config.json')) as Record<string, unknown>;
      assert.equal(config[mode === 'max' ? 'pooling_mode_max_tokens' : 'pooling_mode_lasttoken'], true);
      assert.equal(config.pooling_mode_mean_tokens, false);
    }
  });

  test('rejects invalid options with INVALID_ARGUMENT', async () => {
    const outDir = path.join(root, 'never-written');
    const bad: SyntheticModelOptions[] = [
      { outDir: '' },
      { outDir, tiny: true, seed: -1 },
      { outDir, tiny: true, seed: 1.5 },
      { outDir, tiny: true, pooling: 'sum' as never },
      { outDir, tiny: true, maxSeqLength: 0 },
      { outDir, tiny: true, maxSeqLength: 513 },
      { outDir, tiny: true, variants: ['int4' as never] },
    ];
    for (const options of bad) {
      await assert.rejects(makeSyntheticModel(options), (error) => isBiencoderError(error, 'INVALID_ARGUMENT'));
    }
    assert.ok(!fs.existsSync(outDir));
  });

  test('the CLI writes a model and prints the files', async () => {
    const outDir = path.join(root, 'cli-model');
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import', 'tsx', 'scripts/make-synthetic-model.ts', outDir,
      '--tiny', '--seed', '5', '--pooling', 'max', '--no-normalize', '--max-seq-length', '32',
      '--no-token-type-ids', '--variants', 'fp16,quantized',
    ], { cwd: REPO_ROOT });
    assert.match(stdout, /onnx\/model\.onnx/);
    assert.match(stdout, /onnx\/model_fp16\.onnx/);
    assert.match(stdout, /onnx\/model_quantized\.onnx/);
    assert.equal((readJson(path.join(outDir, 'modules.json')) as unknown[]).length, 2);
    assert.equal((readJson(path.join(outDir, '1_Pooling/config.json')) as Record<string, unknown>).pooling_mode_max_tokens, true);
    assert.deepEqual(readJson(path.join(outDir, 'sentence_bert_config.json')), { max_seq_length: 32, do_lower_case: false });
    const library = await generate({ tiny: true, seed: 5, tokenTypeIds: false });
    assert.ok(fs.readFileSync(path.join(outDir, 'onnx/model.onnx')).equals(fs.readFileSync(path.join(library, 'onnx/model.onnx'))));

    await assert.rejects(
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/make-synthetic-model.ts', outDir, '--pooling', 'sum'], { cwd: REPO_ROOT }),
      (error: { code?: number; stderr?: string }) => error.code === 2 && /pooling/.test(error.stderr ?? ''),
    );
  });
});

describe('makeSyntheticModel (full size)', () => {
  test('generates a MiniLM-L6 sized model that loads and runs', async () => {
    const started = performance.now();
    const dir = await generate({});
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < 30, `generation took ${seconds.toFixed(1)} s`);
    const config = readJson(path.join(dir, 'config.json')) as Record<string, unknown>;
    assert.equal(config.hidden_size, 384);
    assert.equal(config.num_hidden_layers, 6);
    assert.equal(config.num_attention_heads, 12);
    assert.equal(config.intermediate_size, 1536);
    assert.deepEqual(readJson(path.join(dir, 'sentence_bert_config.json')), { max_seq_length: 256, do_lower_case: false });
    const size = fs.statSync(path.join(dir, 'onnx/model.onnx')).size;
    assert.ok(size > 85e6 && size < 95e6, `model.onnx is ${size} bytes`);

    const session = await ort.InferenceSession.create(path.join(dir, 'onnx/model.onnx'));
    const out = await runModel(session, IDS, MASK);
    await session.release();
    assert.deepEqual(out.dims, [2, 7, 384]);
    assertAllFinite(out.data);
    const pooled = meanPool(out.data, out.dims, MASK);
    assert.ok(cosine(pooled[0], pooled[1]) < 0.999);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
