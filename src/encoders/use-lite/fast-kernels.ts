/**
 * Faster replacements for the TF.js CPU kernels that dominate Universal Sentence Encoder lite.
 *
 * The stock CPU backend computes matrix products in scalar JavaScript (~0.4 GFLOP/s here), and
 * its broadcasting, split, transpose and gather/scatter kernels convert every flat index to
 * coordinates and back. These replacements handle the shapes the graph uses (matrix products
 * through a WebAssembly SIMD kernel, everything else with contiguous copies) and hand any other
 * case to the original kernel, so the semantics of every op stay TF.js's own.
 *
 * They replace the kernels of the 'cpu' backend for the whole TF.js engine they are installed
 * in: install them only in an engine this module owns (the encoder's worker thread).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { WasmGemm } from './wasm-gemm.ts';

type Values = Float32Array | Int32Array | Uint8Array;

interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: MathBackendCPU;
  attrs: NamedAttrMap;
}

type Impl = (args: KernelArgs, fallback: () => TensorInfo | TensorInfo[]) => TensorInfo | TensorInfo[];

export interface FastKernelOptions {
  gemm: WasmGemm;
  /** True for the dataId of a tensor that never changes (a model weight): its packed form is cached. */
  isConstant: (dataId: object) => boolean;
}

let installed = false;

/** Replaces the CPU kernels once per engine (a second call is a no-op). */
export function installFastKernels(options: FastKernelOptions): void {
  if (installed) return;
  installed = true;
  const impls: Record<string, Impl> = {
    BatchMatMul: (args, fallback) => batchMatMul(args, options, fallback),
    Conv2D: (args, fallback) => conv2d(args, options, fallback),
    SplitV: splitV,
    Transpose: transpose,
    Add: (args, fallback) => binary(args, 0, fallback),
    Sub: (args, fallback) => binary(args, 1, fallback),
    Multiply: (args, fallback) => binary(args, 2, fallback),
    GatherNd: gatherNd,
    ScatterNd: scatterNd,
    GatherV2: gatherV2,
    Softmax: softmax,
    Sum: (args, fallback) => reduceSum(args, false, fallback),
    Mean: (args, fallback) => reduceSum(args, true, fallback),
    Relu: relu,
  };
  for (const [kernelName, impl] of Object.entries(impls)) {
    const original = tf.getKernel(kernelName, 'cpu') as KernelConfig | undefined;
    if (original === undefined) continue;
    const kernelFunc = ((args: KernelArgs) => impl(args, () => original.kernelFunc(args as never) as TensorInfo | TensorInfo[])) as unknown as KernelFunc;
    tf.unregisterKernel(kernelName, 'cpu');
    tf.registerKernel({ ...original, kernelFunc });
  }
}

function values(backend: MathBackendCPU, t: TensorInfo): Values {
  return backend.data.get(t.dataId).values as Values;
}

