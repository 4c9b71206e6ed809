/**
 * The server's encoders: one per distinct model, shared by every collection of that model and by
 * the embedding routes, each wrapped in a micro-batcher. Encoders given by the caller are used
 * as they are (and left open on close); models named by a collection's manifest are loaded once
 * with the loader (loadEncoder by default) and closed with the pool.
 */
import { BiencoderError } from '../errors.ts';
import type { Encoder } from '../encoders/encoder.ts';
import { loadEncoder } from '../encoders/load-encoder.ts';
import { BatchingEncoder, type BatchListener, type MicroBatchOptions } from './micro-batcher.ts';

export type EncoderLoader = (modelId: string) => Promise<Encoder>;

export interface EncoderPoolOptions {
  /** Encoders already loaded (the caller keeps ownership). */
  readonly encoders?: readonly Encoder[];
  /** Loads a model by the id a manifest names. Default: loadEncoder(id). */
  readonly load?: EncoderLoader;
  /** Micro-batching of concurrent calls; false: none. */
  readonly microBatch?: MicroBatchOptions | false;
  readonly onBatch?: BatchListener;
}

interface Entry {
  readonly ready: Promise<Encoder>;
  /** The encoder the pool loaded (and closes), once loaded. */
  owned?: Encoder;
  wrapped?: Encoder;
}

export class EncoderPool {
  readonly #entries = new Map<string, Entry>();
  readonly #load: EncoderLoader;
  readonly #wrap: (e: Encoder) => Encoder;
  #closed = false;

  constructor(options: EncoderPoolOptions = {}) {
    this.#load = options.load ?? ((id) => loadEncoder(id));
    const micro = options.microBatch;
    const listener = options.onBatch;
    this.#wrap = micro === false ? (e) => e : (e) => new BatchingEncoder(e, micro ?? {}, listener);
    for (const encoder of options.encoders ?? []) {
      if (typeof encoder !== 'object' || encoder === null || typeof encoder.encode !== 'function') {
        throw new BiencoderError('INVALID_ARGUMENT', 'encoders must be an array of Encoder objects');
      }
      if (this.#entries.has(encoder.modelId)) throw new BiencoderError('INVALID_ARGUMENT', `two encoders of model ${encoder.modelId} were given`);
      const wrapped = this.#wrap(encoder);
      this.#entries.set(encoder.modelId, { ready: Promise.resolve(wrapped), wrapped });
    }
  }

  /** The (micro-batching) encoder of a model, loading it the first time. */
  get(modelId: string): Promise<Encoder> {
    if (this.#closed) return Promise.reject(new BiencoderError('CLOSED', 'the server is closing'));
    let entry = this.#entries.get(modelId);
    if (entry === undefined) {
      const loading: Entry = {
        ready: this.#load(modelId).then((encoder) => {
          loading.owned = encoder;
          loading.wrapped = this.#wrap(encoder);
          return loading.wrapped;
        }),
      };
      loading.ready.catch(() => {
        if (this.#entries.get(modelId) === loading) this.#entries.delete(modelId); // a later call may try again
      });
      entry = loading;
      this.#entries.set(modelId, entry);
    }
    return entry.ready;
  }

  /** The encoder of a model that is loaded already, else undefined (never loads). */
  loaded(modelId: string): Encoder | undefined {
    return this.#entries.get(modelId)?.wrapped;
  }

  /** The ids of the models loaded so far. */
  loadedIds(): string[] {
    return [...this.#entries].filter(([, e]) => e.wrapped !== undefined).map(([id]) => id);
  }

  /** Waits for pending batches, then closes the encoders the pool loaded. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const entries = [...this.#entries.values()];
    await Promise.allSettled(entries.map((e) => e.ready));
    await Promise.allSettled(entries.map((e) => (e.wrapped instanceof BatchingEncoder ? e.wrapped.close() : undefined)));
    await Promise.allSettled(entries.map((e) => e.owned?.close()));
  }
}
