import * as ort from 'onnxruntime-node';
import { BiencoderError } from '../errors.ts';
import type { OnnxSessionOptions } from '../encoders/onnx/session.ts';

/** Names of the graph output that carries the classification logits, in order of preference. */
const LOGIT_OUTPUTS = ['logits', 'scores', 'output'];

/** An onnxruntime-node session of a sequence-classification model: token ids (and segments) in, logits out. */
export class ClassifierSession {
  readonly path: string;
  readonly inputNames: readonly string[];
  readonly outputName: string;
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
    this.outputName = LOGIT_OUTPUTS.find((n) => session.outputNames.includes(n)) ?? session.outputNames[0];
  }

  /** A session of the ONNX file at `path`, or of `bytes` (a rewritten model; `path` then names it in messages). */
  static async create(path: string, options: OnnxSessionOptions = {}, bytes?: Uint8Array): Promise<ClassifierSession> {
    let session: ort.InferenceSession;
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    };
    try {
      session = bytes === undefined ? await ort.InferenceSession.create(path, sessionOptions) : await ort.InferenceSession.create(bytes, sessionOptions);
    } catch (error) {
      throw new BiencoderError('MODEL_INVALID', `onnxruntime cannot load ${path}: ${(error as Error).message}`, { cause: error });
    }
    return new ClassifierSession(path, session);
  }

  /**
   * Runs one right-padded batch: ids and typeIds hold batch*seqLen entries, lengths the real length of each row.
   * Returns the logits, batch x labels.
   */
  async run(ids: Int32Array, typeIds: Uint8Array, lengths: ArrayLike<number>, batch: number, seqLen: number): Promise<{ logits: Float32Array; labels: number }> {
    const session = this.#session;
    if (!session) throw new BiencoderError('CLOSED', 'the ONNX session was closed');
    const n = batch * seqLen;
    const inputIds = new BigInt64Array(n);
    const mask = new BigInt64Array(n);
    const types = this.takesTokenTypeIds ? new BigInt64Array(n) : undefined;
    for (let b = 0; b < batch; b++) {
      const o = b * seqLen;
      const len = lengths[b];
      for (let t = 0; t < len; t++) {
        inputIds[o + t] = BigInt(ids[o + t]);
        mask[o + t] = 1n;
        if (types && typeIds[o + t] !== 0) types[o + t] = BigInt(typeIds[o + t]);
      }
      for (let t = len; t < seqLen; t++) inputIds[o + t] = BigInt(ids[o + t]);
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
    let output: ort.Tensor;
    try {
      const result = await session.run(feeds, [this.outputName]);
      output = result[this.outputName];
    } catch (error) {
      throw new BiencoderError('INFERENCE_FAILED', `onnxruntime failed on ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    if (output.dims.length !== 2 || output.dims[0] !== batch) {
      throw new BiencoderError('MODEL_INVALID', `${this.path} output "${this.outputName}" has shape [${output.dims.join(', ')}], expected [${batch}, num_labels]: is it a sequence-classification export?`);
    }
    if (output.type !== 'float32') {
      throw new BiencoderError('MODEL_INVALID', `${this.path} output "${this.outputName}" is ${output.type}; float32 logits are supported`);
    }
    return { logits: output.data as Float32Array, labels: output.dims[1] };
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.release();
  }
}
