/**
 * The Universal Sentence Encoder lite worker thread: owns one model (the TF.js graph on its own
 * TF.js engine, or the ONNX translation on an onnxruntime session) and embeds the batches its
 * parent sends, one at a time. See graph-worker.ts for the protocol.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerBackend, WorkerData, WorkerReply, WorkerRequest, WorkerStats } from './protocol.ts';

const port = parentPort;
if (port === null) throw new Error('worker.ts must run in a worker thread');

/** One loaded model, whichever the route. */
interface Runner {
  readonly fastKernels: boolean;
  run(pieces: Int32Array, lengths: Int32Array): Promise<Float32Array>;
  stats(): WorkerStats;
  dispose(): Promise<void> | void;
}

async function load(backend: WorkerBackend): Promise<Runner> {
  if (backend.route === 'onnx') {
    // Imported here so that an ONNX worker never loads TF.js, and a TF.js worker never loads onnxruntime.
    const { UseLiteOnnxRunner } = await import('./onnx-runner.ts');
    const runner = await UseLiteOnnxRunner.load(backend.model, { intraOpThreads: backend.intraOpThreads });
    return {
      fastKernels: false,
      run: (pieces, lengths) => runner.run(pieces, lengths),
      stats: () => runner.stats(),
      dispose: () => runner.dispose(),
    };
  }
  const { UseLiteGraph } = await import('./graph.ts');
  const graph = await UseLiteGraph.load(backend.source, { fastKernels: backend.fastKernels });
  return {
    fastKernels: graph.fastKernels,
    run: (pieces, lengths) => {
      const [indices, values] = sparseInput(pieces, lengths);
      return graph.run(indices, values, lengths.length);
    },
    stats: () => ({ route: 'tfjs', ...graph.stats() }),
    dispose: () => graph.dispose(),
  };
}

/** The TF.js graph's sparse input: [row, position] pairs and the piece ids. */
function sparseInput(pieces: Int32Array, lengths: Int32Array): [Int32Array, Int32Array] {
  const indices = new Int32Array(pieces.length * 2);
  let k = 0;
  for (let row = 0; row < lengths.length; row++) {
    for (let j = 0; j < lengths[row]; j++, k++) {
      indices[2 * k] = row;
      indices[2 * k + 1] = j;
    }
  }
  return [indices, pieces];
}

const data = workerData as WorkerData;
let runner: Runner | undefined;
try {
  runner = await load(data.backend);
  post({ kind: 'ready', fastKernels: runner.fastKernels });
} catch (error) {
  post({ kind: 'init-error', message: errorMessage(error) });
}

// Requests are handled strictly one after the other.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => handle(request));
});

async function handle(request: WorkerRequest): Promise<void> {
  const r = runner;
  if (r === undefined) {
    post({ kind: 'error', id: request.id, message: 'the model failed to load' });
    return;
  }
  try {
    switch (request.kind) {
      case 'run': {
        const out = await r.run(request.pieces, request.lengths);
        // Send a standalone buffer so it can be transferred, not copied.
        const result = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out.slice();
        post({ kind: 'result', id: request.id, data: result }, [result.buffer as ArrayBuffer]);
        break;
      }
      case 'stats':
        post({ kind: 'stats', id: request.id, stats: r.stats() });
        break;
      case 'close':
        await r.dispose();
        runner = undefined;
        post({ kind: 'closed', id: request.id });
        break;
    }
  } catch (error) {
    post({ kind: 'error', id: request.id, message: errorMessage(error) });
  }
}

function post(reply: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(reply, transfer);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
