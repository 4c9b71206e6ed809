/**
 * Deterministic random-weight BERT sentence-transformers models in the Hugging Face hub layout.
 *
 * No real model weights are reachable in our test environments, so the ONNX embedding code is
 * exercised on synthetic models: the real all-MiniLM-L6-v2 tokenizer and config, a faithful BERT
 * encoder graph (as PyTorch's ONNX exporter produces it) and seeded random weights.
 *
 * The graph is written with `onnx-proto` (protobufjs-generated ONNX messages); initializers are
 * stored as little-endian `raw_data`. Nothing here depends on Python.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { BiencoderError } from '../src/errors.ts';

const { onnx } = onnxProto;
type INodeProto = OnnxTypes.INodeProto;
type ITensorProto = OnnxTypes.ITensorProto;
type IAttributeProto = OnnxTypes.IAttributeProto;
type IValueInfoProto = OnnxTypes.IValueInfoProto;

export type SyntheticPooling = 'mean' | 'cls' | 'max' | 'lasttoken';
export type SyntheticVariant = 'fp16' | 'quantized';

export interface SyntheticModelOptions {
  /** Directory to write the model into (created if missing; existing files are overwritten). */
  outDir: string;
  /** 2 layers, hidden 32, 2 heads, intermediate 64 (same real tokenizer, vocab 30522). Default false. */
  tiny?: boolean;
  /** PRNG seed (a 32-bit unsigned integer). Default 42. */
  seed?: number;
  /** Pooling written to 1_Pooling/config.json. Default 'mean'. */
  pooling?: SyntheticPooling;
  /** Whether modules.json lists a Normalize module. Default true. */
  normalize?: boolean;
  /** sentence_bert_config.json max_seq_length and tokenizer model_max_length. Default 256 (128 tiny). */
  maxSeqLength?: number;
  /** config_sentence_transformers.json `prompts`. Default {}. */
  prompts?: Record<string, string>;
  /** Whether the graph has a `token_type_ids` input. Default true. */
  tokenTypeIds?: boolean;
  /** Extra ONNX files: onnx/model_fp16.onnx, onnx/model_quantized.onnx. Default none. */
  variants?: SyntheticVariant[];
}

/** The real all-MiniLM-L6-v2 tokenizer and config, shared outside the repo. */
export const MINILM_TOKENIZER_DIR = fileURLToPath(new URL('../../shared/models/minilm-tokenizer/', import.meta.url));

export interface SyntheticDims {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
}

const FULL_DIMS: SyntheticDims = {
  vocabSize: 30522, hiddenSize: 384, numLayers: 6, numHeads: 12, intermediateSize: 1536, maxPositions: 512, typeVocabSize: 2,
};
const TINY_DIMS: SyntheticDims = {
  vocabSize: 30522, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 512, typeVocabSize: 2,
};

/** Model sizes for a full (MiniLM-L6 shaped) or tiny synthetic model. */
export function syntheticModelDims(tiny = false): SyntheticDims {
  return { ...(tiny ? TINY_DIMS : FULL_DIMS) };
}

const POOLINGS: readonly SyntheticPooling[] = ['mean', 'cls', 'max', 'lasttoken'];
const VARIANTS: readonly SyntheticVariant[] = ['fp16', 'quantized'];
export const OPSET = 17; // LayerNormalization needs opset 17
export const IR_VERSION = 8;

/** What the BERT and XLM-R (RoBERTa) encoder graphs differ in. */
export interface GraphArchitecture {
  /** LayerNorm epsilon: BERT 1e-12, XLM-R 1e-5. */
  readonly layerNormEps: number;
  /**
   * RoBERTa-style position ids: non-pad tokens count up from paddingIdx + 1 and pads get paddingIdx
   * (transformers' create_position_ids_from_input_ids). Unset: BERT's 0..seq-1.
   */
  readonly paddingIdx?: number;
}

export const BERT_GRAPH: GraphArchitecture = { layerNormEps: 1e-12 };
/** torch.finfo(torch.float32).min, the value transformers uses for masked attention positions. */
const FLOAT32_MIN = -3.4028234663852886e38;

// ---------------------------------------------------------------------------------------------
// Seeded PRNG: mulberry32 + Box-Muller. Math.log/cos/sin are V8's fdlibm ports, so the stream is
// reproducible; every value is rounded to float32 anyway.

