/**
 * usearch's compiled binding, used directly rather than through its JS wrapper, because the wrapper
 * converts every input to Float32Array (so an i8 index could only take usearch's own f32->i8 cast,
 * which rescales each vector to unit length: right for cosine, wrong for dot and l2) and because its
 * exactSearch ignores a typed array's byteOffset (a subarray silently reads the buffer's first rows).
 * The binding is loaded the way the wrapper loads it (node-gyp-build on the package root), and its shape
 * is checked so that a usearch upgrade that changes it fails with a clear message.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { BiencoderError } from '../errors.ts';

/** [keys (rows x wanted), distances (rows x wanted), counts (rows)] */
export type NativeResult = [BigUint64Array, Float32Array, BigUint64Array];

export type NativeMetric = 'ip' | 'cos' | 'l2sq' | 'hamming';
export type NativeScalar = 'f32' | 'f16' | 'i8' | 'b1';

export interface NativeIndex {
  add(keys: BigUint64Array, vectors: Float32Array | Int8Array, threads: number): void;
  search(vectors: Float32Array | Int8Array, wanted: number, threads: number): NativeResult;
  contains(keys: BigUint64Array): boolean[];
  remove(keys: BigUint64Array): number[];
  dimensions(): number;
  connectivity(): number;
  size(): number;
  capacity(): number;
  save(path: string): void;
  load(path: string): void;
  view(path: string): void;
}

interface NativeModule {
  CompiledIndex: new (
    dims: number, metric: NativeMetric, scalar: NativeScalar, connectivity: number,
    expansionAdd: number, expansionSearch: number, multi: boolean,
  ) => NativeIndex;
  exactSearch(
    dataset: Float32Array, queries: Float32Array, dims: number, wanted: number, metric: NativeMetric, threads: number,
  ): NativeResult;
  version?: () => string;
}

let cached: NativeModule | undefined;

export function usearchNative(): NativeModule {
  if (cached) return cached;
  try {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('usearch');
    let root = dirname(entry);
    while (!existsSync(join(root, 'package.json')) || !existsSync(join(root, 'binding.gyp'))) {
      const up = dirname(root);
      if (up === root) throw new Error(`no usearch package root above ${entry}`);
      root = up;
    }
    const build = createRequire(entry)('node-gyp-build') as (dir: string) => unknown;
    const mod = build(root) as NativeModule;
    if (typeof mod?.CompiledIndex !== 'function' || typeof mod.exactSearch !== 'function') {
      throw new Error('the usearch binding does not export CompiledIndex and exactSearch');
    }
    const probe = mod.CompiledIndex.prototype as unknown as Record<string, unknown>;
    for (const m of ['add', 'search', 'remove', 'contains', 'size', 'save', 'load', 'view']) {
      if (typeof probe[m] !== 'function') throw new Error(`the usearch binding's CompiledIndex has no ${m}()`);
    }
    cached = mod;
    return mod;
  } catch (cause) {
    throw new BiencoderError('INVALID_ARGUMENT', `cannot load usearch's native binding: ${(cause as Error).message}`, { cause });
  }
}

/**
 * usearch exact search over `dataset` rows for `queries` rows. Both must start at byteOffset 0 of their
 * buffers (the binding reads from the buffer start); pass views made with `new Float32Array(buf, 0, n)`.
 */
export function nativeExactSearch(
  dataset: Float32Array, queries: Float32Array, dims: number, wanted: number, metric: NativeMetric, threads: number,
): NativeResult {
  if (dataset.byteOffset !== 0 || queries.byteOffset !== 0) throw new Error('nativeExactSearch needs arrays at byteOffset 0');
  return usearchNative().exactSearch(dataset, queries, dims, wanted, metric, threads);
}
