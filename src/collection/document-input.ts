/**
 * Validation of the documents, ids, metadata, vectors and queries given to a collection, shared by
 * the embedded store (collection.ts) and the pgvector store (pgvector/pgvector-collection.ts): one set
 * of rules, messages and error codes, which every door goes through (the library, `biencoder index`
 * through ingest, the HTTP server), and which the CLI's validating first pass applies early
 * (ingest/source-document.ts). A store with a stricter limit on the strings it can hold passes a
 * StringRule (pgvector: no U+0000), applied to every id, text, metadata key and metadata string after
 * the common checks of that value.
 */
import { createHash } from 'node:crypto';
import { chunkId, parseChunkId } from '../chunking/chunker.ts';
import { CHUNK_METADATA_KEY, chunkMetadataOf } from '../chunking/group-by-document.ts';
import { BiencoderError } from '../errors.ts';
import type { Encoder } from '../encoders/encoder.ts';
import { wellFormedText } from '../encoders/text-input.ts';
import { MAX_EF } from '../index/validate.ts';
import type { IndexMetric } from '../index/vector-index.ts';
import type { Matrix } from '../matrix.ts';
import { describeIdentity, identityMismatch, type EncoderIdentity } from './manifest.ts';
import type { DocumentInput, EncoderDescriptor, SearchOptions, VectorDocumentInput } from './collection.ts';
import type { Metadata } from './filter.ts';
import type { QueryAdapter } from '../tune/query-adapter.ts';

/** Longest id of a stored row, in UTF-16 code units: a document's own id, or a chunk's `parent#n`. */
export const MAX_ID_LENGTH = 1024;
/**
 * Longest id of a document (UTF-16 code units), at every door: it leaves room for the `#n` of its
 * chunks (n has at most 16 digits), so that any document accepted can be chunked.
 */
export const MAX_DOCUMENT_ID_LENGTH = 1000;
const MAX_K = 100_000;
const MAX_METADATA_DEPTH = 64;
/** A key that sets an object's prototype wherever it is assigned: refused in metadata (and anywhere in an HTTP body). */
export const PROTO_KEY = '__proto__';

/** The message refusing a `__proto__` key found in the object at `where`. */
export function protoKeyMessage(where: string): string {
  return `${where}: the key "${PROTO_KEY}" is not allowed (it would set the prototype of whatever object it is copied into)`;
}

/** A store's extra rule for the strings it stores: throws (INVALID_ARGUMENT) to reject `s`; `label` names it in messages. */
export type StringRule = (s: string, label: string) => void;

const anyString: StringRule = () => undefined;

