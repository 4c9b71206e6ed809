/**
 * A cross-encoder's head reads only the first token ([CLS]) of the last layer's output, yet the exported
 * graph computes that layer for every token. This rewrite makes the last layer compute the first token's row
 * only: its keys and values still come from every token, but the query projection, the attention output, the
 * residual, layer norms and feed-forward network run on one row instead of seq_len. That removes about 5/6 of
 * the last layer's work (a sixth of a 6-layer model's).
 *
 * The rewrite is structural, not by node names: from the graph's last Softmax it finds the scores MatMul
 * (Q x K^T) and the context MatMul (P x V), walks each of Q, K and V back to its projection MatMul, checks that
 * all three read the same tensor H (the last layer's input), and feeds every other consumer of H (the query
 * projection, the residual Add, shape computations) with H[:, 0:1] instead. Anything unexpected (no such
 * pattern, fused Attention ops, H or the final states being graph outputs, external data) leaves the model
 * as it is. The caller verifies the rewritten graph against the original on a probe batch before using it.
 *
 * Protobuf decoding uses onnx-proto (protobufjs); where it is not installed, the model is left as it is.
 */
import type OnnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

type INodeProto = OnnxTypes.INodeProto;
type ITensorProto = OnnxTypes.ITensorProto;

export interface FirstTokenRewrite {
  /** The rewritten model, or undefined when it was left as it is. */
  readonly bytes: Uint8Array | undefined;
  /** Why the model was left as it is (for diagnostics). */
  readonly reason?: string;
}

/** Ops that pass a projection through unchanged in structure (bias add, head split, scaling, casts). */
const PASS_THROUGH = new Set(['Add', 'Reshape', 'Transpose', 'Div', 'Mul', 'Cast', 'Identity']);
const SEARCH_DEPTH = 8;

export async function rewriteToFirstToken(model: Uint8Array): Promise<FirstTokenRewrite> {
  let onnx: typeof OnnxProto.onnx;
  try {
    onnx = (await import('onnx-proto')).default.onnx;
  } catch {
    return { bytes: undefined, reason: 'onnx-proto is not installed' };
  }
  let decoded: OnnxTypes.ModelProto;
  try {
    decoded = onnx.ModelProto.decode(model);
  } catch (error) {
    return { bytes: undefined, reason: `cannot decode the model: ${(error as Error).message}` };
  }
  const graph = decoded.graph;
  if (!graph?.node) return { bytes: undefined, reason: 'no graph' };
  const nodes = graph.node;
  const initializers = new Map<string, ITensorProto>();
  for (const t of graph.initializer ?? []) {
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return { bytes: undefined, reason: 'external data' };
    if (t.name) initializers.set(t.name, t);
  }
  const producer = new Map<string, INodeProto>();
  const consumers = new Map<string, Array<{ node: INodeProto; index: number }>>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producer.set(o, n);
    (n.input ?? []).forEach((name, index) => {
      if (!name) return;
      const list = consumers.get(name) ?? [];
      list.push({ node: n, index });
      consumers.set(name, list);
    });
  }
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));

  const constant = (name: string, depth = 0): boolean => {
    if (initializers.has(name)) return true;
    const p = producer.get(name);
    if (!p || depth > SEARCH_DEPTH) return false;
    if (p.opType === 'Constant') return true;
    if (['Cast', 'DequantizeLinear', 'Identity', 'Transpose'].includes(p.opType ?? '')) return (p.input ?? []).every((i) => i === '' || constant(i, depth + 1));
    return false;
  };
  const isProjection = (n: INodeProto): boolean =>
    (n.opType === 'MatMul' || n.opType === 'Gemm') && !constant(n.input![0]) && constant(n.input![1]);
  /** Walks from a tensor up through pass-through ops to its projection MatMul. */
  const projectionOf = (name: string): INodeProto | undefined => {
    let current = name;
    for (let depth = 0; depth < SEARCH_DEPTH; depth++) {
      const p = producer.get(current);
      if (!p) return undefined;
      if (isProjection(p)) return p;
      if (!PASS_THROUGH.has(p.opType ?? '')) return undefined;
      const live = p.opType === 'Reshape' ? [p.input![0]] : (p.input ?? []).filter((i) => i !== '' && !constant(i));
      if (live.length !== 1) return undefined;
      current = live[0];
    }
    return undefined;
  };

  // The last layer's attention: its Softmax, the scores MatMul above it, the context MatMul below it.
  const softmax = [...nodes].reverse().find((n) => n.opType === 'Softmax');
  if (!softmax) return { bytes: undefined, reason: 'no Softmax (fused attention?)' };
  const scores = nearestAncestor(softmax.input![0], producer, (n) => n.opType === 'MatMul' && !constant(n.input![0]) && !constant(n.input![1]));
  const context = nearestDescendant(softmax.output![0], consumers, (n, index) => n.opType === 'MatMul' && index === 0);
  if (!scores || !context) return { bytes: undefined, reason: 'no attention MatMuls around the last Softmax' };
  const q = projectionOf(scores.input![0]);
  const k = projectionOf(scores.input![1]);
  const v = projectionOf(context.input![1]);
  if (!q || !k || !v) return { bytes: undefined, reason: 'cannot trace Q, K and V to their projections' };
  const hidden = q.input![0];
  if (k.input![0] !== hidden || v.input![0] !== hidden || q === k || k === v || q === v) {
    return { bytes: undefined, reason: 'Q, K and V do not read one tensor' };
  }
  if (graphOutputs.has(hidden)) return { bytes: undefined, reason: 'the last layer input is a graph output' };

  // The head must read only token 0 of the final states: a Gather(axis 1, index 0) fed by the last node before it.
  const gather = nodes.find((n) => n.opType === 'Gather' && attrInt(n, 'axis') === 1 && isScalarZero(n.input![1], initializers, producer));
  if (!gather) return { bytes: undefined, reason: 'no first-token Gather (the head does not read [CLS] alone)' };
  const finalStates = gather.input![0];
  if (graphOutputs.has(finalStates) || (consumers.get(finalStates) ?? []).length !== 1) {
    return { bytes: undefined, reason: 'the final token states are used beyond the first-token Gather' };
  }
  if (!isAncestor(hidden, finalStates, producer)) return { bytes: undefined, reason: 'the last attention does not feed the head' };

  // Rewire: every consumer of H except the K and V projections reads H[:, 0:1].
  const sliced = `${hidden}__first_token`;
  const names = { starts: `${sliced}__starts`, ends: `${sliced}__ends`, axes: `${sliced}__axes` };
  for (const [name, value] of [[names.starts, 0], [names.ends, 1], [names.axes, 1]] as const) {
    const data = new Uint8Array(new BigInt64Array([BigInt(value)]).buffer);
    graph.initializer!.push({ name, dims: [1], dataType: onnx.TensorProto.DataType.INT64, rawData: data });
  }
  let rewired = 0;
  for (const { node, index } of consumers.get(hidden) ?? []) {
    if (node === k || node === v) continue;
    node.input![index] = sliced;
    rewired++;
  }
  if (rewired === 0) return { bytes: undefined, reason: 'nothing to rewire' };
  const sliceNode: INodeProto = { opType: 'Slice', name: `${sliced}__Slice`, input: [hidden, names.starts, names.ends, names.axes], output: [sliced] };
  // Insert right after H's producer (or first, when H is a graph input) to keep the node list sorted.
  const at = producer.has(hidden) ? nodes.indexOf(producer.get(hidden)!) + 1 : 0;
  nodes.splice(at, 0, sliceNode);
  // Shapes recorded for the rewired tensors would now be wrong: drop the intermediate value_info.
  graph.valueInfo = [];
  return { bytes: onnx.ModelProto.encode(decoded).finish() };
}

