import type { Encoder } from './encoder.ts';
import { loadOnnxEncoder, type OnnxEncoderOptions } from './onnx/onnx-encoder.ts';
import { loadUseLite } from './use-lite/index.ts';
import { withTruncateDim } from './truncated-encoder.ts';

/** The embedded default: Universal Sentence Encoder lite, bundled with the package. */
export const DEFAULT_MODEL = 'use-lite';

export interface LoadEncoderOptions extends OnnxEncoderOptions {
  /** Matryoshka: keep the first truncateDim dimensions of each vector (renormalized when the model normalizes). */
  readonly truncateDim?: number;
}

/**
 * Loads an encoder by name: 'use-lite' (the bundled default), a local sentence-transformers
 * ONNX directory, or a hub id `org/name[@revision]`.
 */
export async function loadEncoder(model: string = DEFAULT_MODEL, options: LoadEncoderOptions = {}): Promise<Encoder> {
  const encoder = model === DEFAULT_MODEL ? await loadUseLite({ batchSize: options.batchSize }) : await loadOnnxEncoder(model, options);
  try {
    return withTruncateDim(encoder, options.truncateDim);
  } catch (error) {
    await encoder.close();
    throw error;
  }
}
