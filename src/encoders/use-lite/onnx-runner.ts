/**
 * The translated Universal Sentence Encoder lite ONNX model on onnxruntime-node (CPU), run inside a
 * use-lite worker thread: onnxruntime-node's run() computes on the calling thread, so the
 * encoder runs one session per worker to keep the event loop free and use several cores at once.
 */
import * as ort from 'onnxruntime-node';
import { nextBatchSize } from '../batching.ts';

/** Floats per embedding. */
const OUTPUT_DIMS = 512;
/** Padded positions (texts x longest) per model call; see run(). */
const TOKENS_PER_RUN = 1024;

export interface OnnxRunnerOptions {
  /** Threads inside one operator (default 1: the encoder gets its parallelism from several workers). */
  intraOpThreads?: number;
}

export interface OnnxRunnerStats {
  route: 'onnx';
  intraOpThreads: number;
  runs: number;
  rows: number;
  /** Milliseconds spent inside session.run (the rest of a worker's time is waiting and messaging). */
  runMs: number;
}

export class UseLiteOnnxRunner {
  private runs = 0;
  private rows = 0;
  private runMs = 0;

  private constructor(
    private session: ort.InferenceSession | undefined,
    readonly intraOpThreads: number,
  ) {}

  static async load(model: Uint8Array, options: OnnxRunnerOptions = {}): Promise<UseLiteOnnxRunner> {
    const intraOpThreads = options.intraOpThreads ?? 1;
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    if (session.inputNames.join(',') !== 'ids,mask' || session.outputNames.join(',') !== 'embeddings') {
      await session.release();
      throw new Error(`unexpected ONNX signature: inputs ${session.inputNames.join(', ')}, outputs ${session.outputNames.join(', ')}`);
    }
    return new UseLiteOnnxRunner(session, intraOpThreads);
  }

  /**
   * Embeds one batch given as the pieces of every text one after the other (`pieces`) and each
   * text's piece count (`lengths`, each >= 1; longest first, as the encoder sends them: in another
   * order the vectors are the same but a call may exceed TOKENS_PER_RUN). Returns lengths.length x 512 floats.
   *
   * The batch runs as consecutive model calls of at most TOKENS_PER_RUN padded positions each (at
   * least one text per call): the activations of ~1,000 positions stay in the CPU caches, which made
   * the model ~14% faster than 4,096-position calls (32 texts of 128 pieces) on the 2-core test
   * machine. A text's vector does not depend on the texts it runs with.
   */
  async run(pieces: Int32Array, lengths: Int32Array): Promise<Float32Array> {
    const rows = lengths.length;
    // The encoder sends each batch longest first, so the first text bounds a call's positions.
    const first = nextBatchSize(lengths[0], rows, rows, TOKENS_PER_RUN);
    if (first === rows) return this.runPadded(pieces, lengths, Math.max(...lengths)); // one call: its output as is
    const out = new Float32Array(rows * OUTPUT_DIMS);
    let offset = 0;
    for (let from = 0; from < rows;) {
      const to = from + nextBatchSize(lengths[from], rows - from, rows, TOKENS_PER_RUN);
      let seq = 0;
      let count = 0;
      for (let r = from; r < to; r++) {
        seq = Math.max(seq, lengths[r]);
        count += lengths[r];
      }
      out.set(await this.runPadded(pieces.subarray(offset, offset + count), lengths.subarray(from, to), seq), from * OUTPUT_DIMS);
      offset += count;
      from = to;
    }
    return out;
  }

  /** One model call: the texts padded to `seq` positions. */
  private async runPadded(pieces: Int32Array, lengths: Int32Array, seq: number): Promise<Float32Array> {
    const session = this.session;
    if (session === undefined) throw new Error('the ONNX session was released');
    const rows = lengths.length;
    const ids = new Int32Array(rows * seq);
    const mask = new Float32Array(rows * seq);
    let offset = 0;
    for (let r = 0; r < rows; r++) {
      const n = lengths[r];
      ids.set(pieces.subarray(offset, offset + n), r * seq);
      mask.fill(1, r * seq, r * seq + n);
      offset += n;
    }
    const started = performance.now();
    const out = await session.run({
      ids: new ort.Tensor('int32', ids, [rows, seq]),
      mask: new ort.Tensor('float32', mask, [rows, seq]),
    });
    const embeddings = out.embeddings;
    if (embeddings.type !== 'float32' || embeddings.dims.length !== 2 || embeddings.dims[0] !== rows || embeddings.dims[1] !== OUTPUT_DIMS) {
      throw new Error(`the ONNX model returned ${embeddings.type} [${embeddings.dims.join(', ')}] for ${rows} rows`);
    }
    this.runMs += performance.now() - started;
    this.runs++;
    this.rows += rows;
    return embeddings.data as Float32Array;
  }

  stats(): OnnxRunnerStats {
    return { route: 'onnx', intraOpThreads: this.intraOpThreads, runs: this.runs, rows: this.rows, runMs: this.runMs };
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }
}
