import type { EncodeOptions, Embeddings, Encoder } from '../../src/encoders/encoder.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { syntheticModel } from '../helpers/synthetic.ts';
import { rng as prng } from '../helpers/prng.ts';
import { DelegatingEncoder } from '../../src/encoders/delegating-encoder.ts';
export { prng };
export { rejectsWith } from '../helpers/error-codes.ts';


/** n text documents d0..d{n-1} with metadata { i, even }. */
export const textDocs = (n: number): { id: string; text: string; metadata: { i: number; even: boolean } }[] =>
  Array.from({ length: n }, (_, i) => ({ id: `d${i}`, text: `document ${i}: ${['cats', 'dogs', 'birds', 'fish'][i % 4]} and ${(i * 7919) % 1000} things`, metadata: { i, even: i % 2 === 0 } }));

/** A deterministic unit vector for (seed, i). */
export function unitVector(dims: number, seed: number, i: number): Float32Array {
  const r = prng(seed * 1_000_003 + i);
  const v = new Float32Array(dims);
  let s = 0;
  for (let j = 0; j < dims; j++) {
    v[j] = r() * 2 - 1;
    s += v[j] * v[j];
  }
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < dims; j++) v[j] *= inv;
  return v;
}

/** Loads a tiny synthetic ONNX model (32-d, hundreds of texts per second). */
export async function tinyEncoder(root: string, name = 'tiny', seed = 42): Promise<Encoder> {
  return loadOnnxEncoder(await syntheticModel(root, name, { tiny: true, seed }));
}

/** Wraps an encoder, counting the texts it embeds per role; texts containing `failOn` make encode() throw. */
export class CountingEncoder extends DelegatingEncoder {
  documents = 0;
  queries = 0;
  calls = 0;
  failOn: string | undefined;

  override async encode(texts: readonly string[], options?: EncodeOptions): Promise<Embeddings> {
    this.calls++;
    if (this.failOn !== undefined && texts.some((t) => t.includes(this.failOn!))) throw new Error(`refusing to embed a text containing ${this.failOn}`);
    if (options?.role === 'query') this.queries += texts.length;
    else this.documents += texts.length;
    return this.inner.encode(texts, options);
  }

}
