/** Evaluating search filters over the keys of a store. */
import { BiencoderError } from '../errors.ts';
import type { VectorSource } from './vector-store.ts';

export type KeyFilter = (key: bigint) => boolean;

export function checkFilter(filter: unknown): KeyFilter | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter !== 'function') throw new BiencoderError('INVALID_ARGUMENT', 'filter must be a function (key: bigint) => boolean');
  return filter as KeyFilter;
}

/** The rows (ascending) whose key passes the filter: one call per key. */
export function filterRows(source: VectorSource, filter: KeyFilter): Int32Array {
  const n = source.size;
  const keys = source.keys;
  const out = new Int32Array(n);
  let m = 0;
  for (let r = 0; r < n; r++) if (filter(keys[r])) out[m++] = r;
  return out.slice(0, m);
}

/**
 * The share of keys passing the filter, estimated on `sample` rows drawn with a fixed-seed PRNG
 * (not evenly spaced: a periodic filter such as key % 100 < 5 would alias with a fixed stride);
 * exact when the store is no larger than the sample.
 */
export function sampleSelectivity(source: VectorSource, filter: KeyFilter, sample: number): { passed: number; tested: number } {
  const n = source.size;
  const keys = source.keys;
  if (n <= sample) {
    let passed = 0;
    for (let r = 0; r < n; r++) if (filter(keys[r])) passed++;
    return { passed, tested: n };
  }
  let state = 0x9e3779b9;
  let passed = 0;
  for (let i = 0; i < sample; i++) {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    if (filter(keys[Math.floor(u * n)])) passed++;
  }
  return { passed, tested: sample };
}
