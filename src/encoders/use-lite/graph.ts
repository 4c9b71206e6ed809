/**
 * The Universal Sentence Encoder lite graph on the TF.js CPU backend.
 *
 * TF.js keeps one engine per JavaScript realm (on `globalThis`, shared by every copy of
 * tfjs-core loaded in it) with one current backend; other TF.js users in the same thread
 * (e.g. @energetic-ai/core, which switches the engine to its WebAssembly backend on import)
 * would change the backend under us, and our faster kernels would change theirs. So this module
 * is meant to run in the encoder's own worker thread, where it sets the engine up once.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { installFastKernels } from './fast-kernels.ts';
import { WasmGemm, wasmSimdSupported } from './wasm-gemm.ts';
import type { GraphSource, GraphStats } from './protocol.ts';

export interface GraphOptions {
  /** Use the WebAssembly SIMD matrix kernels (default true when the runtime supports them). */
  fastKernels?: boolean;
}

const constants = new WeakSet<object>();
let gemm: WasmGemm | undefined;
let engineReady: Promise<boolean> | undefined;

/** Sets the engine up once: CPU backend, no console banner, fast kernels when possible. */
function setUpEngine(fastKernels: boolean): Promise<boolean> {
  engineReady ??= (async () => {
    // PROD silences the CPU backend's "install tfjs-node" banner.
    tf.env().set('PROD', true);
    if (!(await tf.setBackend('cpu'))) throw new Error('the TF.js CPU backend failed to initialize');
    await tf.ready();
    if (fastKernels && wasmSimdSupported()) {
      gemm = new WasmGemm();
      installFastKernels({ gemm, isConstant: (dataId) => constants.has(dataId) });
      return true;
    }
    return false;
  })();
  return engineReady;
}

export class UseLiteGraph {
  private constructor(
    private readonly model: GraphModel,
    private readonly outputName: string,
    readonly fastKernels: boolean,
  ) {}

  static async load(source: GraphSource, options: GraphOptions = {}): Promise<UseLiteGraph> {
    const fast = await setUpEngine(options.fastKernels ?? true);
    const model = await loadGraphModel(tf.io.fromMemory({
      modelTopology: source.modelTopology,
      weightSpecs: source.weightSpecs,
      weightData: source.weightData,
    }));
    const inputNames = model.inputs.map((i) => i.name).sort();
    if (inputNames.join(',') !== 'indices,values' || model.outputs.length !== 1) {
      model.dispose();
      throw new Error(`unexpected graph signature: inputs ${inputNames.join(', ')}, ${model.outputs.length} outputs`);
    }
    for (const list of Object.values(model.weights)) for (const t of list) constants.add(t.dataId);
    return new UseLiteGraph(model, model.outputs[0].name, fast);
  }

  /**
   * Embeds one batch given as the graph's sparse input: `indices` holds [row, position] pairs
   * and `values` the piece ids. Every row must have at least one piece. Returns rows x 512.
   */
  async run(indices: Int32Array, values: Int32Array, rows: number): Promise<Float32Array> {
    const n = values.length;
    const inputs = {
      indices: tf.tensor2d(indices, [n, 2], 'int32'),
      values: tf.tensor1d(values, 'int32'),
    };
    let output: tf.Tensor | undefined;
    try {
      output = (await this.model.executeAsync(inputs, this.outputName)) as tf.Tensor;
      if (output.shape.length !== 2 || output.shape[0] !== rows) {
        throw new Error(`the graph returned shape [${output.shape.join(', ')}] for ${rows} rows`);
      }
      return (await output.data()) as Float32Array;
    } finally {
      inputs.indices.dispose();
      inputs.values.dispose();
      output?.dispose();
    }
  }

  stats(): GraphStats {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes, wasmBytes: gemm?.memoryBytes ?? 0, fastKernels: this.fastKernels };
  }

  dispose(): void {
    this.model.dispose();
  }
}