export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform uint32 (mulberry32). */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Standard normal (Box-Muller, both outputs used). */
  normal(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    const u1 = (this.nextUint32() + 0.5) / 4294967296; // (0, 1): log never sees 0
    const u2 = this.nextUint32() / 4294967296;
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    this.spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  fill(count: number, mean: number, std: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = mean + std * this.normal();
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Parameters

export interface Param {
  name: string;
  dims: number[];
  data: Float32Array;
  /** A MatMul weight: int8-quantized in model_quantized.onnx. */
  matmul: boolean;
}

/**
 * BERT weights, named as in transformers' BertModel. MatMul weights are stored [in, out]
 * (torch Linear weights transposed), as the ONNX exporter writes them.
 * Matrices and embeddings ~ N(0, 0.02) like BERT's init; LayerNorm gamma ~ 1 + N(0, 0.05),
 * beta and biases ~ N(0, 0.02), so outputs are non-degenerate and depend on every weight.
 */
export function makeParams(dims: SyntheticDims, seed: number): Map<string, Param> {
  const rng = new Rng(seed);
  const params = new Map<string, Param>();
  const H = dims.hiddenSize;
  const I = dims.intermediateSize;
  const add = (name: string, shape: number[], mean: number, std: number, matmul = false): void => {
    const count = shape.reduce((a, b) => a * b, 1);
    params.set(name, { name, dims: shape, data: rng.fill(count, mean, std), matmul });
  };
  const layerNorm = (prefix: string): void => {
    add(`${prefix}.weight`, [H], 1, 0.05);
    add(`${prefix}.bias`, [H], 0, 0.02);
  };
  const linear = (prefix: string, inDim: number, outDim: number): void => {
    add(`${prefix}.weight`, [inDim, outDim], 0, 0.02, true);
    add(`${prefix}.bias`, [outDim], 0, 0.02);
  };

  add('embeddings.word_embeddings.weight', [dims.vocabSize, H], 0, 0.02);
  add('embeddings.position_embeddings.weight', [dims.maxPositions, H], 0, 0.02);
  add('embeddings.token_type_embeddings.weight', [dims.typeVocabSize, H], 0, 0.02);
  layerNorm('embeddings.LayerNorm');
  for (let l = 0; l < dims.numLayers; l++) {
    const p = `encoder.layer.${l}`;
    linear(`${p}.attention.self.query`, H, H);
    linear(`${p}.attention.self.key`, H, H);
    linear(`${p}.attention.self.value`, H, H);
    linear(`${p}.attention.output.dense`, H, H);
    layerNorm(`${p}.attention.output.LayerNorm`);
    linear(`${p}.intermediate.dense`, H, I);
    linear(`${p}.output.dense`, I, H);
    layerNorm(`${p}.output.LayerNorm`);
  }
  return params;
}

// ---------------------------------------------------------------------------------------------
// Tensor encoding

const LITTLE_ENDIAN = os.endianness() === 'LE';

function rawBytes(view: Float32Array | BigInt64Array | Uint16Array | Int8Array): Uint8Array {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (LITTLE_ENDIAN || view.BYTES_PER_ELEMENT === 1) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const width = view.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += width) {
    for (let j = 0; j < width; j++) swapped[i + j] = bytes[i + width - 1 - j];
  }
  return swapped;
}

export const DataType = onnx.TensorProto.DataType;

export function floatTensor(name: string, dims: number[], data: Float32Array): ITensorProto {
  return { name, dims, dataType: DataType.FLOAT, rawData: rawBytes(data) };
}

function int64Tensor(name: string, dims: number[], values: readonly number[]): ITensorProto {
  return { name, dims, dataType: DataType.INT64, rawData: rawBytes(BigInt64Array.from(values, (v) => BigInt(v))) };
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary32 -> binary16 bits, round to nearest even. */
export function float32ToFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // a carry into the exponent is correct
  return sign | half;
}

function toFloat16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = float32ToFloat16Bits(data[i]);
  return out;
}

