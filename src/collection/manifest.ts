/**
 * manifest.json: what a collection is (encoder identity, dims, metric, index spec, format version).
 * Written once at creation and atomically replaced (temporary file + rename) when updatedAt changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BiencoderError } from '../errors.ts';
import type { Metric, Prompts } from '../encoders/encoder.ts';
import type { IndexMetric } from '../index/vector-index.ts';
import { isAnalyzerLanguage, type AnalyzerSpec } from '../analysis/index.ts';
import { resolveIndexSpec, type IndexSpec } from './index-backend.ts';
import { writeFileAtomic } from './fs-util.ts';

export const MANIFEST_FILE = 'manifest.json';
export const DATABASE_FILE = 'collection.db';
export const LOCK_FILE = 'writer.lock';
export const MANIFEST_FORMAT = 'biencoder-collection';
export const FORMAT_VERSION = 1;

const METRICS: readonly Metric[] = ['dot', 'cosine', 'l2', 'manhattan'];
const INDEX_METRICS: readonly IndexMetric[] = ['cosine', 'dot', 'l2'];

/** What identifies the vectors of a model: two encoders with the same identity give the same document vectors. */
export interface EncoderIdentity {
  readonly modelId: string;
  /** null when the model has no known revision. */
  readonly revision: string | null;
  readonly dims: number;
  readonly normalized: boolean;
  readonly similarity: Metric;
  readonly prompts: Prompts;
  /** Matryoshka: the vectors are the model's first truncateDim dimensions (absent: the model's full size). */
  readonly truncateDim?: number;
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly formatVersion: number;
  readonly encoder: EncoderIdentity;
  readonly dims: number;
  readonly metric: IndexMetric;
  /** Whether stored vectors have unit L2 norm (the encoder's `normalized`). */
  readonly normalized: boolean;
  readonly index: IndexSpec;
  /**
   * The analyzer of keyword search (language, name, version). Absent in collections made before
   * analyzers: those are English, and get this recorded on their first writable open.
   */
  readonly keyword?: { readonly analyzer: AnalyzerSpec };
  /** The query adapter applied to text queries' embeddings (src/tune), when one was trained and kept. */
  readonly queryAdapter?: QueryAdapterRecord;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A collection's query adapter as its manifest records it. */
export interface QueryAdapterRecord {
  /** The adapter file (embedded store: in the collection directory; pgvector: a row of biencoder_query_adapters). */
  readonly file: string;
  /** sha256 (hex) of the adapter file's bytes. */
  readonly sha256: string;
  /** The encoder whose query vectors it maps: the collection's modelId and revision. */
  readonly baseModel: { readonly modelId: string; readonly revision: string | null };
  readonly rank: number;
  readonly createdAt: string;
  /** How it did on its validation queries (nDCG@10 without and with it), and how it was trained. */
  readonly validation?: Readonly<Record<string, unknown>>;
}

export function manifestPath(dir: string): string {
  return join(dir, MANIFEST_FILE);
}

export function writeManifest(dir: string, manifest: Manifest): void {
  writeFileAtomic(manifestPath(dir), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Reads and validates manifest.json: NOT_FOUND when absent, COLLECTION_CORRUPT when malformed, UNSUPPORTED_FORMAT when newer. */
export function readManifest(dir: string): Manifest {
  const path = manifestPath(dir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BiencoderError('NOT_FOUND', `no collection at ${dir} (${MANIFEST_FILE} is missing)`, { details: { dir } });
    }
    throw new BiencoderError('COLLECTION_CORRUPT', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BiencoderError('COLLECTION_CORRUPT', `${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return validateManifest(raw, path);
}

function corrupt(path: string, what: string): BiencoderError {
  return new BiencoderError('COLLECTION_CORRUPT', `${path}: ${what}`, { details: { path } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDims(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 65536;
}

export function validateManifest(raw: unknown, path = MANIFEST_FILE): Manifest {
  if (!isObject(raw)) throw corrupt(path, 'the manifest is not a JSON object');
  if (raw.format !== MANIFEST_FORMAT) throw corrupt(path, `format is ${JSON.stringify(raw.format)}, expected "${MANIFEST_FORMAT}"`);
  const version = raw.formatVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) throw corrupt(path, `formatVersion ${JSON.stringify(version)} is not a positive integer`);
  if (version > FORMAT_VERSION) {
    throw new BiencoderError('UNSUPPORTED_FORMAT', `${path} has format version ${version}; this biencoder reads up to ${FORMAT_VERSION} (upgrade biencoder)`, { details: { path, formatVersion: version } });
  }
  const enc = raw.encoder;
  if (!isObject(enc)) throw corrupt(path, 'encoder is missing');
  if (typeof enc.modelId !== 'string' || enc.modelId === '') throw corrupt(path, 'encoder.modelId is missing');
  if (enc.revision !== null && typeof enc.revision !== 'string') throw corrupt(path, 'encoder.revision must be a string or null');
  if (!isDims(enc.dims)) throw corrupt(path, 'encoder.dims is not a positive integer');
  if (typeof enc.normalized !== 'boolean') throw corrupt(path, 'encoder.normalized is not a boolean');
  if (!METRICS.includes(enc.similarity as Metric)) throw corrupt(path, `encoder.similarity ${JSON.stringify(enc.similarity)} is unknown`);
  if (!isObject(enc.prompts) || !Object.values(enc.prompts).every((p) => typeof p === 'string')) throw corrupt(path, 'encoder.prompts must map roles to strings');
  if (enc.truncateDim !== undefined && (!isDims(enc.truncateDim) || enc.truncateDim !== enc.dims)) throw corrupt(path, `encoder.truncateDim ${JSON.stringify(enc.truncateDim)} is not the encoder's dims ${String(enc.dims)}`);
  if (!isDims(raw.dims) || raw.dims !== enc.dims) throw corrupt(path, `dims ${JSON.stringify(raw.dims)} is not the encoder's ${enc.dims}`);
  if (!INDEX_METRICS.includes(raw.metric as IndexMetric)) throw corrupt(path, `metric ${JSON.stringify(raw.metric)} is unknown`);
  if (typeof raw.normalized !== 'boolean') throw corrupt(path, 'normalized is not a boolean');
  try {
    resolveIndexSpec(raw.index);
  } catch (error) {
    throw corrupt(path, `index ${JSON.stringify(raw.index)} is not a valid index spec (${(error as Error).message})`);
  }
  if (raw.keyword !== undefined) {
    const a = isObject(raw.keyword) ? raw.keyword.analyzer : undefined;
    if (!isObject(a) || typeof a.language !== 'string' || typeof a.name !== 'string' || typeof a.version !== 'number' || !Number.isInteger(a.version)) {
      throw corrupt(path, `keyword ${JSON.stringify(raw.keyword)} is not { analyzer: { language, name, version } }`);
    }
    if (!isAnalyzerLanguage(a.language)) {
      throw new BiencoderError('UNSUPPORTED_FORMAT', `${path}: keyword language ${JSON.stringify(a.language)} is not one this biencoder knows (upgrade biencoder)`, { details: { path } });
    }
  }
  if (raw.queryAdapter !== undefined) {
    const q = raw.queryAdapter;
    if (!isObject(q) || typeof q.file !== 'string' || !/^[\w.-]+$/.test(q.file) || typeof q.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(q.sha256)
      || !isObject(q.baseModel) || typeof q.baseModel.modelId !== 'string' || !isDims(q.rank) || typeof q.createdAt !== 'string') {
      throw corrupt(path, `queryAdapter ${JSON.stringify(raw.queryAdapter)} is not { file, sha256, baseModel, rank, createdAt }`);
    }
  }
  for (const t of ['createdAt', 'updatedAt'] as const) {
    if (typeof raw[t] !== 'string' || Number.isNaN(Date.parse(raw[t] as string))) throw corrupt(path, `${t} is not a date`);
  }
  return raw as unknown as Manifest;
}

/** A one-line description of an encoder identity for error messages. */
export function describeIdentity(id: EncoderIdentity): string {
  if (id.truncateDim !== undefined) return `${describeFull(id)} truncated to ${id.truncateDim} dimensions`;
  return describeFull(id);
}

function describeFull(id: EncoderIdentity): string {
  const prompt = id.prompts.document ? `, document prompt ${JSON.stringify(id.prompts.document)}` : '';
  return `${id.modelId}@${id.revision ?? '(no revision)'} (${id.dims}-d${id.normalized ? ', normalized' : ''}${prompt})`;
}

/**
 * Why two identities embed documents differently, or undefined when they agree: model id, revision,
 * dims, normalization and the document prompt. The query prompt does not touch stored vectors.
 */
export function identityMismatch(stored: EncoderIdentity, given: EncoderIdentity): string | undefined {
  const diffs: string[] = [];
  if (stored.modelId !== given.modelId) diffs.push('model id');
  if (stored.revision !== given.revision) diffs.push('revision');
  if (stored.dims !== given.dims) diffs.push('dims');
  if ((stored.truncateDim ?? null) !== (given.truncateDim ?? null)) diffs.push('truncateDim');
  if (stored.normalized !== given.normalized) diffs.push('normalization');
  if ((stored.prompts.document ?? '') !== (given.prompts.document ?? '')) diffs.push('document prompt');
  return diffs.length === 0 ? undefined : diffs.join(', ');
}
