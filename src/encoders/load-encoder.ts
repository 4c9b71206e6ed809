import type { Encoder } from './encoder.ts';
import { loadOnnxEncoder, type OnnxEncoderOptions } from './onnx/onnx-encoder.ts';
import { loadUseLite } from './use-lite/index.ts';

/** The embedded default: Universal Sentence Encoder lite, bundled with the package. */
export const DEFAULT_MODEL = 'use-lite';

export type LoadEncoderOptions = OnnxEncoderOptions;

/**
 * Loads an encoder by name: 'use-lite' (the bundled default), a local sentence-transformers
 * ONNX directory, or a hub id `org/name[@revision]`.
 */
export async function loadEncoder(model: string = DEFAULT_MODEL, options: LoadEncoderOptions = {}): Promise<Encoder> {
  if (model === DEFAULT_MODEL) return loadUseLite({ batchSize: options.batchSize });
  return loadOnnxEncoder(model, options);
}
