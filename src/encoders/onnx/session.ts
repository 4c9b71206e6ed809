import * as ort from 'onnxruntime-node';
import { BiencoderError } from '../../errors.ts';
import type { TokenStates } from './pooling.ts';

export interface OnnxSessionOptions {
  /** Threads inside one operator. Default: onnxruntime's choice (the physical cores). */
  readonly intraOpNumThreads?: number;
  /** Default 'all': onnxruntime fuses attention, GELU and layer norm subgraphs. */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** Names of the graph output that carries per-token states, in order of preference. */
const TOKEN_OUTPUTS = ['last_hidden_state', 'token_embeddings', 'hidden_states'];

/** An onnxruntime-node session of a transformer encoder: token ids in, token states out. */
export class EncoderSession {
  readonly path: string;
  readonly inputNames: readonly string[];
  readonly outputName: string;
  /** True when the graph takes token_type_ids (BERT does; DistilBERT, RoBERTa-style exports often do not). */
  readonly takesTokenTypeIds: boolean;
  #session: ort.InferenceSession | undefined;

  private constructor(path: string, session: ort.InferenceSession) {
    this.path = path;
    this.#session = session;
    this.inputNames = session.inputNames;
    for (const needed of ['input_ids', 'attention_mask']) {
      if (!session.inputNames.includes(needed)) {
        throw new BiencoderError('MODEL_INVALID', `${path} has no "${needed}" input (inputs: ${session.inputNames.join(', ')})`);
      }
    }
    const unknown = session.inputNames.filter((n) => !['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'].includes(n));
    if (unknown.length > 0) {
      throw new BiencoderError('MODEL_INVALID', `${path} takes inputs biencoder cannot feed: ${unknown.join(', ')}`);
    }
    this.takesTokenTypeIds = session.inputNames.includes('token_type_ids');
    this.outputName = TOKEN_OUTPUTS.find((n) => session.outputNames.includes(n)) ?? session.outputNames[0];
  }

  static async create(path: string, options: OnnxSessionOptions = {}): Promise<EncoderSession> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
        ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
      });
    } catch (error) {
      throw new BiencoderError('MODEL_INVALID', `onnxruntime cannot load ${path}: ${(error as Error).message}`, { cause: error });
    }
    return new EncoderSession(path, session);
  }

  /**
   * Runs one right-padded batch. ids holds batch*seqLen token ids, lengths the real length of each row.
   */
  async run(ids: Int32Array, lengths: ArrayLike<number>, batch: number, seqLen: number): Promise<TokenStates> {
    const session = this.#session;
    if (!session) throw new BiencoderError('CLOSED', 'the ONNX session was closed');
    const n = batch * seqLen;
    const inputIds = new BigInt64Array(n);
    const mask = new BigInt64Array(n);
    for (let b = 0; b < batch; b++) {
      const o = b * seqLen;
      for (let t = 0; t < seqLen; t++) {
        inputIds[o + t] = BigInt(ids[o + t]);
        if (t < lengths[b]) mask[o + t] = 1n;
      }
    }
    const dims = [batch, seqLen];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, dims),
      attention_mask: new ort.Tensor('int64', mask, dims),
    };
    if (this.takesTokenTypeIds) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(n), dims);
    if (this.inputNames.includes('position_ids')) {
      const pos = new BigInt64Array(n);
      for (let b = 0; b < batch; b++) for (let t = 0; t < seqLen; t++) pos[b * seqLen + t] = BigInt(t);
      feeds.position_ids = new ort.Tensor('int64', pos, dims);
    }
    let output: ort.Tensor;
    try {
      const result = await session.run(feeds, [this.outputName]);
      output = result[this.outputName];
    } catch (error) {
      throw new BiencoderError('INFERENCE_FAILED', `onnxruntime failed on ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    if (output.dims.length !== 3 || output.dims[0] !== batch || output.dims[1] !== seqLen) {
      throw new BiencoderError('MODEL_INVALID', `${this.path} output "${this.outputName}" has shape [${output.dims.join(', ')}], expected [${batch}, ${seqLen}, hidden]`);
    }
    const data = toFloat32(output);
    return { data, batch, seqLen, hidden: output.dims[2] };
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.release();
  }
}

function toFloat32(tensor: ort.Tensor): Float32Array {
  if (tensor.type === 'float32') {
    // onnxruntime-node hands outputs over in JS-owned buffers: no copy needed.
    return tensor.data as Float32Array;
  }
  if (tensor.type === 'float16') {
    const half = tensor.data as unknown as ArrayLike<number>;
    const out = new Float32Array(half.length);
    if (half instanceof Uint16Array) {
      for (let i = 0; i < half.length; i++) out[i] = halfToFloat(half[i]);
    } else {
      for (let i = 0; i < half.length; i++) out[i] = half[i];
    }
    return out;
  }
  throw new BiencoderError('MODEL_INVALID', `unsupported output type ${tensor.type}`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
