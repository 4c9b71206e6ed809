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

/**
 * The size of the next batch of a longest-first order whose first (longest) sequence has `longest` tokens:
 * at most `maxTexts`, at most `maxPositions` padded positions (size x longest), at most `remaining`, and at
 * least one. Capping the positions keeps a call's activations in the CPU caches.
 */
export function nextBatchSize(longest: number, remaining: number, maxTexts: number, maxPositions: number): number {
  return Math.max(1, Math.min(remaining, maxTexts, Math.floor(maxPositions / Math.max(1, longest))));
}