function nearestAncestor(name: string, producer: Map<string, INodeProto>, match: (n: INodeProto) => boolean): INodeProto | undefined {
  let frontier = [name];
  for (let depth = 0; depth < SEARCH_DEPTH && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const t of frontier) {
      const p = producer.get(t);
      if (!p) continue;
      if (match(p)) return p;
      next.push(...(p.input ?? []).filter((i) => i !== ''));
    }
    frontier = next;
  }
  return undefined;
}

function nearestDescendant(
  name: string, consumers: Map<string, Array<{ node: INodeProto; index: number }>>, match: (n: INodeProto, index: number) => boolean,
): INodeProto | undefined {
  let frontier = [name];
  for (let depth = 0; depth < SEARCH_DEPTH && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const t of frontier) {
      for (const { node, index } of consumers.get(t) ?? []) {
        if (match(node, index)) return node;
        if (PASS_THROUGH.has(node.opType ?? '') || node.opType === 'Dropout') next.push(...(node.output ?? []));
      }
    }
    frontier = next;
  }
  return undefined;
}

function isAncestor(ancestor: string, of: string, producer: Map<string, INodeProto>): boolean {
  const seen = new Set<string>();
  const stack = [of];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (t === ancestor) return true;
    if (seen.has(t)) continue;
    seen.add(t);
    const p = producer.get(t);
    if (p) stack.push(...(p.input ?? []).filter((i) => i !== ''));
  }
  return false;
}

function attrInt(n: INodeProto, name: string): number | undefined {
  const a = (n.attribute ?? []).find((x) => x.name === name);
  if (!a || a.i === undefined || a.i === null) return undefined;
  return toNumber(a.i);
}

/** protobufjs gives int64 fields as numbers or Long objects. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { toNumber?: unknown }).toNumber === 'function') {
    return (value as { toNumber: () => number }).toNumber();
  }
  return Number(value);
}

function isScalarZero(name: string, initializers: Map<string, ITensorProto>, producer: Map<string, INodeProto>): boolean {
  let tensor = initializers.get(name);
  if (!tensor) {
    const p = producer.get(name);
    if (p?.opType === 'Constant') tensor = (p.attribute ?? []).find((a) => a.name === 'value')?.t ?? undefined;
  }
  if (!tensor) return false;
  const count = (tensor.dims ?? []).reduce((a: number, b) => a * toNumber(b), 1);
  if (count !== 1) return false;
  if (tensor.rawData && tensor.rawData.length > 0) return tensor.rawData.every((b) => b === 0);
  const values = [...(tensor.int64Data ?? []), ...(tensor.int32Data ?? [])];
  return values.length === 1 && toNumber(values[0]) === 0;
}
