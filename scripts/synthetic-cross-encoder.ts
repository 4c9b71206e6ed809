/**
 * Deterministic random-weight BERT cross-encoders (BertForSequenceClassification) in the Hugging Face
 * hub layout of a sentence-transformers CrossEncoder exported to ONNX, like
 * cross-encoder/ms-marco-MiniLM-L6-v2: config.json (architectures, id2label, the activation),
 * the tokenizer files and onnx/model.onnx with inputs input_ids, attention_mask, token_type_ids and
 * output `logits` [batch, num_labels].
 *
 * No real reranker weights are reachable in our test environments, so the cross-encoder code is tested
 * on these: the real all-MiniLM-L6-v2 tokenizer, the BERT encoder graph of scripts/synthetic-model.ts
 * (same weights for the same seed) and a classification head as transformers builds it:
 * pooler (dense on the [CLS] state, tanh) then classifier (dense to num_labels).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import {
  DataType, IR_VERSION, MINILM_TOKENIZER_DIR, OPSET, Rng, bertConfigSizes, buildGraph, floatTensor, invalid, makeParams, readJson,
  syntheticModelDims, valueInfo, writeJson, type SyntheticDims,
} from './synthetic-model.ts';

const { onnx } = onnxProto;

/** Where sentence-transformers records a CrossEncoder's activation in config.json. */
export type ActivationKey = 'sentence_transformers' | 'sbert_ce_default_activation_function';

export interface SyntheticCrossEncoderOptions {
  /** Directory to write the model into (created if missing; existing files are overwritten). */
  outDir: string;
  /** 2 layers, hidden 32, 2 heads, intermediate 64 (same real tokenizer). Default false: MiniLM-L6 sized. */
  tiny?: boolean;
  /** PRNG seed (a 32-bit unsigned integer). Default 42. */
  seed?: number;
  /** Number of output labels (classifier width). Default 1, as ms-marco rerankers. */
  labels?: number;
  /** tokenizer_config.json model_max_length. Default 512 (128 tiny). */
  maxLength?: number;
  /**
   * The activation's dotted path written to config.json, or null to write none (old exports: the reader then
   * applies sentence-transformers' default). Default: what sentence-transformers 4 saves,
   * torch.nn.modules.activation.Sigmoid for 1 label, torch.nn.modules.linear.Identity otherwise.
   */
  activationFn?: string | null;
  /** Where the activation is written: `sentence_transformers.activation_fn` (v4+, default) or the older top-level key. */
  activationKey?: ActivationKey;
  /** Whether the graph has a `token_type_ids` input. Default true. */
  tokenTypeIds?: boolean;
}

interface Resolved {
  outDir: string;
  tiny: boolean;
  seed: number;
  labels: number;
  maxLength: number;
  activationFn: string | null;
  activationKey: ActivationKey;
  tokenTypeIds: boolean;
}

const MAX_LABELS = 1024;

function resolveOptions(options: SyntheticCrossEncoderOptions): Resolved {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const { outDir } = options;
  if (typeof outDir !== 'string' || outDir.length === 0) throw invalid('outDir must be a non-empty string');
  const tiny = options.tiny ?? false;
  const seed = options.seed ?? 42;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw invalid('seed must be an integer in [0, 2^32)', { seed });
  const labels = options.labels ?? 1;
  if (!Number.isInteger(labels) || labels < 1 || labels > MAX_LABELS) throw invalid(`labels must be an integer in [1, ${MAX_LABELS}]`, { labels });
  const maxPositions = syntheticModelDims(tiny).maxPositions;
  const maxLength = options.maxLength ?? (tiny ? 128 : 512);
  if (!Number.isInteger(maxLength) || maxLength < 4 || maxLength > maxPositions) {
    throw invalid(`maxLength must be an integer in [4, ${maxPositions}]`, { maxLength });
  }
  const activationFn = options.activationFn === undefined
    ? (labels === 1 ? 'torch.nn.modules.activation.Sigmoid' : 'torch.nn.modules.linear.Identity')
    : options.activationFn;
  if (activationFn !== null && (typeof activationFn !== 'string' || activationFn.length === 0)) {
    throw invalid('activationFn must be a dotted path string or null');
  }
  const activationKey = options.activationKey ?? 'sentence_transformers';
  if (activationKey !== 'sentence_transformers' && activationKey !== 'sbert_ce_default_activation_function') {
    throw invalid('activationKey must be sentence_transformers or sbert_ce_default_activation_function', { activationKey });
  }
  return { outDir, tiny, seed, labels, maxLength, activationFn, activationKey, tokenTypeIds: options.tokenTypeIds ?? true };
}

