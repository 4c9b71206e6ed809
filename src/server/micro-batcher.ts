/**
 * Micro-batching of concurrent encode() calls: texts of small concurrent requests for the same
 * model and role are gathered for a short window (default 2 ms) into one bounded batch (default 32
 * texts) and embedded by one encode() call, which is how a model serves many small queries fast.
 * At most maxInFlight batches (default 2) run at once: texts arriving while the model is busy wait
 * for a free slot and then go together, so batches grow with the load instead of the window. A call
 * that finds the model idle (nothing running, nothing waiting) goes at once: at low load the window
 * would only add latency.
 *
 * - A call whose texts fill a batch on their own (>= maxBatch) goes straight to the model.
 * - Each call's texts are validated before they join a batch, so one bad request never fails the
 *   batch it would have shared; if a shared batch still fails (the runtime), each call is retried
 *   alone so that the error reaches only the call that caused it.
 * - A call aborted while it waits leaves the batch; one aborted after dispatch is rejected at
 *   once (the batch still completes for the others).
 * - The vectors of a text are the same whether it was batched or not (encoders embed each text
 *   independently of its batch neighbours).
 */
import { BiencoderError } from '../errors.ts';
import type { EncodeOptions, Embeddings, Encoder, Role } from '../encoders/encoder.ts';
import { prepareTexts } from '../encoders/text-input.ts';
import { DelegatingEncoder } from '../encoders/delegating-encoder.ts';

export interface MicroBatchOptions {
  /** How long the first text of a batch waits for company, in milliseconds (0: until the next macrotask). Default 2. */
  readonly windowMs?: number;
  /** Most texts in one batch. Default 32. */
  readonly maxBatch?: number;
  /** Most batches running at once; texts that arrive meanwhile wait and go together. Default 2. */
  readonly maxInFlight?: number;
}

export const DEFAULT_MICRO_BATCH: Required<MicroBatchOptions> = { windowMs: 2, maxBatch: 32, maxInFlight: 2 };

/** Called after each encode() call the batcher makes, with its number of texts. */
export type BatchListener = (texts: number, modelId: string) => void;

interface Pending {
  readonly texts: readonly string[];
  readonly signal: AbortSignal | undefined;
  readonly resolve: (e: Embeddings) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  onAbort?: () => void;
}

interface Queue {
  readonly role: Role;
  readonly prompt: string | undefined;
  items: Pending[];
  size: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The first waiting call has waited its window. */
  due: boolean;
}

export function checkMicroBatchOptions(options: MicroBatchOptions = {}): Required<MicroBatchOptions> {
  if (typeof options !== 'object' || options === null) throw new BiencoderError('INVALID_ARGUMENT', 'microBatch must be an object { windowMs, maxBatch }');
  const windowMs = options.windowMs ?? DEFAULT_MICRO_BATCH.windowMs;
  const maxBatch = options.maxBatch ?? DEFAULT_MICRO_BATCH.maxBatch;
  if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs < 0 || windowMs > 1000) {
    throw new BiencoderError('INVALID_ARGUMENT', `microBatch.windowMs must be a number of milliseconds in 0..1000, got ${String(windowMs)}`);
  }
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 4096) {
    throw new BiencoderError('INVALID_ARGUMENT', `microBatch.maxBatch must be an integer in 1..4096, got ${String(maxBatch)}`);
  }
  const maxInFlight = options.maxInFlight ?? DEFAULT_MICRO_BATCH.maxInFlight;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 256) {
    throw new BiencoderError('INVALID_ARGUMENT', `microBatch.maxInFlight must be an integer in 1..256, got ${String(maxInFlight)}`);
  }
  return { windowMs, maxBatch, maxInFlight };
}

function aborted(signal: AbortSignal): BiencoderError {
  return new BiencoderError('ABORTED', 'the operation was aborted', { cause: signal.reason });
}

/** The rows [from, from + n) of an encode() result, as a result of their own. */
function sliceEmbeddings(e: Embeddings, from: number, n: number): Embeddings {
  const truncatedIndices = e.truncatedIndices.filter((i) => i >= from && i < from + n).map((i) => i - from);
  return {
    data: e.data.slice(from * e.dims, (from + n) * e.dims),
    rows: n,
    dims: e.dims,
    truncated: truncatedIndices.length,
    truncatedIndices,
  };
}

/**
 * An Encoder that micro-batches concurrent calls to another one. Its identity (modelId, dims,
 * prompts, ...) is the inner encoder's, so a collection opens with it as with the inner one.
 * close() waits for pending batches; it does not close the inner encoder (its owner does).
 */
export class BatchingEncoder extends DelegatingEncoder {
  readonly options: Required<MicroBatchOptions>;
  /** encode() calls made on the inner encoder, and the texts they carried. */
  readonly stats = { batches: 0, texts: 0 };
  readonly #listener: BatchListener | undefined;
  readonly #queues = new Map<string, Queue>();
  readonly #running = new Set<Promise<unknown>>();
  #inFlight = 0;
  #closed = false;

  constructor(inner: Encoder, options: MicroBatchOptions = {}, listener?: BatchListener) {
    if (typeof inner !== 'object' || inner === null || typeof inner.encode !== 'function') {
      throw new BiencoderError('INVALID_ARGUMENT', 'BatchingEncoder needs an Encoder');
    }
    super(inner);
    this.options = checkMicroBatchOptions(options);
    this.#listener = listener;
  }

