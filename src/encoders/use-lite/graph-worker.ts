/**
 * The main-thread side of one Universal Sentence Encoder lite worker thread.
 *
 * Why a worker: TF.js keeps a single engine per thread, shared by every copy of tfjs-core in it,
 * with one current backend. Running the graph in our own thread keeps our CPU backend and its
 * faster kernels away from any other TF.js user of the process (and theirs away from us), and
 * keeps the event loop free while a batch runs.
 *
 * The worker is unref()'d while it has nothing to do, so a forgotten close() does not keep the
 * process alive.
 */
import { Worker } from 'node:worker_threads';
import { BiencoderError } from '../../errors.ts';
import type { GraphSource, GraphStats } from './graph.ts';
import type { WorkerData, WorkerReply, WorkerRequest } from './protocol.ts';

type RequestBody =
  | { kind: 'run'; indices: Int32Array; values: Int32Array; rows: number }
  | { kind: 'stats' }
  | { kind: 'close' };

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

export class GraphWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: BiencoderError | undefined;
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    readonly fastKernels: boolean,
  ) {
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (error) => this.fail(new BiencoderError('INFERENCE_FAILED', `the use-lite worker crashed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => {
      this.exited = true;
      this.fail(new BiencoderError('INFERENCE_FAILED', `the use-lite worker exited (code ${code})`));
    });
    worker.unref();
  }

  /** Starts a worker and loads the graph in it. `source.weightData` is copied, not transferred. */
  static start(source: GraphSource, options: { fastKernels?: boolean } = {}): Promise<GraphWorker> {
    const data: WorkerData = {
      entry: new URL('./worker.ts', import.meta.url).href,
      source,
      fastKernels: options.fastKernels ?? true,
    };
    const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: data });
    return new Promise<GraphWorker>((resolve, reject) => {
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onMessage = (reply: WorkerReply): void => {
        if (reply.kind === 'ready') {
          cleanup();
          resolve(new GraphWorker(worker, reply.fastKernels));
        } else if (reply.kind === 'init-error') {
          cleanup();
          void worker.terminate();
          reject(new BiencoderError('MODEL_INVALID', `the use-lite graph failed to load: ${reply.message}`));
        }
      };
      const onError = (error: Error): void => {
        cleanup();
        void worker.terminate();
        const hint = (error as { code?: unknown }).code === 'ERR_UNKNOWN_FILE_EXTENSION'
          ? ' (worker threads load TypeScript through tsx: install it, or use a runtime that runs TypeScript)'
          : '';
        reject(new BiencoderError('INFERENCE_FAILED', `the use-lite worker failed to start: ${error.message}${hint}`, { cause: error }));
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new BiencoderError('INFERENCE_FAILED', `the use-lite worker exited during start-up (code ${code})`));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  /** Runs one batch; resolves to rows x 512 floats. */
  async run(indices: Int32Array, values: Int32Array, rows: number): Promise<Float32Array> {
    const reply = await this.request({ kind: 'run', indices, values, rows }, [indices.buffer as ArrayBuffer, values.buffer as ArrayBuffer]);
    if (reply.kind !== 'result') throw unexpected(reply);
    return reply.data;
  }

  async stats(): Promise<GraphStats> {
    const reply = await this.request({ kind: 'stats' });
    if (reply.kind !== 'stats') throw unexpected(reply);
    return reply.stats;
  }

  /** Disposes the graph and ends the thread. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.exited && this.failure === undefined) {
      try {
        await this.request({ kind: 'close' });
      } catch {
        // The thread is going away anyway.
      }
    }
    this.failure ??= new BiencoderError('CLOSED', 'the use-lite worker was closed');
    await this.worker.terminate();
  }

  private request(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    const message = { ...body, id } as WorkerRequest;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage(message, transfer);
    });
  }

  private onReply(reply: WorkerReply): void {
    if (!('id' in reply)) return;
    const p = this.pending.get(reply.id);
    if (p === undefined) return;
    this.settled(reply.id);
    if (reply.kind === 'error') {
      p.reject(new BiencoderError('INFERENCE_FAILED', `use-lite inference failed: ${reply.message}`));
    } else {
      p.resolve(reply);
    }
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(error: BiencoderError): void {
    this.failure ??= error;
    for (const [id, p] of [...this.pending]) {
      this.settled(id);
      p.reject(this.failure);
    }
  }
}

function unexpected(reply: WorkerReply): BiencoderError {
  return new BiencoderError('INFERENCE_FAILED', `unexpected reply from the use-lite worker: ${reply.kind}`);
}
