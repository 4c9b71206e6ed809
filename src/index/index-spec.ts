/**
 * IndexSpec: the serializable description of an index (what a collection stores in its manifest), with
 * defaults, validation, and the factory / loader that turn it into a VectorIndex.
 */
import { BiencoderError } from '../errors.ts';
import { FlatIndex } from './flat-index.ts';
import { HnswIndex, QUANTIZATIONS, resolveHnswParams, type Quantization } from './hnsw-index.ts';
import { checkDims, checkMetric } from './validate.ts';
import type { IndexMetric, VectorIndex } from './vector-index.ts';

export type IndexSpec =
  | { readonly kind: 'flat' }
  | {
      readonly kind: 'hnsw';
      readonly connectivity: number;
      readonly expansionAdd: number;
      readonly expansionSearch: number;
      readonly quantization: Quantization;
      readonly rescore: number;
    };

/** A partial spec as a user writes it: only `kind` is required. */
export type IndexSpecInput =
  | { readonly kind: 'flat' }
  | { readonly kind: 'hnsw'; readonly connectivity?: number; readonly expansionAdd?: number; readonly expansionSearch?: number; readonly quantization?: Quantization; readonly rescore?: number };

export const DEFAULT_INDEX_SPEC: IndexSpec = { kind: 'flat' };

const HNSW_FIELDS = new Set(['kind', 'connectivity', 'expansionAdd', 'expansionSearch', 'quantization', 'rescore']);

/** Validates a spec (INVALID_ARGUMENT naming the field) and fills in the defaults. */
export function resolveIndexSpec(input: unknown = DEFAULT_INDEX_SPEC): IndexSpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new BiencoderError('INVALID_ARGUMENT', 'an index spec must be an object such as { kind: "flat" } or { kind: "hnsw", ... }');
  }
  const spec = input as Record<string, unknown>;
  if (spec.kind === 'flat') {
    const extra = Object.keys(spec).filter((k) => k !== 'kind');
    if (extra.length) throw new BiencoderError('INVALID_ARGUMENT', `a flat index spec takes no options; unknown: ${extra.join(', ')}`);
    return { kind: 'flat' };
  }
  if (spec.kind === 'hnsw') {
    const extra = Object.keys(spec).filter((k) => !HNSW_FIELDS.has(k));
    if (extra.length) throw new BiencoderError('INVALID_ARGUMENT', `unknown hnsw index option(s): ${extra.join(', ')}`);
    if (spec.quantization !== undefined && !QUANTIZATIONS.includes(spec.quantization as Quantization)) {
      throw new BiencoderError('INVALID_ARGUMENT', `quantization must be one of ${QUANTIZATIONS.join(', ')}, got ${JSON.stringify(spec.quantization)}`);
    }
    const p = resolveHnswParams(spec);
    return { kind: 'hnsw', ...p };
  }
  throw new BiencoderError('INVALID_ARGUMENT', `unknown index kind ${JSON.stringify(spec.kind)}; use "flat" or "hnsw"`);
}

export interface IndexShape {
  readonly dims: number;
  readonly metric: IndexMetric;
  /** Native threads (0 = all cores); FlatIndex defaults to 1, HnswIndex to 0. */
  readonly threads?: number;
}

export function createIndex(spec: IndexSpecInput | IndexSpec, shape: IndexShape): VectorIndex {
  const s = resolveIndexSpec(spec);
  const dims = checkDims(shape?.dims);
  const metric = checkMetric(shape?.metric);
  if (s.kind === 'flat') return new FlatIndex({ dims, metric, threads: shape.threads });
  return new HnswIndex({ dims, metric, ...s, threads: shape.threads });
}

export interface LoadIndexOptions {
  /** HNSW only: memory-map read-only (add/remove throw READ_ONLY). */
  readonly view?: boolean;
  /** Expected dims / metric: DIMENSION_MISMATCH / INVALID_ARGUMENT when the file differs. */
  readonly dims?: number;
  readonly metric?: IndexMetric;
  readonly threads?: number;
}

/**
 * Opens an index saved at `path` with save(). The spec must be the one it was created with (a kind or
 * parameter mismatch is INDEX_CORRUPT: the file is not what the manifest says); search-time settings
 * (expansionSearch, rescore) are taken from the spec.
 */
export function loadIndex(path: string, spec: IndexSpecInput | IndexSpec, options: LoadIndexOptions = {}): VectorIndex {
  const s = resolveIndexSpec(spec);
  if (typeof path !== 'string' || path === '') throw new BiencoderError('INVALID_ARGUMENT', 'loadIndex needs a file path');
  const expect = { dims: options.dims, metric: options.metric, threads: options.threads };
  if (s.kind === 'flat') {
    if (options.view) throw new BiencoderError('INVALID_ARGUMENT', 'view is for hnsw indexes; a flat index is read into memory');
    return FlatIndex.load(path, expect);
  }
  const open = { ...expect, expansionSearch: s.expansionSearch, rescore: s.rescore };
  const index = options.view ? HnswIndex.view(path, open) : HnswIndex.load(path, open);
  if (index.connectivity !== s.connectivity || index.expansionAdd !== s.expansionAdd || index.quantization !== s.quantization) {
    index.close();
    throw new BiencoderError('INDEX_CORRUPT', `${path} was built with connectivity ${index.connectivity}, expansionAdd ${index.expansionAdd}, quantization ${index.quantization}, but the spec says ${s.connectivity}, ${s.expansionAdd}, ${s.quantization}`, { details: { path } });
  }
  return index;
}
