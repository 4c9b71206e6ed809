/**
 * The Universal Sentence Encoder lite worker thread: owns a TF.js engine and one loaded graph,
 * and embeds the batches its parent sends, one at a time. See graph-worker.ts for the protocol.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UseLiteGraph } from './graph.ts';
import type { WorkerData, WorkerReply, WorkerRequest } from './protocol.ts';

const port = parentPort;
if (port === null) throw new Error('worker.ts must run in a worker thread');

const data = workerData as WorkerData;
let graph: UseLiteGraph | undefined;
try {
  graph = await UseLiteGraph.load(data.source, { fastKernels: data.fastKernels });
  post({ kind: 'ready', fastKernels: graph.fastKernels });
} catch (error) {
  post({ kind: 'init-error', message: errorMessage(error) });
}

// Requests are handled strictly one after the other.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => handle(request));
});

async function handle(request: WorkerRequest): Promise<void> {
  const g = graph;
  if (g === undefined) {
    post({ kind: 'error', id: request.id, message: 'the model failed to load' });
    return;
  }
  try {
    switch (request.kind) {
      case 'run': {
        const out = await g.run(request.indices, request.values, request.rows);
        // Send a standalone buffer so it can be transferred, not copied.
        const result = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out.slice();
        post({ kind: 'result', id: request.id, data: result }, [result.buffer as ArrayBuffer]);
        break;
      }
      case 'stats':
        post({ kind: 'stats', id: request.id, stats: g.stats() });
        break;
      case 'close':
        g.dispose();
        graph = undefined;
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
