import * as ort from 'onnxruntime-node';
import { BiencoderError } from '../../errors.ts';
import type { TokenStates } from './pooling.ts';

export interface OnnxSessionOptions {
  /** Threads inside one operator. Default: onnxruntime's choice (the physical cores). */
  readonly intraOpNumThreads?: number;
  /** Default 'all': onnxruntime fuses attention, GELU and layer norm subgraphs. */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** The inputs of a transformer graph that biencoder can feed. */
const KNOWN_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'];

/**
 * Loads an ONNX model on the CPU: the file at `path`, or `bytes` (a rewritten model; `path` then names
 * it in messages). MODEL_INVALID when onnxruntime cannot load it.
 */
export async function loadOnnxSession(path: string, options: OnnxSessionOptions = {}, bytes?: Uint8Array): Promise<ort.InferenceSession> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
  };
  try {
    return bytes === undefined ? await ort.InferenceSession.create(path, sessionOptions) : await ort.InferenceSession.create(bytes, sessionOptions);
  } catch (error) {
    throw new BiencoderError('MODEL_INVALID', `onnxruntime cannot load ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Checks that a transformer graph takes input_ids and attention_mask and nothing biencoder cannot feed
 * (MODEL_INVALID otherwise). Returns whether it takes token_type_ids.
 */
function checkTransformerInputs(path: string, session: ort.InferenceSession): boolean {
  for (const needed of ['input_ids', 'attention_mask']) {
    if (!session.inputNames.includes(needed)) {
      throw new BiencoderError('MODEL_INVALID', `${path} has no "${needed}" input (inputs: ${session.inputNames.join(', ')})`);
    }
  }
  const unknown = session.inputNames.filter((n) => !KNOWN_INPUTS.includes(n));
  if (unknown.length > 0) {
    throw new BiencoderError('MODEL_INVALID', `${path} takes inputs biencoder cannot feed: ${unknown.join(', ')}`);
  }
  return session.inputNames.includes('token_type_ids');
}

/** The first of `preferred` among the graph's outputs, else its first output. */
function pickOutput(session: ort.InferenceSession, preferred: readonly string[]): string {
  return preferred.find((n) => session.outputNames.includes(n)) ?? session.outputNames[0];
}

/**
 * An onnxruntime-node session of a transformer graph (checked with checkTransformerInputs), the output
 * it is run for (the first of `outputs` it has, else its first), and close().
 */
export abstract class TransformerSession {
  readonly path: string;
  readonly inputNames: readonly string[];
  readonly outputName: string;
  /** True when the graph takes token_type_ids (BERT does; DistilBERT, RoBERTa-style exports often do not). */
  readonly takesTokenTypeIds: boolean;
  #session: ort.InferenceSession | undefined;

  protected constructor(path: string, session: ort.InferenceSession, outputs: readonly string[]) {
    this.path = path;
    this.#session = session;
    this.inputNames = session.inputNames;
    this.takesTokenTypeIds = checkTransformerInputs(path, session);
    this.outputName = pickOutput(session, outputs);
  }

  /** The open session; CLOSED after close(). */
  protected get session(): ort.InferenceSession {
    const session = this.#session;
    if (!session) throw new BiencoderError('CLOSED', 'the ONNX session was closed');
    return session;
  }

  /**
   * Runs one right-padded batch (ids: batch*seqLen token ids, lengths: each row's real length; typeIds:
   * segment ids, zeros when not given) for the output; INFERENCE_FAILED when onnxruntime fails.
   * Feeds token_type_ids and position_ids only when the graph takes them.
   */
  protected async runBatch(ids: Int32Array, lengths: ArrayLike<number>, batch: number, seqLen: number, typeIds?: Uint8Array): Promise<ort.Tensor> {
    const session = this.session;
    const n = batch * seqLen;
    const inputIds = new BigInt64Array(n);
    const mask = new BigInt64Array(n);
    const types = this.takesTokenTypeIds ? new BigInt64Array(n) : undefined;
    for (let b = 0; b < batch; b++) {
      const o = b * seqLen;
      const len = lengths[b];
      for (let t = 0; t < seqLen; t++) {
        inputIds[o + t] = BigInt(ids[o + t]);
        if (t < len) {
          mask[o + t] = 1n;
          if (types && typeIds && typeIds[o + t] !== 0) types[o + t] = BigInt(typeIds[o + t]);
        }
      }
    }
    const dims = [batch, seqLen];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, dims),
      attention_mask: new ort.Tensor('int64', mask, dims),
    };
    if (types) feeds.token_type_ids = new ort.Tensor('int64', types, dims);
    if (this.inputNames.includes('position_ids')) {
      const pos = new BigInt64Array(n);
      for (let b = 0; b < batch; b++) for (let t = 0; t < seqLen; t++) pos[b * seqLen + t] = BigInt(t);
      feeds.position_ids = new ort.Tensor('int64', pos, dims);
    }
    try {
      const result = await session.run(feeds, [this.outputName]);
      return result[this.outputName];
    } catch (error) {
      throw new BiencoderError('INFERENCE_FAILED', `onnxruntime failed on ${this.path}: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.release();
  }
}

/** Names of the graph output that carries per-token states, in order of preference. */
const TOKEN_OUTPUTS = ['last_hidden_state', 'token_embeddings', 'hidden_states'];

/** An onnxruntime-node session of a transformer encoder: token ids in, token states out. */
export class EncoderSession extends TransformerSession {
  private constructor(path: string, session: ort.InferenceSession) {
    super(path, session, TOKEN_OUTPUTS);
  }

  static async create(path: string, options: OnnxSessionOptions = {}): Promise<EncoderSession> {
    return new EncoderSession(path, await loadOnnxSession(path, options));
  }

  /**
   * Runs one right-padded batch. ids holds batch*seqLen token ids, lengths the real length of each row.
   */
  async run(ids: Int32Array, lengths: ArrayLike<number>, batch: number, seqLen: number): Promise<TokenStates> {
    const output = await this.runBatch(ids, lengths, batch, seqLen);
    if (output.dims.length !== 3 || output.dims[0] !== batch || output.dims[1] !== seqLen) {
      throw new BiencoderError('MODEL_INVALID', `${this.path} output "${this.outputName}" has shape [${output.dims.join(', ')}], expected [${batch}, ${seqLen}, hidden]`);
    }
    const data = toFloat32(output);
    return { data, batch, seqLen, hidden: output.dims[2] };
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
