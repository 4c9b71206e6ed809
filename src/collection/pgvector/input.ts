/**
 * Validation of documents, ids, metadata and vectors for the pgvector store: the embedded store's rules
 * (collection.ts, same messages and codes) plus PostgreSQL's one extra limit: text, text[] and jsonb
 * cannot hold the NUL character (U+0000), so an id, text or metadata string containing it is rejected
 * with INVALID_ARGUMENT before anything is written (the embedded SQLite store accepts it).
 */
import { createHash } from 'node:crypto';
import { BiencoderError } from '../../errors.ts';
import type { Encoder } from '../../encoders/encoder.ts';
import type { IndexMetric } from '../../index/vector-index.ts';
import type { Matrix } from '../../matrix.ts';
import type { EncoderDescriptor } from '../collection.ts';
import type { EncoderIdentity } from '../manifest.ts';

export const MAX_ID_LENGTH = 1024;
export const MAX_K = 100_000;
const MAX_METADATA_DEPTH = 64;
const NUL = '\u0000';

export function invalid(message: string, details?: Record<string, unknown>): BiencoderError {
  return new BiencoderError('INVALID_ARGUMENT', message, details ? { details } : {});
}

function noNul(s: string, where: string): void {
  if (s.includes(NUL)) throw invalid(`${where} contains a NUL character (U+0000), which PostgreSQL text and jsonb cannot store`);
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function checkId(id: unknown, where: string): string {
  if (typeof id !== 'string') throw invalid(`${where}: id must be a string, got ${id === null ? 'null' : typeof id}`);
  if (id.length === 0) throw invalid(`${where}: id is empty`);
  if (id.length > MAX_ID_LENGTH) throw invalid(`${where}: id is longer than ${MAX_ID_LENGTH} characters`);
  if (!id.isWellFormed()) throw invalid(`${where}: id ${JSON.stringify(id)} contains a lone surrogate (not valid Unicode)`);
  noNul(id, `${where}: id`);
  return id;
}

export function checkIds(ids: unknown): string[] {
  if (!Array.isArray(ids)) throw invalid(`ids must be an array of strings, got ${typeof ids}`);
  return ids.map((id, i) => checkId(id, `ids[${i}]`));
}

function checkJson(v: unknown, where: string, depth: number): void {
  if (depth > MAX_METADATA_DEPTH) throw invalid(`${where}: metadata nested deeper than ${MAX_METADATA_DEPTH} levels`);
  if (v === null || typeof v === 'boolean') return;
  if (typeof v === 'string') {
    if (!v.isWellFormed()) throw invalid(`${where}: string contains a lone surrogate`);
    noNul(v, where);
    return;
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw invalid(`${where}: ${v} is not a finite number (JSON has no NaN or Infinity)`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkJson(x, `${where}[${i}]`, depth + 1));
    return;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) throw invalid(`${where}: ${(v as object).constructor?.name ?? 'object'} is not a plain JSON object`);
    for (const [k, x] of Object.entries(v)) {
      if (!k.isWellFormed()) throw invalid(`${where}: key contains a lone surrogate`);
      noNul(k, `${where}: key`);
      checkJson(x, `${where}.${k}`, depth + 1);
    }
    return;
  }
  throw invalid(`${where}: ${typeof v} is not a JSON value`);
}

/** The metadata as JSON text ('{}' when undefined), validated. */
export function metadataJson(metadata: unknown, where: string): string {
  if (metadata === undefined) return '{}';
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw invalid(`${where}: metadata must be a plain object, got ${metadata === null ? 'null' : Array.isArray(metadata) ? 'an array' : typeof metadata}`);
  }
  checkJson(metadata, `${where}.metadata`, 0);
  return JSON.stringify(metadata);
}

export function checkText(text: unknown, where: string, allowEmpty: boolean): string {
  if (typeof text !== 'string') throw invalid(`${where}: text must be a string, got ${text === null ? 'null' : typeof text}`);
  if (!text.isWellFormed()) throw invalid(`${where}: text contains a lone surrogate (not valid Unicode)`);
  if (!allowEmpty && text.trim() === '') throw new BiencoderError('EMPTY_INPUT', `${where}: text is empty or whitespace only`, { details: { at: where } });
  noNul(text, `${where}: text`);
  return text;
}

/** Rejects duplicate ids within one batch. */
export function checkUnique(ids: readonly string[]): void {
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    const j = seen.get(id);
    if (j !== undefined) throw invalid(`id ${JSON.stringify(id)} appears twice in one batch (positions ${j} and ${i}); each id may appear once per call`, { id, positions: [j, i] });
    seen.set(id, i);
  });
}

export function checkVector(v: unknown, dims: number, where: string, metric: IndexMetric): Float32Array {
  if (!(v instanceof Float32Array) && !Array.isArray(v)) throw invalid(`${where}: vector must be a Float32Array or an array of numbers`);
  const arr = v as ArrayLike<number>;
  if (arr.length !== dims) throw new BiencoderError('DIMENSION_MISMATCH', `${where}: vector has ${arr.length} dims, the collection holds ${dims}-d vectors`);
  const out = Float32Array.from(arr);
  let nonZero = false;
  for (let i = 0; i < dims; i++) {
    if (!Number.isFinite(out[i])) throw invalid(`${where}: vector[${i}] is ${String(arr[i])}, not a finite f32`);
    if (out[i] !== 0) nonZero = true;
  }
  if (!nonZero && metric === 'cosine') throw invalid(`${where}: the zero vector has no cosine similarity`);
  return out;
}

export function checkEmbeddings(m: Matrix, rows: number, dims: number): void {
  if (m.rows !== rows || m.dims !== dims || m.data.length < rows * dims) {
    throw new BiencoderError('DIMENSION_MISMATCH', `the encoder returned ${m.rows}x${m.dims} vectors for ${rows} texts, expected ${rows}x${dims}`);
  }
  for (let i = 0; i < rows * dims; i++) {
    if (!Number.isFinite(m.data[i])) throw new BiencoderError('INFERENCE_FAILED', `the encoder returned a non-finite value for text ${Math.floor(i / dims)}`);
  }
}

export function isEncoder(e: unknown): e is Encoder {
  return typeof e === 'object' && e !== null && typeof (e as Encoder).encode === 'function';
}

/** The identity of an encoder or descriptor, as the manifest stores it (the embedded store's rules). */
export function identityOf(encoder: Encoder | EncoderDescriptor): EncoderIdentity {
  const e = encoder as Partial<Encoder> & EncoderDescriptor;
  if (typeof e !== 'object' || e === null || typeof e.modelId !== 'string' || e.modelId === '') {
    throw new BiencoderError('INVALID_ARGUMENT', 'encoder must be an Encoder or { modelId, dims }');
  }
  if (!Number.isInteger(e.dims) || e.dims <= 0) throw new BiencoderError('INVALID_ARGUMENT', `encoder dims must be a positive integer, got ${String(e.dims)}`);
  const prompts: Record<string, string> = {};
  for (const [role, p] of Object.entries(e.prompts ?? {})) if (typeof p === 'string') prompts[role] = p;
  return {
    modelId: e.modelId,
    revision: e.revision ?? null,
    dims: e.dims,
    normalized: e.normalized ?? false,
    similarity: e.similarity ?? 'cosine',
    prompts,
  };
}
