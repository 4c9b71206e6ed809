import type * as ort from 'onnxruntime-node';
import { BiencoderError } from '../errors.ts';
import { TransformerSession, loadOnnxSession, type OnnxSessionOptions } from '../encoders/onnx/session.ts';

/** Names of the graph output that carries the classification logits, in order of preference. */
const LOGIT_OUTPUTS = ['logits', 'scores', 'output'];

/** An onnxruntime-node session of a sequence-classification model: token ids (and segments) in, logits out. */
export class ClassifierSession extends TransformerSession {
  private constructor(path: string, session: ort.InferenceSession) {
    super(path, session, LOGIT_OUTPUTS);
  }

  /** A session of the ONNX file at `path`, or of `bytes` (a rewritten model; `path` then names it in messages). */
  static async create(path: string, options: OnnxSessionOptions = {}, bytes?: Uint8Array): Promise<ClassifierSession> {
    return new ClassifierSession(path, await loadOnnxSession(path, options, bytes));
  }

  /**
   * Runs one right-padded batch: ids and typeIds hold batch*seqLen entries, lengths the real length of each row.
   * Returns the logits, batch x labels.
   */
  async run(ids: Int32Array, typeIds: Uint8Array, lengths: ArrayLike<number>, batch: number, seqLen: number): Promise<{ logits: Float32Array; labels: number }> {
    const output = await this.runBatch(ids, lengths, batch, seqLen, typeIds);
    if (output.dims.length !== 2 || output.dims[0] !== batch) {
      throw new BiencoderError('MODEL_INVALID', `${this.path} output "${this.outputName}" has shape [${output.dims.join(', ')}], expected [${batch}, num_labels]: is it a sequence-classification export?`);
    }
    if (output.type !== 'float32') {
      throw new BiencoderError('MODEL_INVALID', `${this.path} output "${this.outputName}" is ${output.type}; float32 logits are supported`);
    }
    return { logits: output.data as Float32Array, labels: output.dims[1] };
  }
}