export function invalid(message: string, details?: Record<string, unknown>): BiencoderError {
  return new BiencoderError('INVALID_ARGUMENT', message, details ? { details } : {});
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The id of a stored row (what get and delete take). Lone surrogates are refused: an id is never changed silently. */
function checkId(id: unknown, where: string, rule: StringRule = anyString): string {
  if (typeof id !== 'string') throw invalid(`${where}: id must be a string, got ${id === null ? 'null' : typeof id}`);
  if (id.length === 0) throw invalid(`${where}: id is empty`);
  if (id.length > MAX_ID_LENGTH) throw invalid(`${where}: id is longer than ${MAX_ID_LENGTH} characters`);
  if (!id.isWellFormed()) throw invalid(`${where}: id ${JSON.stringify(id)} contains a lone surrogate (not valid Unicode)`);
  rule(id, `${where}: id`);
  return id;
}

/**
 * Why a string cannot be a document's own id (undefined when it can): blank, longer than
 * MAX_DOCUMENT_ID_LENGTH, or ending in `#<n>`, which is reserved for the ids of chunks (a document
 * `a#1` would be taken for, overwritten and deleted as a chunk of `a`).
 */
export function documentIdProblem(id: string, label = 'the document id'): string | undefined {
  if (id.trim() === '') return `${label} must be a non-empty string, got ${JSON.stringify(id)}`;
  if (id.length > MAX_DOCUMENT_ID_LENGTH) return `${label} is ${id.length} characters long; the limit is ${MAX_DOCUMENT_ID_LENGTH} (room is left for the "#<n>" of its chunks)`;
  if (parseChunkId(id) !== undefined) return `${label} ${JSON.stringify(id)} ends with "#<number>", which is reserved for the ids of chunks`;
  return undefined;
}

/** Why metadata cannot be a document's own (undefined when it can): the `_chunk` key is reserved for chunk positions. */
export function documentMetadataProblem(metadata: Readonly<Record<string, unknown>>): string | undefined {
  if (Object.hasOwn(metadata, CHUNK_METADATA_KEY)) return `metadata.${CHUNK_METADATA_KEY} is reserved for chunk positions (rows written by chunked ingest)`;
  return undefined;
}

/**
 * The reserved names of chunks, the same rule at every door: a document may not take an id ending in
 * `#<n>` or the metadata key `_chunk`. Only writers of chunk rows (chunked ingest) pass `chunkRows`,
 * and then a row with `_chunk` must be the chunk it describes: its id is `parent#index` and its parent
 * a valid document id (so no row can pose as a chunk of another document). Copies of stored rows
 * (`storedRows`) skip this: they were accepted when written, possibly before these rules.
 */
function checkReservedNames(id: string, metadata: Readonly<Record<string, unknown>> | undefined, where: string, chunkRows: boolean): void {
  if (chunkRows && metadata !== undefined && Object.hasOwn(metadata, CHUNK_METADATA_KEY)) {
    const chunk = chunkMetadataOf(metadata as Metadata);
    if (chunk === undefined) throw invalid(`${where}: metadata.${CHUNK_METADATA_KEY} is not a chunk position { parent, index, start, end }`);
    const parentProblem = documentIdProblem(chunk.parent, `metadata.${CHUNK_METADATA_KEY}.parent: the parent`);
    if (parentProblem !== undefined) throw invalid(`${where}: ${parentProblem}`);
    const expected = chunkId(chunk.parent, chunk.index);
    if (id !== expected) throw invalid(`${where}: the id ${JSON.stringify(id)} is not the id of the chunk it describes (${JSON.stringify(expected)})`);
    return;
  }
  const problem = documentIdProblem(id) ?? (metadata === undefined ? undefined : documentMetadataProblem(metadata));
  if (problem !== undefined) throw invalid(`${where}: ${problem}`);
}

export function checkIds(ids: unknown, rule: StringRule = anyString): string[] {
  if (!Array.isArray(ids)) throw invalid(`ids must be an array of strings, got ${typeof ids}`);
  return ids.map((id, i) => checkId(id, `ids[${i}]`, rule));
}

/** `stored`: a stored row's metadata, accepted when written: the `__proto__` key, refused since, is kept. */
function checkJson(v: unknown, where: string, depth: number, rule: StringRule, stored = false): void {
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
    v.forEach((x, i) => checkJson(x, `${where}[${i}]`, depth + 1, rule, stored));
    return;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) throw invalid(`${where}: ${(v as object).constructor?.name ?? 'object'} is not a plain JSON object`);
    for (const [k, x] of Object.entries(v)) {
      if (k === PROTO_KEY && !stored) throw invalid(protoKeyMessage(where));
      if (!k.isWellFormed()) throw invalid(`${where}: key contains a lone surrogate`);
      rule(k, `${where}: key`);
      checkJson(x, `${where}.${k}`, depth + 1, rule, stored);
    }
    return;
  }
  throw invalid(`${where}: ${typeof v} is not a JSON value`);
}

/**
 * Checks metadata (a plain JSON object: finite numbers, no lone surrogates, no `__proto__` key, at most
 * MAX_METADATA_DEPTH levels); `where` names it in messages (e.g. "docs[3].metadata").
 */
export function checkMetadata(metadata: unknown, where: string, rule: StringRule = anyString, stored = false): Readonly<Record<string, unknown>> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw invalid(`${where} must be a plain object, got ${metadata === null ? 'null' : Array.isArray(metadata) ? 'an array' : typeof metadata}`);
  }
  checkJson(metadata, where, 0, rule, stored);
  return metadata as Readonly<Record<string, unknown>>;
}

/** The metadata as JSON text ('{}' when undefined), validated. */
function metadataJson(metadata: unknown, where: string, rule: StringRule = anyString, stored = false): string {
  if (metadata === undefined) return '{}';
  return JSON.stringify(checkMetadata(metadata, `${where}.metadata`, rule, stored));
}

