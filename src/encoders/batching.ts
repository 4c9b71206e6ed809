import { BiencoderError } from '../errors.ts';

/** Checks a batch size option: a positive integer (INVALID_ARGUMENT otherwise). */
export function checkBatchSize(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new BiencoderError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${n}`);
  return n;
}

/**
 * Indices of the token sequences, longest first (ties keep input order), so that consecutive slices of it
 * make batches that are each padded only to their own longest sequence.
 */
export function longestFirst(sequences: readonly { readonly ids: ArrayLike<number> }[]): number[] {
  return Array.from(sequences.keys()).sort((a, b) => sequences[b].ids.length - sequences[a].ids.length || a - b);
}
