/** Messages between the encoder (main thread) and its worker threads. */
import type { GraphSource, GraphStats } from './graph.ts';

export interface WorkerData {
  /** URL of worker.ts, loaded by worker-bootstrap.mjs. */
  entry: string;
  source: GraphSource;
  fastKernels: boolean;
}

export type WorkerRequest =
  | { kind: 'run'; id: number; indices: Int32Array; values: Int32Array; rows: number }
  | { kind: 'stats'; id: number }
  | { kind: 'close'; id: number };

export type WorkerReply =
  | { kind: 'ready'; fastKernels: boolean }
  | { kind: 'init-error'; message: string }
  | { kind: 'result'; id: number; data: Float32Array }
  | { kind: 'stats'; id: number; stats: GraphStats }
  | { kind: 'closed'; id: number }
  | { kind: 'error'; id: number; message: string };