interface HeadParams {
  poolerWeight: Float32Array; // [H, H], stored [in, out]
  poolerBias: Float32Array;
  classifierWeight: Float32Array; // [H, labels]
  classifierBias: Float32Array;
}

/**
 * Head weights from their own PRNG stream (the encoder's weights stay those of the synthetic bi-encoder
 * of the same seed). Std 1/sqrt(H) rather than BERT's 0.02 so that logits spread over about [-2, 2]:
 * an agreement test at 1e-4 then means something.
 */
function makeHead(dims: SyntheticDims, seed: number, labels: number): HeadParams {
  const rng = new Rng((seed ^ 0x5eed_c0de) >>> 0);
  const H = dims.hiddenSize;
  const std = 1 / Math.sqrt(H);
  return {
    poolerWeight: rng.fill(H * H, 0, std),
    poolerBias: rng.fill(H, 0, 0.02),
    classifierWeight: rng.fill(H * labels, 0, 2 * std),
    classifierBias: rng.fill(labels, 0, 0.1),
  };
}

function encodeModel(dims: SyntheticDims, seed: number, labels: number, tokenTypeIds: boolean, docString: string): Uint8Array {
  const g = buildGraph(dims, tokenTypeIds); // ends in `last_hidden_state` [B, S, H]
  const H = dims.hiddenSize;
  // BertPooler: dense(tanh) on the first token's state; then the classifier.
  const first = g.op('Gather', '/bert/pooler/Gather', ['last_hidden_state', g.int64('/bert/pooler/first_token', [], [0])], { axis: { int: 1 } });
  const pooledMm = g.op('MatMul', '/bert/pooler/dense/MatMul', [first, 'bert.pooler.dense.weight']);
  const pooledAdd = g.op('Add', '/bert/pooler/dense/Add', [pooledMm, 'bert.pooler.dense.bias']);
  const pooled = g.op('Tanh', '/bert/pooler/activation/Tanh', [pooledAdd]);
  const logitsMm = g.op('MatMul', '/classifier/MatMul', [pooled, 'classifier.weight']);
  g.op('Add', '/classifier/Add', [logitsMm, 'classifier.bias']);
  g.nodes[g.nodes.length - 1].output = ['logits'];

  const head = makeHead(dims, seed, labels);
  const initializers: OnnxTypes.ITensorProto[] = [];
  for (const param of makeParams(dims, seed).values()) initializers.push(floatTensor(param.name, param.dims, param.data));
  initializers.push(
    floatTensor('bert.pooler.dense.weight', [H, H], head.poolerWeight),
    floatTensor('bert.pooler.dense.bias', [H], head.poolerBias),
    floatTensor('classifier.weight', [H, labels], head.classifierWeight),
    floatTensor('classifier.bias', [labels], head.classifierBias),
    ...g.constants,
  );
  const inputNames = tokenTypeIds ? ['input_ids', 'attention_mask', 'token_type_ids'] : ['input_ids', 'attention_mask'];
  const model: OnnxTypes.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'biencoder-synthetic-cross-encoder',
    producerVersion: '1',
    docString,
    graph: {
      name: 'main_graph',
      node: g.nodes,
      initializer: initializers,
      input: inputNames.map((name) => valueInfo(name, DataType.INT64, ['batch_size', 'sequence_length'])),
      output: [valueInfo('logits', DataType.FLOAT, ['batch_size', labels])],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/** The files a synthetic cross-encoder directory holds, relative to it. */
export const SYNTHETIC_CROSS_ENCODER_FILES = [
  'config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'onnx/model.onnx', 'README.md',
] as const;

/**
 * Writes a deterministic random-weight BERT cross-encoder (hub layout, real ONNX) into `options.outDir`.
 * Same options and seed give byte-identical files.
 */
export async function makeSyntheticCrossEncoder(options: SyntheticCrossEncoderOptions): Promise<void> {
  const o = resolveOptions(options);
  const dims = syntheticModelDims(o.tiny);
  const outDir = path.resolve(o.outDir);
  await fs.mkdir(path.join(outDir, 'onnx'), { recursive: true });

  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  for (let i = 0; i < o.labels; i++) {
    id2label[String(i)] = `LABEL_${i}`;
    label2id[`LABEL_${i}`] = i;
  }
  const config = await readJson(path.join(MINILM_TOKENIZER_DIR, 'config.json'));
  Object.assign(config, {
    _name_or_path: `biencoder/synthetic-cross-encoder${o.tiny ? '-tiny' : ''}-seed${o.seed}`,
    architectures: ['BertForSequenceClassification'],
    model_type: 'bert',
    ...bertConfigSizes(dims),
    id2label,
    label2id,
  });
  if (o.activationFn !== null) {
    if (o.activationKey === 'sentence_transformers') config.sentence_transformers = { activation_fn: o.activationFn, version: '4.1.0' };
    else config.sbert_ce_default_activation_function = o.activationFn;
  }
  await writeJson(path.join(outDir, 'config.json'), config);

  for (const file of ['tokenizer.json', 'special_tokens_map.json', 'vocab.txt']) {
    await fs.copyFile(path.join(MINILM_TOKENIZER_DIR, file), path.join(outDir, file));
  }
  const tokenizerConfig = await readJson(path.join(MINILM_TOKENIZER_DIR, 'tokenizer_config.json'));
  tokenizerConfig.model_max_length = o.maxLength;
  delete tokenizerConfig.special_tokens_map_file;
  await writeJson(path.join(outDir, 'tokenizer_config.json'), tokenizerConfig);

  const description = `Synthetic random-weight BERT cross-encoder (${o.tiny ? 'tiny' : 'MiniLM-L6 sized'}), seed ${o.seed}, ` +
    `${o.labels} label(s). Not a trained model.`;
  await fs.writeFile(path.join(outDir, 'onnx', 'model.onnx'), encodeModel(dims, o.seed, o.labels, o.tokenTypeIds, description));

  const activation = o.activationFn === null
    ? 'none written (readers apply the default: sigmoid for 1 label, identity otherwise)'
    : `${o.activationFn} (in ${o.activationKey === 'sentence_transformers' ? 'sentence_transformers.activation_fn' : 'sbert_ce_default_activation_function'})`;
  await fs.writeFile(path.join(outDir, 'README.md'), [
    '# Synthetic cross-encoder (random weights)',
    '',
    'Generated by biencoder `scripts/make-synthetic-cross-encoder.ts` for tests and benchmarks. **The weights are',
    'random**: this reranker was never trained and its scores carry no meaning.',
    '',
    `- seed: ${o.seed}`,
    `- size: ${o.tiny ? 'tiny' : 'full (ms-marco-MiniLM-L6 shaped)'}; ${dims.numLayers} layers, hidden ${dims.hiddenSize},` +
      ` ${dims.numHeads} heads, intermediate ${dims.intermediateSize}, vocab ${dims.vocabSize}`,
    `- head: BertForSequenceClassification (pooler dense + tanh on [CLS], classifier to ${o.labels} label(s))`,
    `- activation: ${activation}`,
    `- model_max_length: ${o.maxLength}`,
    `- ONNX inputs: input_ids, attention_mask${o.tokenTypeIds ? ', token_type_ids' : ''}; output: logits [batch, ${o.labels}]`,
    '- tokenizer: copied from sentence-transformers/all-MiniLM-L6-v2',
    '',
  ].join('\n'));
}