function size(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

function typedArray(dtype: DataType, n: number): Float32Array | Int32Array {
  return dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
}

// --- matrix products ---------------------------------------------------------------------------

function batchMatMul({ inputs, backend, attrs }: KernelArgs, options: FastKernelOptions, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  if (attrs.transposeA || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return fallback();
  const transB = Boolean(attrs.transposeB);
  const m = a.shape[a.shape.length - 2];
  const k = a.shape[a.shape.length - 1];
  const kb = transB ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2];
  const n = transB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  if (k !== kb) return fallback();
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const aBatch = size(aBatchShape);
  const bBatch = size(bBatchShape);
  const av = values(backend, a) as Float32Array;
  const bv = values(backend, b) as Float32Array;
  let outBatchShape: number[];
  if (bBatch === 1 && bBatchShape.length <= aBatchShape.length) {
    outBatchShape = aBatchShape;
  } else if (aBatchShape.length === bBatchShape.length && aBatchShape.every((d, i) => d === bBatchShape[i])) {
    outBatchShape = aBatchShape;
  } else {
    return fallback();
  }
  const out = new Float32Array(aBatch * m * n);
  if (bBatch === 1) {
    // One shared right-hand side: all the left rows form one matrix.
    const key = options.isConstant(b.dataId) ? b.dataId : undefined;
    options.gemm.matmul(av, 0, bv, 0, transB, out, 0, aBatch * m, k, n, key);
  } else {
    for (let i = 0; i < aBatch; i++) {
      options.gemm.matmul(av, i * m * k, bv, i * k * n, transB, out, i * m * n, m, k, n);
    }
  }
  return backend.makeTensorInfo([...outBatchShape, m, n], 'float32', out);
}

function isOnes(v: unknown): boolean {
  if (typeof v === 'number') return v === 1;
  return Array.isArray(v) && v.every((x) => x === 1);
}

/** A 1x1 convolution with stride 1 is a matrix product over the pixels. */
function conv2d({ inputs, backend, attrs }: KernelArgs, options: FastKernelOptions, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const x = inputs.x as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const pad = attrs.pad;
  if (
    x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4 ||
    filter.shape[0] !== 1 || filter.shape[1] !== 1 || filter.shape[2] !== x.shape[3] ||
    (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') ||
    !isOnes(attrs.strides) || (attrs.dilations !== undefined && !isOnes(attrs.dilations)) ||
    (pad !== 'valid' && pad !== 'same')
  ) {
    return fallback();
  }
  const [batch, height, width, inChannels] = x.shape;
  const outChannels = filter.shape[3];
  const rows = batch * height * width;
  const out = new Float32Array(rows * outChannels);
  const key = options.isConstant(filter.dataId) ? filter.dataId : undefined;
  options.gemm.matmul(values(backend, x) as Float32Array, 0, values(backend, filter) as Float32Array, 0, false, out, 0, rows, inChannels, outChannels, key);
  return backend.makeTensorInfo([batch, height, width, outChannels], 'float32', out);
}

// --- data movement -----------------------------------------------------------------------------

function splitV({ inputs, backend, attrs }: KernelArgs, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback();
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
  const src = values(backend, x) as Float32Array | Int32Array;
  const outer = size(x.shape.slice(0, axis));
  const inner = size(x.shape.slice(axis + 1));
  const rowLength = x.shape[axis] * inner;
  const outs: TensorInfo[] = [];
  let start = 0;
  for (const s of sizes) {
    const chunk = s * inner;
    const dst = typedArray(x.dtype, outer * chunk);
    for (let o = 0; o < outer; o++) {
      const from = o * rowLength + start * inner;
      dst.set(src.subarray(from, from + chunk), o * chunk);
    }
    const shape = x.shape.slice();
    shape[axis] = s;
    outs.push(backend.makeTensorInfo(shape, x.dtype, dst));
    start += s;
  }
  return outs;
}

/** Transposes that keep the last axis in place: copies of whole rows. */
function transpose({ inputs, backend, attrs }: KernelArgs, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const x = inputs.x as TensorInfo;
  const perm = attrs.perm as number[];
  const rank = x.shape.length;
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || rank < 2 || perm.length !== rank || perm[rank - 1] !== rank - 1) return fallback();
  const src = values(backend, x) as Float32Array | Int32Array;
  const outShape = perm.map((p) => x.shape[p]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= x.shape[d];
  }
  const strides = perm.map((p) => inStrides[p]);
  const row = x.shape[rank - 1];
  const dst = typedArray(x.dtype, src.length);
  const counters = new Array<number>(rank - 1).fill(0);
  const rows = size(outShape.slice(0, -1));
  let inOffset = 0;
  for (let r = 0; r < rows; r++) {
    dst.set(src.subarray(inOffset, inOffset + row), r * row);
    // Advance the odometer over the output's leading axes.
    for (let d = rank - 2; d >= 0; d--) {
      counters[d]++;
      inOffset += strides[d];
      if (counters[d] < outShape[d]) break;
      inOffset -= strides[d] * outShape[d];
      counters[d] = 0;
    }
  }
  return backend.makeTensorInfo(outShape, x.dtype, dst);
}

/** Element-wise add (0), subtract (1), multiply (2) of float32 tensors with broadcasting. */
function binary({ inputs, backend }: KernelArgs, kind: 0 | 1 | 2, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback();
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const av = values(backend, a) as Float32Array;
  const bv = values(backend, b) as Float32Array;
  const total = size(outShape);
  const out = new Float32Array(total);
  if (total === 0) return backend.makeTensorInfo(outShape, 'float32', out);
  const rank = Math.max(outShape.length, 1);
  const shape = outShape.length === 0 ? [1] : outShape;
  const sa = broadcastStrides(a.shape, shape);
  const sb = broadcastStrides(b.shape, shape);
  const inner = shape[rank - 1];
  const ia = sa[rank - 1];
  const ib = sb[rank - 1];
  const rows = total / inner;
  const counters = new Array<number>(rank).fill(0);
  let oa = 0;
  let ob = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * inner;
    if (ia === 1 && ib === 1) {
      if (kind === 0) for (let j = 0; j < inner; j++) out[o + j] = av[oa + j] + bv[ob + j];
      else if (kind === 1) for (let j = 0; j < inner; j++) out[o + j] = av[oa + j] - bv[ob + j];
      else for (let j = 0; j < inner; j++) out[o + j] = av[oa + j] * bv[ob + j];
    } else if (ib === 0) {
      const y = bv[ob];
      if (kind === 0) for (let j = 0; j < inner; j++) out[o + j] = av[oa + j * ia] + y;
      else if (kind === 1) for (let j = 0; j < inner; j++) out[o + j] = av[oa + j * ia] - y;
      else for (let j = 0; j < inner; j++) out[o + j] = av[oa + j * ia] * y;
    } else {
      const x = av[oa];
      if (kind === 0) for (let j = 0; j < inner; j++) out[o + j] = x + bv[ob + j];
      else if (kind === 1) for (let j = 0; j < inner; j++) out[o + j] = x - bv[ob + j];
      else for (let j = 0; j < inner; j++) out[o + j] = x * bv[ob + j];
    }
    for (let d = rank - 2; d >= 0; d--) {
      counters[d]++;
      oa += sa[d];
      ob += sb[d];
      if (counters[d] < shape[d]) break;
      oa -= sa[d] * shape[d];
      ob -= sb[d] * shape[d];
      counters[d] = 0;
    }
  }
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/** Strides of `shape` aligned to the right of `outShape`, 0 along broadcast axes. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const od = rank - shape.length + d;
    strides[od] = shape[d] === 1 ? 0 : s;
    s *= shape[d];
  }
  return strides;
}

/**
 * Flat offsets, in a tensor of `shape`, of the slices that GatherNd/ScatterNd index vectors (the last axis of
 * `indices`, `depth` long) point at; undefined when an index is out of range.
 */
function sliceOffsets(idx: Int32Array, depth: number, numSlices: number, slice: number, shape: readonly number[]): Int32Array | undefined {
  const strides = new Array<number>(depth);
  let s = slice;
  for (let d = depth - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  const offsets = new Int32Array(numSlices);
  for (let i = 0; i < numSlices; i++) {
    let offset = 0;
    for (let d = 0; d < depth; d++) {
      const v = idx[i * depth + d];
      if (v < 0 || v >= shape[d]) return undefined;
      offset += v * strides[d];
    }
    offsets[i] = offset;
  }
  return offsets;
}

function gatherNd({ inputs, backend }: KernelArgs, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const params = inputs.params as TensorInfo;
  const indices = inputs.indices as TensorInfo;
  if ((params.dtype !== 'float32' && params.dtype !== 'int32') || indices.dtype !== 'int32' || indices.shape.length < 1) return fallback();
  const depth = indices.shape[indices.shape.length - 1];
  if (depth > params.shape.length || depth < 1) return fallback();
  const sliceShape = params.shape.slice(depth);
  const slice = size(sliceShape);
  const numSlices = size(indices.shape.slice(0, -1));
  const offsets = sliceOffsets(values(backend, indices) as Int32Array, depth, numSlices, slice, params.shape);
  if (offsets === undefined) return fallback();
  const src = values(backend, params) as Float32Array | Int32Array;
  const dst = typedArray(params.dtype, numSlices * slice);
  for (let i = 0; i < numSlices; i++) dst.set(src.subarray(offsets[i], offsets[i] + slice), i * slice);
  return backend.makeTensorInfo([...indices.shape.slice(0, -1), ...sliceShape], params.dtype, dst);
}

function scatterNd({ inputs, backend, attrs }: KernelArgs, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const indices = inputs.indices as TensorInfo;
  const updates = inputs.updates as TensorInfo;
  const shape = attrs.shape as number[];
  if ((updates.dtype !== 'float32' && updates.dtype !== 'int32') || indices.dtype !== 'int32' || indices.shape.length < 1) return fallback();
  const depth = indices.shape[indices.shape.length - 1];
  if (depth > shape.length || depth < 1) return fallback();
  const slice = size(shape.slice(depth));
  const numSlices = size(indices.shape.slice(0, -1));
  if (size(updates.shape) !== numSlices * slice) return fallback();
  const offsets = sliceOffsets(values(backend, indices) as Int32Array, depth, numSlices, slice, shape);
  if (offsets === undefined) return fallback();
  const src = values(backend, updates) as Float32Array | Int32Array;
  const dst = typedArray(updates.dtype, size(shape));
  for (let i = 0; i < numSlices; i++) {
    // ScatterNd sums the updates of repeated indices.
    const offset = offsets[i];
    const from = i * slice;
    for (let j = 0; j < slice; j++) dst[offset + j] += src[from + j];
  }
  return backend.makeTensorInfo(shape, updates.dtype, dst);
}

function gatherV2({ inputs, backend, attrs }: KernelArgs, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const x = inputs.x as TensorInfo;
  const indices = inputs.indices as TensorInfo;
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32' || (attrs.batchDims ?? 0) !== 0) return fallback();
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const dim = x.shape[axis];
  const outer = size(x.shape.slice(0, axis));
  const inner = size(x.shape.slice(axis + 1));
  const idx = values(backend, indices) as Int32Array;
  for (let i = 0; i < idx.length; i++) if (idx[i] < 0 || idx[i] >= dim) return fallback();
  const src = values(backend, x) as Float32Array | Int32Array;
  const dst = typedArray(x.dtype, outer * idx.length * inner);
  let o = 0;
  for (let b = 0; b < outer; b++) {
    const base = b * dim * inner;
    for (let i = 0; i < idx.length; i++) {
      const from = base + idx[i] * inner;
      dst.set(src.subarray(from, from + inner), o);
      o += inner;
    }
  }
  return backend.makeTensorInfo([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype, dst);
}

/** Softmax along the last axis: max, shifted exponentials, normalization, in one pass per row. */
function softmax({ inputs, backend, attrs }: KernelArgs, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const logits = inputs.logits as TensorInfo;
  const rank = logits.shape.length;
  const dim = attrs.dim as number;
  if (logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1)) return fallback();
  const src = values(backend, logits) as Float32Array;
  const inner = logits.shape[rank - 1];
  const out = new Float32Array(src.length);
  if (inner === 0) return backend.makeTensorInfo(logits.shape, 'float32', out);
  for (let o = 0; o < src.length; o += inner) {
    let max = src[o];
    for (let j = 1; j < inner; j++) if (src[o + j] > max || Number.isNaN(src[o + j])) max = src[o + j];
    let sum = 0;
    for (let j = 0; j < inner; j++) {
      out[o + j] = Math.exp(src[o + j] - max);
      sum += out[o + j];
    }
    for (let j = 0; j < inner; j++) out[o + j] /= sum;
  }
  return backend.makeTensorInfo(logits.shape, 'float32', out);
}

/** Sum (or mean) of float32 values over a contiguous run of axes. */
function reduceSum({ inputs, backend, attrs }: KernelArgs, mean: boolean, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length === 0) return fallback();
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).slice().sort((p, q) => p - q);
  if (axes.length === 0) return fallback();
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return fallback();
  const first = axes[0];
  const last = axes[axes.length - 1];
  const outer = size(x.shape.slice(0, first));
  const reduced = size(x.shape.slice(first, last + 1));
  const inner = size(x.shape.slice(last + 1));
  const src = values(backend, x) as Float32Array;
  const out = new Float32Array(outer * inner);
  const acc = new Float64Array(inner);
  const scale = mean ? 1 / reduced : 1;
  for (let o = 0; o < outer; o++) {
    const base = o * reduced * inner;
    if (inner === 1) {
      let s = 0;
      for (let r = 0; r < reduced; r++) s += src[base + r];
      out[o] = mean ? s * scale : s;
      continue;
    }
    acc.fill(0);
    for (let r = 0; r < reduced; r++) {
      const row = base + r * inner;
      for (let i = 0; i < inner; i++) acc[i] += src[row + i];
    }
    for (let i = 0; i < inner; i++) out[o * inner + i] = mean ? acc[i] * scale : acc[i];
  }
  const shape = attrs.keepDims
    ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
    : x.shape.filter((_, i) => i < first || i > last);
  return backend.makeTensorInfo(shape, 'float32', out);
}

function relu({ inputs, backend }: KernelArgs, fallback: () => TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] {
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32') return fallback();
  const src = values(backend, x) as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] < 0 ? 0 : src[i];
  return backend.makeTensorInfo(x.shape, 'float32', out);
}