/** Per-tensor symmetric int8: q = round(w / scale), scale = max|w| / 127, zero point 0. */
function quantizeInt8(data: Float32Array): { q: Int8Array; scale: number } {
  let maxAbs = 0;
  for (let i = 0; i < data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(data[i]));
  const scale = Math.fround(maxAbs > 0 ? maxAbs / 127 : 1);
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(data[i] / scale)));
  return { q, scale };
}

// ---------------------------------------------------------------------------------------------
// Graph

const AttrType = onnx.AttributeProto.AttributeType;

type AttrValue = { int: number } | { ints: number[] } | { float: number };

function attribute(name: string, value: AttrValue): IAttributeProto {
  if ('int' in value) return { name, type: AttrType.INT, i: value.int };
  if ('ints' in value) return { name, type: AttrType.INTS, ints: value.ints };
  return { name, type: AttrType.FLOAT, f: value.float };
}

export class GraphBuilder {
  readonly nodes: INodeProto[] = [];
  readonly constants: ITensorProto[] = [];
  private readonly constantNames = new Set<string>();

  /** Adds a node named like the PyTorch exporter names them; returns its (single) output. */
  op(opType: string, name: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    const output = `${name}_output_0`;
    this.nodes.push({
      opType,
      name,
      input: inputs,
      output: [output],
      attribute: Object.entries(attrs).map(([key, value]) => attribute(key, value)),
    });
    return output;
  }

  int64(name: string, dims: number[], values: readonly number[]): string {
    if (!this.constantNames.has(name)) {
      this.constantNames.add(name);
      this.constants.push(int64Tensor(name, dims, values));
    }
    return name;
  }

  float(name: string, value: number): string {
    if (!this.constantNames.has(name)) {
      this.constantNames.add(name);
      this.constants.push(floatTensor(name, [], Float32Array.of(value)));
    }
    return name;
  }
}

