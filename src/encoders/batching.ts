import { BiencoderError } from '../errors.ts';

/** Checks a count option (batchSize, maxBatchTokens, threads, ...): a positive integer (INVALID_ARGUMENT otherwise). */
export function checkPositiveInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new BiencoderError('INVALID_ARGUMENT', `${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
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
