/**
 * The main-thread side of one Universal Sentence Encoder lite worker thread.
 *
 * Why a worker: TF.js keeps a single engine per thread, shared by every copy of tfjs-core in it,
 * with one current backend. Running the graph in our own thread keeps our CPU backend and its
 * faster kernels away from any other TF.js user of the process (and theirs away from us), and
 * keeps the event loop free while a batch runs. onnxruntime-node's run() computes on the thread
 * that calls it, so the ONNX route runs in workers too: the event loop stays free, and several
 * workers run batches on several cores at once.
 *
 * The worker is unref()'d while it has nothing to do, so a forgotten close() does not keep the
 * process alive.
 */
import { Worker } from 'node:worker_threads';
import { BiencoderError } from '../../errors.ts';
import type { WorkerBackend, WorkerData, WorkerReply, WorkerRequest, WorkerStats } from './protocol.ts';

type RequestBody =
  | { kind: 'run'; pieces: Int32Array; lengths: Int32Array }
  | { kind: 'stats' }
  | { kind: 'close' };

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

/**
 * The worker thread: compiled (dist/*.js), worker.js runs as it is; from the TypeScript sources
 * (tests, benches) it starts through worker-bootstrap.mjs, which registers tsx in the thread first.
 */
function startWorker(backend: WorkerBackend): Worker {
  if (import.meta.url.endsWith('.js')) return new Worker(new URL('./worker.js', import.meta.url), { workerData: { backend } satisfies WorkerData });
  const data: WorkerData = { entry: new URL('./worker.ts', import.meta.url).href, backend };
  return new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: data });
}

export class GraphWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: BiencoderError | undefined;
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    readonly fastKernels: boolean,
    readonly route: WorkerBackend['route'],
  ) {
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (error) => this.fail(new BiencoderError('INFERENCE_FAILED', `the use-lite worker crashed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => {
      this.exited = true;
      this.fail(new BiencoderError('INFERENCE_FAILED', `the use-lite worker exited (code ${code})`));
    });
    worker.unref();
  }

  /** Starts a worker and loads the model in it. The backend's buffers are copied, not transferred. */
  static start(backend: WorkerBackend): Promise<GraphWorker> {
    const worker = startWorker(backend);
    return new Promise<GraphWorker>((resolve, reject) => {
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onMessage = (reply: WorkerReply): void => {
        if (reply.kind === 'ready') {
          cleanup();
          resolve(new GraphWorker(worker, reply.fastKernels, backend.route));
        } else if (reply.kind === 'init-error') {
          cleanup();
          void worker.terminate();
          reject(new BiencoderError('MODEL_INVALID', `the use-lite ${backend.route === 'onnx' ? 'ONNX model' : 'graph'} failed to load: ${reply.message}`));
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

  /**
   * Runs one batch: `pieces` holds every text's piece ids one after the other, `lengths` each
   * text's count. Both buffers are transferred to the worker. Resolves to lengths.length x 512 floats.
   */
  async run(pieces: Int32Array, lengths: Int32Array): Promise<Float32Array> {
    const reply = await this.request({ kind: 'run', pieces, lengths }, [pieces.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer]);
    if (reply.kind !== 'result') throw unexpected(reply);
    return reply.data;
  }

  async stats(): Promise<WorkerStats> {
    const reply = await this.request({ kind: 'stats' });
    if (reply.kind !== 'stats') throw unexpected(reply);
    return reply.stats;
  }

  /** Disposes the model and ends the thread. Safe to call twice. */
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