  override encode(texts: readonly string[], options: EncodeOptions = {}): Promise<Embeddings> {
    try {
      if (this.#closed) throw new BiencoderError('CLOSED', 'the encoder is closed');
      if (options === null || typeof options !== 'object') throw new BiencoderError('INVALID_ARGUMENT', 'encode options must be an object');
      prepareTexts(texts); // validated here so that a bad call never joins (and fails) a shared batch
      const role = options.role ?? 'document';
      if (role !== 'query' && role !== 'document') throw new BiencoderError('INVALID_ARGUMENT', `role must be 'query' or 'document', got ${String(role)}`);
      const signal = options.signal;
      if (signal?.aborted) throw aborted(signal);
      // Calls with progress callbacks or their own batch size, and calls that fill a batch, go straight through.
      if (texts.length >= this.options.maxBatch || options.onProgress !== undefined || options.batchSize !== undefined) {
        return this.#run(this.inner.encode(texts, options), texts.length);
      }
      if (texts.length === 0) return this.#run(this.inner.encode(texts, options), 0);
      return this.#enqueue(texts, role, options.prompt, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #run<T>(p: Promise<T>, texts: number): Promise<T> {
    this.stats.batches++;
    this.stats.texts += texts;
    this.#listener?.(texts, this.inner.modelId);
    this.#running.add(p);
    const done = (): void => {
      this.#running.delete(p);
    };
    p.then(done, done);
    return p;
  }

  #enqueue(texts: readonly string[], role: Role, prompt: string | undefined, signal: AbortSignal | undefined): Promise<Embeddings> {
    const key = `${role}\u0000${prompt === undefined ? '\u0001' : prompt}`;
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { role, prompt, items: [], size: 0, timer: undefined, due: false };
      this.#queues.set(key, queue);
    }
    const q = queue;
    return new Promise<Embeddings>((resolve, reject) => {
      const item: Pending = { texts, signal, resolve, reject, settled: false };
      if (signal !== undefined) {
        item.onAbort = () => {
          if (item.settled) return;
          item.settled = true;
          const at = q.items.indexOf(item);
          if (at >= 0) this.#take(q, at, 1);
          reject(aborted(signal));
        };
        signal.addEventListener('abort', item.onAbort, { once: true });
      }
      q.items.push(item);
      q.size += texts.length;
      // The model is idle: waiting for company would only add latency.
      if (this.#inFlight === 0 && q.items.length === 1) q.due = true;
      if (q.size >= this.options.maxBatch || q.due) this.#pump();
      else q.timer ??= setTimeout(() => {
        q.timer = undefined;
        q.due = true;
        this.#pump();
      }, this.options.windowMs);
    });
  }

  /**
   * Sends batches while fewer than maxInFlight are running: full batches first, then queues whose
   * window has passed. Texts that arrive while the model is busy wait and go together.
   */
  #pump(force = false): void {
    for (;;) {
      if (!force && this.#inFlight >= this.options.maxInFlight) return;
      let next: Queue | undefined;
      for (const q of this.#queues.values()) {
        if (q.items.length > 0 && (q.size >= this.options.maxBatch || q.due || force)) {
          next = q;
          if (q.size >= this.options.maxBatch) break;
        }
      }
      if (next === undefined) return;
      this.#dispatch(next);
    }
  }

  /**
   * Removes `count` calls at `at` from a queue (sent, or aborted while waiting); a queue left empty forgets
   * its window (timer and due flag), so the next call waits for company again.
   */
  #take(queue: Queue, at: number, count: number): Pending[] {
    const items = queue.items.splice(at, count);
    for (const item of items) queue.size -= item.texts.length;
    if (queue.items.length === 0) {
      queue.due = false;
      if (queue.timer !== undefined) clearTimeout(queue.timer);
      queue.timer = undefined;
    }
    return items;
  }

  /** Sends the first calls of a queue, up to maxBatch texts (at least one call). */
  #dispatch(queue: Queue): void {
    let n = 0;
    let texts = 0;
    while (n < queue.items.length && (n === 0 || texts + queue.items[n].texts.length <= this.options.maxBatch)) texts += queue.items[n++].texts.length;
    const items = this.#take(queue, 0, n);
    const all = items.flatMap((i) => i.texts);
    const options: EncodeOptions = { role: queue.role, ...(queue.prompt === undefined ? {} : { prompt: queue.prompt }) };
    const settle = (item: Pending, f: () => void): void => {
      if (item.settled) return;
      item.settled = true;
      if (item.onAbort !== undefined) item.signal?.removeEventListener('abort', item.onAbort);
      f();
    };
    this.#inFlight++;
    const batch = this.#run(this.inner.encode(all, options), all.length);
    const finished = batch.then(
      (result) => {
        let from = 0;
        for (const item of items) {
          const part = sliceEmbeddings(result, from, item.texts.length);
          from += item.texts.length;
          settle(item, () => item.resolve(part));
        }
      },
      async (error: unknown) => {
        if (items.length === 1) {
          settle(items[0], () => items[0].reject(error));
          return;
        }
        // Retry each call alone, so that a failure reaches only the call that caused it.
        await Promise.allSettled(items.filter((item) => !item.settled).map((item) => this.#run(this.inner.encode(item.texts, options), item.texts.length).then(
          (e) => settle(item, () => item.resolve(e)),
          (e: unknown) => settle(item, () => item.reject(e)),
        )));
      },
    );
    void finished.finally(() => {
      this.#inFlight--;
      this.#pump(this.#closed);
    });
  }

  /** Sends the waiting texts now and waits for every batch to finish. Later encode() calls fail with CLOSED. */
  override async close(): Promise<void> {
    this.#closed = true;
    this.#pump(true);
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}