/** The BERT (or XLM-R) encoder graph; parameters are referenced by name (initializers added per variant). */
export function buildGraph(dims: SyntheticDims, tokenTypeIds: boolean, arch: GraphArchitecture = BERT_GRAPH): GraphBuilder {
  const g = new GraphBuilder();
  const H = dims.hiddenSize;
  const heads = dims.numHeads;
  const headDim = H / heads;

  // Embeddings: word + position (0..seq-1, seq from Shape(input_ids)) + token type, LayerNorm.
  const words = g.op('Gather', '/embeddings/word_embeddings/Gather', ['embeddings.word_embeddings.weight', 'input_ids']);
  const tokenTypes = tokenTypeIds
    ? g.op('Gather', '/embeddings/token_type_embeddings/Gather', ['embeddings.token_type_embeddings.weight', 'token_type_ids'])
    : g.op('Gather', '/embeddings/token_type_embeddings/Gather', [
      'embeddings.token_type_embeddings.weight', g.int64('/embeddings/token_type_zero', [], [0]),
    ]);
  const inputsEmbeds = g.op('Add', '/embeddings/Add', [words, tokenTypes]);
  const positionIds = arch.paddingIdx === undefined ? bertPositionIds(g, dims) : robertaPositionIds(g, arch.paddingIdx);
  const positions = g.op('Gather', '/embeddings/position_embeddings/Gather', ['embeddings.position_embeddings.weight', positionIds]);
  const embeddings = g.op('Add', '/embeddings/Add_1', [inputsEmbeds, positions]);
  const layerNorm = (prefix: string, scope: string, x: string): string =>
    g.op('LayerNormalization', `${scope}/LayerNormalization`, [x, `${prefix}.weight`, `${prefix}.bias`], {
      axis: { int: -1 }, epsilon: { float: arch.layerNormEps },
    });
  let hidden = layerNorm('embeddings.LayerNorm', '/embeddings/LayerNorm', embeddings);

  // Extended attention mask: (1 - mask[:, None, None, :]) * finfo(float32).min
  const maskFloat = g.op('Cast', '/Cast', ['attention_mask'], { to: { int: DataType.FLOAT } });
  const maskUnsqueezed = g.op('Unsqueeze', '/Unsqueeze', [maskFloat, g.int64('/Unsqueeze_axes', [2], [1, 2])]);
  const inverted = g.op('Sub', '/Sub', [g.float('/Constant_one', 1), maskUnsqueezed]);
  const extendedMask = g.op('Mul', '/Mul', [inverted, g.float('/Constant_finfo_min', FLOAT32_MIN)]);

  const splitHeads = g.int64('/split_heads_shape', [4], [0, 0, heads, headDim]);
  const mergeHeads = g.int64('/merge_heads_shape', [3], [0, 0, H]);
  const sqrtHeadDim = g.float('/Constant_sqrt_head_dim', Math.sqrt(headDim));
  const sqrt2 = g.float('/Constant_sqrt_2', Math.SQRT2);
  const one = g.float('/Constant_one', 1);
  const half = g.float('/Constant_half', 0.5);

  for (let l = 0; l < dims.numLayers; l++) {
    const p = `encoder.layer.${l}`;
    const s = `/encoder/layer.${l}`;
    const dense = (prefix: string, scope: string, x: string): string => {
      const mm = g.op('MatMul', `${scope}/MatMul`, [x, `${prefix}.weight`]);
      return g.op('Add', `${scope}/Add`, [mm, `${prefix}.bias`]);
    };
    const heads4d = (name: string, perm: number[]): string => {
      const projected = dense(`${p}.attention.self.${name}`, `${s}/attention/self/${name}`, hidden);
      const reshaped = g.op('Reshape', `${s}/attention/self/${name}/Reshape`, [projected, splitHeads]);
      return g.op('Transpose', `${s}/attention/self/${name}/Transpose`, [reshaped], { perm: { ints: perm } });
    };
    const q = heads4d('query', [0, 2, 1, 3]); // [B, heads, S, d]
    const kT = heads4d('key', [0, 2, 3, 1]); // [B, heads, d, S]
    const v = heads4d('value', [0, 2, 1, 3]); // [B, heads, S, d]
    const scores = g.op('MatMul', `${s}/attention/self/MatMul`, [q, kT]);
    const scaled = g.op('Div', `${s}/attention/self/Div`, [scores, sqrtHeadDim]);
    const masked = g.op('Add', `${s}/attention/self/Add`, [scaled, extendedMask]);
    const probs = g.op('Softmax', `${s}/attention/self/Softmax`, [masked], { axis: { int: -1 } });
    const context = g.op('MatMul', `${s}/attention/self/MatMul_1`, [probs, v]);
    const contextT = g.op('Transpose', `${s}/attention/self/Transpose_out`, [context], { perm: { ints: [0, 2, 1, 3] } });
    const contextMerged = g.op('Reshape', `${s}/attention/self/Reshape_out`, [contextT, mergeHeads]);
    const attnDense = dense(`${p}.attention.output.dense`, `${s}/attention/output/dense`, contextMerged);
    const attnResidual = g.op('Add', `${s}/attention/output/Add`, [attnDense, hidden]);
    const attnOut = layerNorm(`${p}.attention.output.LayerNorm`, `${s}/attention/output/LayerNorm`, attnResidual);

    // FFN with exact GELU: 0.5 * x * (1 + erf(x / sqrt(2)))
    const inter = dense(`${p}.intermediate.dense`, `${s}/intermediate/dense`, attnOut);
    const div = g.op('Div', `${s}/intermediate/intermediate_act_fn/Div`, [inter, sqrt2]);
    const erf = g.op('Erf', `${s}/intermediate/intermediate_act_fn/Erf`, [div]);
    const erfPlus1 = g.op('Add', `${s}/intermediate/intermediate_act_fn/Add`, [erf, one]);
    const xTimes = g.op('Mul', `${s}/intermediate/intermediate_act_fn/Mul`, [inter, erfPlus1]);
    const gelu = g.op('Mul', `${s}/intermediate/intermediate_act_fn/Mul_1`, [xTimes, half]);
    const outDense = dense(`${p}.output.dense`, `${s}/output/dense`, gelu);
    const outResidual = g.op('Add', `${s}/output/Add`, [outDense, attnOut]);
    hidden = layerNorm(`${p}.output.LayerNorm`, `${s}/output/LayerNorm`, outResidual);
  }

  // Name the final tensor `last_hidden_state`.
  const last = g.nodes[g.nodes.length - 1];
  last.output = ['last_hidden_state'];
  return g;
}

