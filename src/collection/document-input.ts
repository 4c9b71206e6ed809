/**
 * Validation of the documents, ids, metadata, vectors and queries given to a collection, shared by
 * the embedded store (collection.ts) and the pgvector store (pgvector/pgvector-collection.ts): one set
 * of rules, messages and error codes. A store with a stricter limit on the strings it can hold passes a
 * StringRule (pgvector: no U+0000), applied to every id, text, metadata key and metadata string after
 * the common checks of that value.
 */
import { createHash } from 'node:crypto';
import { BiencoderError } from '../errors.ts';
import type { Encoder } from '../encoders/encoder.ts';
import type { IndexMetric } from '../index/vector-index.ts';
import type { Matrix } from '../matrix.ts';
import { describeIdentity, identityMismatch, type EncoderIdentity } from './manifest.ts';
import type { DocumentInput, EncoderDescriptor, SearchOptions, VectorDocumentInput } from './collection.ts';

const MAX_ID_LENGTH = 1024;
const MAX_K = 100_000;
const MAX_METADATA_DEPTH = 64;

/** A store's extra rule for the strings it stores: throws (INVALID_ARGUMENT) to reject `s`; `label` names it in messages. */
export type StringRule = (s: string, label: string) => void;

const anyString: StringRule = () => undefined;

export function invalid(message: string, details?: Record<string, unknown>): BiencoderError {
  return new BiencoderError('INVALID_ARGUMENT', message, details ? { details } : {});
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function checkId(id: unknown, where: string, rule: StringRule = anyString): string {
  if (typeof id !== 'string') throw invalid(`${where}: id must be a string, got ${id === null ? 'null' : typeof id}`);
  if (id.length === 0) throw invalid(`${where}: id is empty`);
  if (id.length > MAX_ID_LENGTH) throw invalid(`${where}: id is longer than ${MAX_ID_LENGTH} characters`);
  if (!id.isWellFormed()) throw invalid(`${where}: id ${JSON.stringify(id)} contains a lone surrogate (not valid Unicode)`);
  rule(id, `${where}: id`);
  return id;
}

export function checkIds(ids: unknown, rule: StringRule = anyString): string[] {
  if (!Array.isArray(ids)) throw invalid(`ids must be an array of strings, got ${typeof ids}`);
  return ids.map((id, i) => checkId(id, `ids[${i}]`, rule));
}

function checkJson(v: unknown, where: string, depth: number, rule: StringRule): void {
  if (depth > MAX_METADATA_DEPTH) throw invalid(`${where}: metadata nested deeper than ${MAX_METADATA_DEPTH} levels`);
  if (v === null || typeof v === 'boolean') return;
  if (typeof v === 'string') {
    if (!v.isWellFormed()) throw invalid(`${where}: string contains a lone surrogate`);
    rule(v, where);
    return;
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw invalid(`${where}: ${v} is not a finite number (JSON has no NaN or Infinity)`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkJson(x, `${where}[${i}]`, depth + 1, rule));
    return;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) throw invalid(`${where}: ${(v as object).constructor?.name ?? 'object'} is not a plain JSON object`);
    for (const [k, x] of Object.entries(v)) {
      if (!k.isWellFormed()) throw invalid(`${where}: key contains a lone surrogate`);
      rule(k, `${where}: key`);
      checkJson(x, `${where}.${k}`, depth + 1, rule);
    }
    return;
  }
  throw invalid(`${where}: ${typeof v} is not a JSON value`);
}

/** The metadata as JSON text ('{}' when undefined), validated. */
function metadataJson(metadata: unknown, where: string, rule: StringRule = anyString): string {
  if (metadata === undefined) return '{}';
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw invalid(`${where}: metadata must be a plain object, got ${metadata === null ? 'null' : Array.isArray(metadata) ? 'an array' : typeof metadata}`);
  }
  checkJson(metadata, `${where}.metadata`, 0, rule);
  return JSON.stringify(metadata);
}

export function checkText(text: unknown, where: string, allowEmpty: boolean, rule: StringRule = anyString): string {
  if (typeof text !== 'string') throw invalid(`${where}: text must be a string, got ${text === null ? 'null' : typeof text}`);
  if (!text.isWellFormed()) throw invalid(`${where}: text contains a lone surrogate (not valid Unicode)`);
  if (!allowEmpty && text.trim() === '') throw new BiencoderError('EMPTY_INPUT', `${where}: text is empty or whitespace only`, { details: { at: where } });
  rule(text, `${where}: text`);
  return text;
}

/** Rejects duplicate ids within one batch (ambiguous: which version was meant?). */
function checkUnique(ids: readonly string[]): void {
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    const j = seen.get(id);
    if (j !== undefined) throw invalid(`id ${JSON.stringify(id)} appears twice in one batch (positions ${j} and ${i}); each id may appear once per call`, { id, positions: [j, i] });
    seen.set(id, i);
  });
}

