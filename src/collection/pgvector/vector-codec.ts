/**
 * Vectors over the PostgreSQL wire. Going in, a vector is pgvector's text literal '[x,y,...]' with
 * every f32 written exactly (a JavaScript number holding an f32 prints a decimal that parses back to
 * the same f32). Coming out, vectors are read as `vector_send(embedding::vector)`, pgvector's binary
 * form (int16 dims, int16 unused, big-endian float4s): bit-exact, with no decimal round trip. A
 * halfvec column is cast to vector first, so its f16 values come back as the f32s they equal.
 */
import { BiencoderError } from '../../errors.ts';

export function toVectorLiteral(v: Float32Array): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i === 0 ? '' : ',') + String(v[i]);
  return `${s}]`;
}

/** Decodes vector_send() bytes. */
export function fromVectorSend(bytes: Buffer, dims: number, id: string): Float32Array {
  if (!Buffer.isBuffer(bytes) || bytes.byteLength !== 4 + 4 * dims || bytes.readInt16BE(0) !== dims) {
    throw new BiencoderError('COLLECTION_CORRUPT', `the stored vector of ${JSON.stringify(id)} is not a ${dims}-d vector`);
  }
  const out = new Float32Array(dims);
  for (let i = 0; i < dims; i++) out[i] = bytes.readFloatBE(4 + 4 * i);
  return out;
}

/** The vector_send() bytes of a vector (what the migration checksum hashes on both sides). */
export function toVectorSend(v: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(4 + 4 * v.length);
  out.writeInt16BE(v.length, 0);
  out.writeInt16BE(0, 2);
  for (let i = 0; i < v.length; i++) out.writeFloatBE(v[i], 4 + 4 * i);
  return out;
}

/**
 * The nearest IEEE binary16 value of x (ties to even), as a number: what a halfvec column stores for
 * an f32 component (pgvector rejects values beyond the f16 range, ±65504). Subnormals are kept.
 */
export function roundToF16(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // guard log2 rounding
  else if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const q = a / ulp;
  const floor = Math.floor(q);
  const frac = q - floor;
  const r = frac > 0.5 ? floor + 1 : frac < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
  return Math.sign(x) * r * ulp;
}
