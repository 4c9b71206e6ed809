/** Messages between the encoder (main thread) and its worker threads. */
import type { UseLiteWeightSpec } from './model-files.ts';
import type { OnnxRunnerStats } from './onnx-runner.ts';

/**
 * The TF.js graph as model.json describes it (declared here rather than in graph.ts, so that the
 * encoder's declarations do not pull in TF.js's types).
 */
export interface GraphSource {
  modelTopology: Record<string, unknown>;
  weightSpecs: UseLiteWeightSpec[];
  weightData: ArrayBuffer;
}

export interface GraphStats {
  numTensors: number;
  numBytes: number;
  wasmBytes: number;
  fastKernels: boolean;
}

/** What a worker runs: the TF.js graph, or the ONNX translation of it on onnxruntime. */
export type WorkerBackend =
  | { route: 'tfjs'; source: GraphSource; fastKernels: boolean }
  | { route: 'onnx'; model: Uint8Array; intraOpThreads: number };

export interface WorkerData {
  /** URL of worker.ts, loaded by worker-bootstrap.mjs (runs from the TypeScript sources only). */
  entry?: string;
  backend: WorkerBackend;
}

export type WorkerStats = ({ route: 'tfjs' } & GraphStats) | OnnxRunnerStats;

export type WorkerRequest =
  /** `pieces`: every text's piece ids one after the other; `lengths`: each text's count (>= 1). */
  | { kind: 'run'; id: number; pieces: Int32Array; lengths: Int32Array }
  | { kind: 'stats'; id: number }
  | { kind: 'close'; id: number };

export type WorkerReply =
  | { kind: 'ready'; fastKernels: boolean }
  | { kind: 'init-error'; message: string }
  | { kind: 'result'; id: number; data: Float32Array }
  | { kind: 'stats'; id: number; stats: WorkerStats }
  | { kind: 'closed'; id: number }
  | { kind: 'error'; id: number; message: string };