function checkVector(v: unknown, dims: number, where: string, metric: IndexMetric): Float32Array {
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

/** The identity of an encoder or descriptor, as the manifest stores it. */
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

/**
 * Throws ENCODER_MISMATCH when the encoder a collection is opened with is not the model its vectors
 * came from. `at` names the collection in the message; `location` ({ dir } or { url }) goes into the details.
 */
export function checkEncoderMatches(stored: EncoderIdentity, encoder: Encoder, at: string, location: Record<string, string>): void {
  const given = identityOf(encoder);
  const why = identityMismatch(stored, given);
  if (why !== undefined) {
    throw new BiencoderError(
      'ENCODER_MISMATCH',
      `the collection at ${at} holds vectors of ${describeIdentity(stored)}, but it was opened with ${describeIdentity(given)} (different ${why}); vectors of two models are never mixed: open it with the same model, or create a new collection and re-embed`,
      { details: { ...location, collection: stored, given, differences: why } },
    );
  }
}

/** A validated document, ready to write: its metadata as JSON text, its vector once given or embedded. */
export interface PreparedDocument {
  readonly id: string;
  readonly text: string;
  readonly hash: Buffer;
  readonly metadata: string;
  /** Set for vectors given or computed. */
  vector?: Float32Array;
}

/** Validates an upsert() batch: an array of { id, text, metadata? } with unique ids. */
export function prepareTextDocuments(docs: readonly DocumentInput[], rule: StringRule = anyString): PreparedDocument[] {
  if (!Array.isArray(docs)) throw invalid('upsert expects an array of { id, text, metadata? }');
  const prepared: PreparedDocument[] = docs.map((d: DocumentInput, i) => {
    const where = `docs[${i}]`;
    if (typeof d !== 'object' || d === null) throw invalid(`${where} must be an object { id, text, metadata? }`);
    const id = checkId(d.id, where, rule);
    const text = checkText(d.text, `${where} (id ${JSON.stringify(id)})`, false, rule);
    return { id, text, hash: sha256(text), metadata: metadataJson(d.metadata, where, rule) };
  });
  checkUnique(prepared.map((p) => p.id));
  return prepared;
}

/** Validates an upsertVectors() batch: an array of { id, vector, text?, metadata? } with unique ids and dims-long vectors. */
export function prepareVectorDocuments(
  docs: readonly VectorDocumentInput[], dims: number, metric: IndexMetric, rule: StringRule = anyString,
): PreparedDocument[] {
  if (!Array.isArray(docs)) throw invalid('upsertVectors expects an array of { id, vector, text?, metadata? }');
  const prepared: PreparedDocument[] = docs.map((d: VectorDocumentInput, i) => {
    const where = `docs[${i}]`;
    if (typeof d !== 'object' || d === null) throw invalid(`${where} must be an object { id, vector, text?, metadata? }`);
    const id = checkId(d.id, where, rule);
    const text = checkText(d.text ?? '', `${where} (id ${JSON.stringify(id)})`, true, rule);
    const vector = checkVector(d.vector, dims, `${where} (id ${JSON.stringify(id)})`, metric);
    return { id, text, hash: sha256(text), metadata: metadataJson(d.metadata, where, rule), vector };
  });
  checkUnique(prepared.map((p) => p.id));
  return prepared;
}

/** The k of a search (default 10), after checking k and ef. */
export function searchK(options: SearchOptions): number {
  const k = options.k ?? 10;
  if (!Number.isInteger(k) || k < 0 || k > MAX_K) throw invalid(`k must be an integer in 0..${MAX_K}, got ${String(k)}`);
  if (options.ef !== undefined && (!Number.isInteger(options.ef) || options.ef <= 0)) throw invalid(`ef must be a positive integer, got ${String(options.ef)}`);
  return k;
}

interface QueryMatrixOptions {
  readonly dims: number;
  /** The encoder for text queries. */
  readonly encoder: Encoder | undefined;
  /** The error when there are text queries but no encoder. */
  readonly encoderRequired: () => BiencoderError;
  readonly signal?: AbortSignal;
  /** Applied to text queries (see StringRule). */
  readonly rule?: StringRule;
}

/** The queries of a search as one Matrix: a Matrix as given, or rows of vectors and embedded texts. */
export async function queryMatrix(queries: readonly (string | Float32Array)[] | Matrix, options: QueryMatrixOptions): Promise<Matrix> {
  const { dims, signal } = options;
  if (!Array.isArray(queries)) {
    const m = queries as Matrix;
    if (typeof m !== 'object' || m === null || !(m.data instanceof Float32Array)) throw invalid('queries must be an array of strings / Float32Arrays, or a Matrix');
    if (m.dims !== dims || m.data.length !== m.rows * dims) throw new BiencoderError('DIMENSION_MISMATCH', `query matrix is ${m.rows}x${m.dims}, the collection holds ${dims}-d vectors`);
    for (let i = 0; i < m.data.length; i++) if (!Number.isFinite(m.data[i])) throw invalid(`query matrix value ${i} is not finite`);
    return m;
  }
  const list = queries as readonly (string | Float32Array)[];
  const data = new Float32Array(list.length * dims);
  const texts: string[] = [];
  const textRows: number[] = [];
  list.forEach((q, i) => {
    if (typeof q === 'string') {
      checkText(q, `queries[${i}]`, false, options.rule);
      texts.push(q);
      textRows.push(i);
    } else if (q instanceof Float32Array) {
      data.set(checkVector(q, dims, `queries[${i}]`, 'dot'), i * dims);
    } else {
      throw invalid(`queries[${i}] must be a string or a Float32Array`);
    }
  });
  if (texts.length > 0) {
    const encoder = options.encoder;
    if (encoder === undefined) throw options.encoderRequired();
    const m = await encoder.encode(texts, { role: 'query', signal });
    checkEmbeddings(m, texts.length, dims);
    textRows.forEach((row, i) => data.set(m.data.subarray(i * dims, (i + 1) * dims), row * dims));
  }
  return { data, rows: list.length, dims };
}
