/**
 * A document read from an input file, before chunking, and the conversion of one JSON record
 * (a BEIR corpus line or a plain { id, text, metadata } object) into one.
 */
import { MAX_DOCUMENT_ID_LENGTH, checkMetadata, documentIdProblem, documentMetadataProblem } from '../collection/document-input.ts';
import type { JsonValue, Metadata } from '../collection/filter.ts';
import { wellFormedText } from '../encoders/text-input.ts';
import { BiencoderError, isBiencoderError } from '../errors.ts';

export interface SourceDocument {
  readonly id: string;
  readonly text: string;
  readonly metadata: Metadata;
  /** Where it was read: "file" or "file:line" (for error messages). */
  readonly origin: string;
}

/** The longest document id (the collections' rule, stated in document-input.ts); a chunk id adds "#n". */
export { MAX_DOCUMENT_ID_LENGTH };

/** INVALID_INPUT naming where the bad input is. */
export function invalidInput(origin: string, message: string, cause?: unknown): BiencoderError {
  return new BiencoderError('INVALID_INPUT', `${origin}: ${message}`, { details: { origin }, ...(cause === undefined ? {} : { cause }) });
}

/**
 * Checks a document id by the collections' rule (documentIdProblem: not blank, not too long, not shaped
 * like a chunk id), here rather than at the write, so that the validating first pass names file:line.
 * A lone surrogate is refused, as collections do: an id is never changed silently.
 */
export function checkDocumentId(id: unknown, origin: string): string {
  if (typeof id === 'number' && Number.isSafeInteger(id)) id = String(id);
  if (typeof id !== 'string') throw invalidInput(origin, `the document id must be a non-empty string, got ${JSON.stringify(id)}`);
  const problem = documentIdProblem(id);
  if (problem !== undefined) throw invalidInput(origin, problem);
  if (!id.isWellFormed()) throw invalidInput(origin, `the document id ${JSON.stringify(id)} contains a lone surrogate (not valid Unicode)`);
  return id;
}

/** Checks metadata by the collections' rules (checkMetadata, documentMetadataProblem), as INVALID_INPUT naming the origin. */
function checkDocumentMetadata(metadata: Record<string, unknown>, origin: string, id: string): void {
  try {
    checkMetadata(metadata, 'metadata');
  } catch (error) {
    if (isBiencoderError(error, 'INVALID_ARGUMENT')) throw invalidInput(origin, `document ${JSON.stringify(id)}: ${error.message}`, error);
    throw error;
  }
  const problem = documentMetadataProblem(metadata);
  if (problem !== undefined) throw invalidInput(origin, `document ${JSON.stringify(id)}: ${problem}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fields of a record that are not copied into metadata. */
const RECORD_FIELDS = new Set(['_id', 'id', 'text', 'metadata']);

/**
 * One JSON record as a document:
 * - BEIR corpus: { "_id", "title"?, "text", ...other } -> text "title\n\ntext" (just text when the title is empty);
 * - or { "id", "text", "metadata"? }.
 * Metadata: the record's "metadata" object, plus "title" and every other field. Lone surrogates (JSON
 * escapes such as "\ud800") in the text and the title become U+FFFD (wellFormedText), as every door does.
 */
export function recordToDocument(record: unknown, origin: string): SourceDocument {
  if (!isPlainObject(record)) throw invalidInput(origin, 'expected a JSON object with "_id" (or "id") and "text"');
  const rawId = record._id !== undefined ? record._id : record.id;
  if (rawId === undefined) throw invalidInput(origin, 'the record has no "_id" or "id" field');
  const id = checkDocumentId(rawId, origin);
  if (typeof record.text !== 'string') throw invalidInput(origin, `the "text" field of document ${JSON.stringify(id)} is missing or not a string`);
  if (record.metadata !== undefined && !isPlainObject(record.metadata)) throw invalidInput(origin, `the "metadata" field of document ${JSON.stringify(id)} must be a JSON object`);
  if (record.title !== undefined && typeof record.title !== 'string') throw invalidInput(origin, `the "title" field of document ${JSON.stringify(id)} must be a string`);
  const metadata: Record<string, JsonValue> = { ...((record.metadata as Record<string, JsonValue> | undefined) ?? {}) };
  for (const [key, value] of Object.entries(record)) {
    if (RECORD_FIELDS.has(key)) continue;
    // defineProperty: a "__proto__" field stays a key (and is refused below) instead of setting the prototype.
    Object.defineProperty(metadata, key, { value: key === 'title' ? wellFormedText(value as string) : value, enumerable: true, writable: true, configurable: true });
  }
  checkDocumentMetadata(metadata, origin, id);
  const title = typeof record.title === 'string' ? wellFormedText(record.title).trim() : '';
  const body = wellFormedText(record.text);
  const text = title === '' ? body : body.trim() === '' ? title : `${title}\n\n${body}`;
  return { id, text, metadata, origin };
}