/** A text to store or query: a string, not blank unless allowEmpty; returned with lone surrogates as U+FFFD (wellFormedText). */
export function checkText(text: unknown, where: string, allowEmpty: boolean, rule: StringRule = anyString): string {
  if (typeof text !== 'string') throw invalid(`${where}: text must be a string, got ${text === null ? 'null' : typeof text}`);
  const clean = wellFormedText(text);
  if (!allowEmpty && clean.trim() === '') throw new BiencoderError('EMPTY_INPUT', `${where}: text is empty or whitespace only`, { details: { at: where } });
  rule(clean, `${where}: text`);
  return clean;
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

/**
 * A zero vector has no cosine similarity (no direction): refused for cosine collections, in stored
 * vectors and in queries alike (every score would be 0 or NaN). Under dot and l2 it is a vector like any other.
 */
function checkNotZero(v: Float32Array, where: string, metric: IndexMetric): void {
  if (metric !== 'cosine') return;
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return;
  throw invalid(`${where}: the zero vector has no cosine similarity`);
}

export function checkVector(v: unknown, dims: number, where: string, metric: IndexMetric): Float32Array {
  if (!(v instanceof Float32Array) && !Array.isArray(v)) throw invalid(`${where}: vector must be a Float32Array or an array of numbers`);
  const arr = v as ArrayLike<number>;
  if (arr.length !== dims) throw new BiencoderError('DIMENSION_MISMATCH', `${where}: vector has ${arr.length} dims, the collection holds ${dims}-d vectors`);
  const out = Float32Array.from(arr);
  for (let i = 0; i < dims; i++) {
    if (!Number.isFinite(out[i])) throw invalid(`${where}: vector[${i}] is ${String(arr[i])}, not a finite f32`);
  }
  checkNotZero(out, where, metric);
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
    ...(e.truncateDim === undefined ? {} : { truncateDim: e.truncateDim }),
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

export interface PrepareOptions {
  /** The store's extra rule for strings (see StringRule). */
  readonly rule?: StringRule;
  /** The batch may hold chunk rows (WriteOptions.chunkRows): see checkReservedNames. */
  readonly chunkRows?: boolean;
  /** The batch copies stored rows (WriteOptions.storedRows): their shape is checked, not the rules for names. */
  readonly storedRows?: boolean;
}

/** The id and metadata JSON of one row, validated (the reserved names of chunks included, unless the row is a stored one). */
function prepareRow(d: DocumentInput | VectorDocumentInput, where: string, options: PrepareOptions): { id: string; metadata: string } {
  const rule = options.rule ?? anyString;
  const stored = options.storedRows === true;
  const id = checkId(d.id, where, rule);
  const metadata = metadataJson(d.metadata, where, rule, stored);
  if (!stored) checkReservedNames(id, d.metadata as Readonly<Record<string, unknown>> | undefined, `${where} (id ${JSON.stringify(id)})`, options.chunkRows === true);
  return { id, metadata };
}

/** Validates an upsert() batch: an array of { id, text, metadata? } with unique ids. */
export function prepareTextDocuments(docs: readonly DocumentInput[], options: PrepareOptions = {}): PreparedDocument[] {
  if (!Array.isArray(docs)) throw invalid('upsert expects an array of { id, text, metadata? }');
  const prepared: PreparedDocument[] = docs.map((d: DocumentInput, i) => {
    const where = `docs[${i}]`;
    if (typeof d !== 'object' || d === null) throw invalid(`${where} must be an object { id, text, metadata? }`);
    const { id, metadata } = prepareRow(d, where, options);
    const text = checkText(d.text, `${where} (id ${JSON.stringify(id)})`, false, options.rule);
    return { id, text, hash: sha256(text), metadata };
  });
  checkUnique(prepared.map((p) => p.id));
  return prepared;
}

/** Validates an upsertVectors() batch: an array of { id, vector, text?, metadata? } with unique ids and dims-long vectors. */
export function prepareVectorDocuments(
  docs: readonly VectorDocumentInput[], dims: number, metric: IndexMetric, options: PrepareOptions = {},
): PreparedDocument[] {
  if (!Array.isArray(docs)) throw invalid('upsertVectors expects an array of { id, vector, text?, metadata? }');
  const prepared: PreparedDocument[] = docs.map((d: VectorDocumentInput, i) => {
    const where = `docs[${i}]`;
    if (typeof d !== 'object' || d === null) throw invalid(`${where} must be an object { id, vector, text?, metadata? }`);
    const { id, metadata } = prepareRow(d, where, options);
    const text = checkText(d.text ?? '', `${where} (id ${JSON.stringify(id)})`, true, options.rule);
    const vector = checkVector(d.vector, dims, `${where} (id ${JSON.stringify(id)})`, metric);
    return { id, text, hash: sha256(text), metadata, vector };
  });
  checkUnique(prepared.map((p) => p.id));
  return prepared;
}

/** The k of a search (default 10), after checking k and ef (1..MAX_EF whatever the index kind, so a search works on every store alike). */
export function searchK(options: SearchOptions): number {
  const k = options.k ?? 10;
  if (!Number.isInteger(k) || k < 0 || k > MAX_K) throw invalid(`k must be an integer in 0..${MAX_K}, got ${String(k)}`);
  if (options.ef !== undefined && (!Number.isInteger(options.ef) || options.ef <= 0 || options.ef > MAX_EF)) throw invalid(`ef must be an integer in 1..${MAX_EF}, got ${String(options.ef)}`);
  return k;
}

/** A query for the keyword and hybrid modes with its embedding computed elsewhere: the text feeds BM25, the vector the dense side. */
export interface TextWithVector {
  readonly text: string;
  readonly vector: Float32Array;
}

export function isTextWithVector(q: unknown): q is TextWithVector {
  return typeof q === 'object' && q !== null && !(q instanceof Float32Array) && typeof (q as TextWithVector).text === 'string' && (q as TextWithVector).vector instanceof Float32Array;
}

/** The queries of a keyword or hybrid search, checked: their texts, and the vectors given with some of them. */
export interface TextQueries {
  readonly texts: string[];
  readonly vectors: (Float32Array | undefined)[];
}

/**
 * Checks the queries of a keyword or hybrid search (both stores): texts, or { text, vector } with the
 * vector checked as a dense query would be (keyword search does not read it, but a wrong one is a caller's bug).
 */
export function checkTextQueries(queries: unknown, mode: string, dims: number, metric: IndexMetric, rule: StringRule = anyString): TextQueries {
  if (!Array.isArray(queries) || queries.some((q) => typeof q !== 'string' && !isTextWithVector(q))) {
    throw invalid(`${mode} search takes text queries (or { text, vector }) only (BM25 needs words); use mode 'dense' to search with vectors`);
  }
  const list = queries as readonly (string | TextWithVector)[];
  return {
    texts: list.map((q, i) => checkText(typeof q === 'string' ? q : q.text, `queries[${i}]`, false, rule)),
    vectors: list.map((q, i) => (typeof q === 'string' ? undefined : checkVector(q.vector, dims, `queries[${i}].vector`, metric))),
  };
}

/** Refuses { text, vector } queries in a dense search. */
export function checkDenseQueries(queries: unknown): void {
  if (Array.isArray(queries) && queries.some((q) => isTextWithVector(q))) {
    throw invalid("{ text, vector } queries are for the keyword and hybrid modes; dense search takes the text or the vector");
  }
}

interface QueryMatrixOptions {
  /** The query adapter applied to the embeddings of text queries (not to vectors given); asked for only when there are texts. */
  readonly adapter?: () => QueryAdapter | undefined;
  readonly dims: number;
  /** The collection's metric: a zero query vector is refused where a zero stored vector is (checkNotZero). */
  readonly metric: IndexMetric;
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
    for (let r = 0; r < m.rows; r++) checkNotZero(m.data.subarray(r * dims, (r + 1) * dims), `query matrix row ${r}`, options.metric);
    return m;
  }
  const list = queries as readonly (string | Float32Array)[];
  const data = new Float32Array(list.length * dims);
  const texts: string[] = [];
  const textRows: number[] = [];
  list.forEach((q, i) => {
    if (typeof q === 'string') {
      texts.push(checkText(q, `queries[${i}]`, false, options.rule));
      textRows.push(i);
    } else if (q instanceof Float32Array) {
      data.set(checkVector(q, dims, `queries[${i}]`, options.metric), i * dims);
    } else {
      throw invalid(`queries[${i}] must be a string or a Float32Array`);
    }
  });
  if (texts.length > 0) {
    const encoder = options.encoder;
    if (encoder === undefined) throw options.encoderRequired();
    const m = await encoder.encode(texts, { role: 'query', signal });
    checkEmbeddings(m, texts.length, dims);
    const adapter = options.adapter?.();
    const embedded = adapter === undefined ? m : adapter.apply({ data: m.data, rows: texts.length, dims });
    textRows.forEach((row, i) => data.set(embedded.data.subarray(i * dims, (i + 1) * dims), row * dims));
  }
  return { data, rows: list.length, dims };
}
