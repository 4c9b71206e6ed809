/**
 * A document read from an input file, before chunking, and the conversion of one JSON record
 * (a BEIR corpus line or a plain { id, text, metadata } object) into one.
 */
import { parseChunkId } from '../chunking/chunker.ts';
import { CHUNK_METADATA_KEY } from '../chunking/group-by-document.ts';
import type { JsonValue, Metadata } from '../collection/filter.ts';
import { BiencoderError } from '../errors.ts';

export interface SourceDocument {
  readonly id: string;
  readonly text: string;
  readonly metadata: Metadata;
  /** Where it was read: "file" or "file:line" (for error messages). */
  readonly origin: string;
}

/** A collection's id limit; a chunk id adds "#n". */
export const MAX_DOCUMENT_ID_LENGTH = 1000;

/** INVALID_INPUT naming where the bad input is. */
export function invalidInput(origin: string, message: string, cause?: unknown): BiencoderError {
  return new BiencoderError('INVALID_INPUT', `${origin}: ${message}`, { details: { origin }, ...(cause === undefined ? {} : { cause }) });
}

/** Checks a document id: a non-empty string, not too long, not shaped like a chunk id. */
export function checkDocumentId(id: unknown, origin: string): string {
  if (typeof id === 'number' && Number.isSafeInteger(id)) id = String(id);
  if (typeof id !== 'string' || id.trim() === '') throw invalidInput(origin, `the document id must be a non-empty string, got ${JSON.stringify(id)}`);
  if (id.length > MAX_DOCUMENT_ID_LENGTH) throw invalidInput(origin, `the document id is ${id.length} characters long; the limit is ${MAX_DOCUMENT_ID_LENGTH}`);
  if (parseChunkId(id) !== undefined) {
    throw invalidInput(origin, `the document id ${JSON.stringify(id)} ends with "#<number>", which is reserved for the ids of chunks`);
  }
  return id;
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
 * Metadata: the record's "metadata" object, plus "title" and every other field.
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
  for (const [key, value] of Object.entries(record)) if (!RECORD_FIELDS.has(key)) metadata[key] = value as JsonValue;
  if (CHUNK_METADATA_KEY in metadata) throw invalidInput(origin, `metadata.${CHUNK_METADATA_KEY} of document ${JSON.stringify(id)} is reserved for chunk positions`);
  const title = typeof record.title === 'string' ? record.title.trim() : '';
  const text = title === '' ? record.text : record.text.trim() === '' ? title : `${title}\n\n${record.text}`;
  return { id, text, metadata, origin };
}