/** BERT: positions 0..seq-1, sliced from the `embeddings.position_ids` buffer. */
function bertPositionIds(g: GraphBuilder, dims: SyntheticDims): string {
  const shape = g.op('Shape', '/embeddings/Shape', ['input_ids']);
  const seqLen = g.op('Slice', '/embeddings/Slice_seq', [
    shape, g.int64('/embeddings/one_1d', [1], [1]), g.int64('/embeddings/two_1d', [1], [2]), g.int64('/embeddings/zero_1d', [1], [0]),
  ]);
  return g.op('Slice', '/embeddings/Slice', [
    g.int64('embeddings.position_ids', [1, dims.maxPositions], Array.from({ length: dims.maxPositions }, (_, i) => i)),
    '/embeddings/zero_1d', seqLen, '/embeddings/one_1d',
  ]);
}

/**
 * RoBERTa: mask = input_ids != padding_idx; position_ids = cumsum(mask, 1) * mask + padding_idx, as the
 * exporter traces transformers' create_position_ids_from_input_ids. The ids come from input_ids, not from
 * attention_mask, so a runtime must pad with the pad token for the positions to be right.
 */
function robertaPositionIds(g: GraphBuilder, paddingIdx: number): string {
  const isPad = g.op('Equal', '/embeddings/Equal', ['input_ids', g.int64('/embeddings/padding_idx', [], [paddingIdx])]);
  const notPad = g.op('Not', '/embeddings/Not', [isPad]);
  const mask = g.op('Cast', '/embeddings/Cast', [notPad], { to: { int: DataType.INT64 } });
  const cumsum = g.op('CumSum', '/embeddings/CumSum', [mask, g.int64('/embeddings/cumsum_axis', [], [1])]);
  const incremental = g.op('Mul', '/embeddings/Mul', [cumsum, mask]);
  return g.op('Add', '/embeddings/Add_position', [incremental, '/embeddings/padding_idx']);
}

export function valueInfo(name: string, elemType: number, dims: Array<string | number>): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export type ModelKind = 'fp32' | SyntheticVariant;

/** The serialized ONNX model of the encoder graph with these weights, stored as `kind` asks. */
export function encodeModel(
  dims: SyntheticDims, params: Map<string, Param>, tokenTypeIds: boolean, kind: ModelKind, docString: string,
  arch: GraphArchitecture = BERT_GRAPH,
): Uint8Array {
  const g = buildGraph(dims, tokenTypeIds, arch);
  const prelude: INodeProto[] = [];
  const initializers: ITensorProto[] = [];
  for (const param of params.values()) {
    if (kind === 'fp16') {
      // fp16 storage, Cast back to float so every op (and the graph's inputs/outputs) stays float32.
      const stored = `${param.name}_fp16`;
      initializers.push({ name: stored, dims: param.dims, dataType: DataType.FLOAT16, rawData: rawBytes(toFloat16(param.data)) });
      prelude.push({
        opType: 'Cast', name: `/Cast_${param.name}`, input: [stored], output: [param.name],
        attribute: [attribute('to', { int: DataType.FLOAT })],
      });
    } else if (kind === 'quantized' && param.matmul) {
      // Weight-only int8: int8 weight + scale + zero point -> DequantizeLinear -> MatMul.
      const { q, scale } = quantizeInt8(param.data);
      const base = param.name;
      initializers.push(
        { name: `${base}_quantized`, dims: param.dims, dataType: DataType.INT8, rawData: rawBytes(q) },
        floatTensor(`${base}_scale`, [], Float32Array.of(scale)),
        { name: `${base}_zero_point`, dims: [], dataType: DataType.INT8, rawData: rawBytes(Int8Array.of(0)) },
      );
      prelude.push({
        opType: 'DequantizeLinear', name: `/DequantizeLinear_${base}`,
        input: [`${base}_quantized`, `${base}_scale`, `${base}_zero_point`], output: [base], attribute: [],
      });
    } else {
      initializers.push(floatTensor(param.name, param.dims, param.data));
    }
  }
  initializers.push(...g.constants);

  const inputNames = tokenTypeIds ? ['input_ids', 'attention_mask', 'token_type_ids'] : ['input_ids', 'attention_mask'];
  const model: OnnxTypes.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'biencoder-synthetic-model',
    producerVersion: '1',
    docString,
    graph: {
      name: 'main_graph',
      node: [...prelude, ...g.nodes],
      initializer: initializers,
      input: inputNames.map((name) => valueInfo(name, DataType.INT64, ['batch_size', 'sequence_length'])),
      output: [valueInfo('last_hidden_state', DataType.FLOAT, ['batch_size', 'sequence_length', dims.hiddenSize])],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

// ---------------------------------------------------------------------------------------------
// Files

export function invalid(message: string, details?: Record<string, unknown>): BiencoderError {
  return new BiencoderError('INVALID_ARGUMENT', message, details === undefined ? {} : { details });
}

interface ResolvedOptions {
  outDir: string;
  tiny: boolean;
  seed: number;
  pooling: SyntheticPooling;
  normalize: boolean;
  maxSeqLength: number;
  prompts: Record<string, string>;
  tokenTypeIds: boolean;
  variants: SyntheticVariant[];
}

function resolveOptions(options: SyntheticModelOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const { outDir } = options;
  if (typeof outDir !== 'string' || outDir.length === 0) throw invalid('outDir must be a non-empty string');
  const tiny = options.tiny ?? false;
  const seed = options.seed ?? 42;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw invalid('seed must be an integer in [0, 2^32)', { seed });
  }
  const pooling = options.pooling ?? 'mean';
  if (!POOLINGS.includes(pooling)) throw invalid(`pooling must be one of ${POOLINGS.join(', ')}`, { pooling });
  const maxSeqLength = options.maxSeqLength ?? (tiny ? 128 : 256);
  const maxPositions = syntheticModelDims(tiny).maxPositions;
  if (!Number.isInteger(maxSeqLength) || maxSeqLength < 1 || maxSeqLength > maxPositions) {
    throw invalid(`maxSeqLength must be an integer in [1, ${maxPositions}]`, { maxSeqLength });
  }
  const prompts = options.prompts ?? {};
  if (typeof prompts !== 'object' || prompts === null || Object.values(prompts).some((v) => typeof v !== 'string')) {
    throw invalid('prompts must map names to strings');
  }
  const variants = [...new Set(options.variants ?? [])];
  for (const variant of variants) {
    if (!VARIANTS.includes(variant)) throw invalid(`variants must be among ${VARIANTS.join(', ')}`, { variant });
  }
  return {
    outDir, tiny, seed, pooling, maxSeqLength, prompts, variants,
    normalize: options.normalize ?? true,
    tokenTypeIds: options.tokenTypeIds ?? true,
  };
}

export async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** The transformers config.json entries that give a BERT model's sizes. */
export function bertConfigSizes(dims: SyntheticDims): Record<string, number> {
  return {
    hidden_size: dims.hiddenSize,
    num_hidden_layers: dims.numLayers,
    num_attention_heads: dims.numHeads,
    intermediate_size: dims.intermediateSize,
    max_position_embeddings: dims.maxPositions,
    vocab_size: dims.vocabSize,
    type_vocab_size: dims.typeVocabSize,
  };
}

export interface SentenceTransformersFiles {
  hiddenSize: number;
  pooling: SyntheticPooling;
  normalize: boolean;
  maxSeqLength: number;
  prompts: Record<string, string>;
}

/**
 * Writes the sentence-transformers files of a model directory: modules.json (Transformer -> Pooling ->
 * optional Normalize), 1_Pooling/config.json, sentence_bert_config.json, config_sentence_transformers.json.
 */
export async function writeSentenceTransformersFiles(outDir: string, o: SentenceTransformersFiles): Promise<void> {
  await fs.mkdir(path.join(outDir, '1_Pooling'), { recursive: true });
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  ];
  if (o.normalize) modules.push({ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' });
  await writeJson(path.join(outDir, 'modules.json'), modules);
  await writeJson(path.join(outDir, '1_Pooling', 'config.json'), {
    word_embedding_dimension: o.hiddenSize,
    pooling_mode_cls_token: o.pooling === 'cls',
    pooling_mode_mean_tokens: o.pooling === 'mean',
    pooling_mode_max_tokens: o.pooling === 'max',
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: o.pooling === 'lasttoken',
    include_prompt: true,
  });
  await writeJson(path.join(outDir, 'sentence_bert_config.json'), { max_seq_length: o.maxSeqLength, do_lower_case: false });
  await writeJson(path.join(outDir, 'config_sentence_transformers.json'), {
    __version__: { sentence_transformers: '3.0.1', transformers: '4.41.2', pytorch: '2.3.0' },
    prompts: o.prompts,
    default_prompt_name: null,
    similarity_fn_name: 'cosine',
  });
}

/** The ONNX file written for each kind, relative to outDir. */
export const SYNTHETIC_ONNX_FILES: Readonly<Record<ModelKind, string>> = {
  fp32: 'onnx/model.onnx',
  fp16: 'onnx/model_fp16.onnx',
  quantized: 'onnx/model_quantized.onnx',
};

/**
 * Writes a deterministic random-weight BERT sentence-transformers model (hub layout, real ONNX)
 * into `options.outDir`. Same options and seed give byte-identical files.
 */
export async function makeSyntheticModel(options: SyntheticModelOptions): Promise<void> {
  const o = resolveOptions(options);
  const dims = syntheticModelDims(o.tiny);
  const outDir = path.resolve(o.outDir);
  await fs.mkdir(path.join(outDir, 'onnx'), { recursive: true });

  // Transformer config: minilm's, with the tiny sizes when asked.
  const config = await readJson(path.join(MINILM_TOKENIZER_DIR, 'config.json'));
  Object.assign(config, {
    _name_or_path: `biencoder/synthetic-bert${o.tiny ? '-tiny' : ''}-seed${o.seed}`,
    architectures: ['BertModel'],
    model_type: 'bert',
    ...bertConfigSizes(dims),
  });
  await writeJson(path.join(outDir, 'config.json'), config);

  // Tokenizer: copied from minilm; model_max_length follows maxSeqLength.
  for (const file of ['tokenizer.json', 'special_tokens_map.json', 'vocab.txt']) {
    await fs.copyFile(path.join(MINILM_TOKENIZER_DIR, file), path.join(outDir, file));
  }
  const tokenizerConfig = await readJson(path.join(MINILM_TOKENIZER_DIR, 'tokenizer_config.json'));
  tokenizerConfig.model_max_length = o.maxSeqLength;
  await writeJson(path.join(outDir, 'tokenizer_config.json'), tokenizerConfig);

  await writeSentenceTransformersFiles(outDir, { hiddenSize: dims.hiddenSize, ...o });

  // ONNX files.
  const params = makeParams(dims, o.seed);
  const description = `Synthetic random-weight BERT (${o.tiny ? 'tiny' : 'MiniLM-L6 sized'}), seed ${o.seed}. Not a trained model.`;
  for (const kind of ['fp32', ...o.variants] as ModelKind[]) {
    await fs.writeFile(path.join(outDir, SYNTHETIC_ONNX_FILES[kind]), encodeModel(dims, params, o.tokenTypeIds, kind, description));
  }

  const paramCount = [...params.values()].reduce((n, p) => n + p.data.length, 0);
  await fs.writeFile(path.join(outDir, 'README.md'), [
    '# Synthetic sentence-transformers model (random weights)',
    '',
    'Generated by biencoder `scripts/make-synthetic-model.ts` for tests. **The weights are random**:',
    'this model was never trained and its embeddings carry no meaning.',
    '',
    `- seed: ${o.seed}`,
    `- size: ${o.tiny ? 'tiny' : 'full (all-MiniLM-L6-v2 shaped)'}; ${dims.numLayers} layers, hidden ${dims.hiddenSize},` +
      ` ${dims.numHeads} heads, intermediate ${dims.intermediateSize}, vocab ${dims.vocabSize}; ${paramCount} parameters`,
    `- pooling: ${o.pooling}; normalize: ${o.normalize}; max_seq_length: ${o.maxSeqLength}`,
    `- ONNX inputs: input_ids, attention_mask${o.tokenTypeIds ? ', token_type_ids' : ''}; output: last_hidden_state`,
    `- ONNX files: ${['fp32', ...o.variants].map((k) => SYNTHETIC_ONNX_FILES[k as ModelKind]).join(', ')}`,
    '- tokenizer and config: copied from sentence-transformers/all-MiniLM-L6-v2',
    '',
  ].join('\n'));
}
