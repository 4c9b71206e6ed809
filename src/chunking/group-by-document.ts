/**
 * Documents scored by their best chunk.
 *
 * Convention for chunks stored in a collection (what `biencoder index` writes):
 * - id: chunkId(parentId, index), i.e. `parent#n`;
 * - text: the chunk's text;
 * - metadata: { ...the parent's metadata, _chunk: { parent, index, start, end } } with UTF-16 offsets
 *   of the chunk in the parent's text.
 * A document that fits in one chunk may be stored under its own id without `_chunk`.
 */
import type { SearchHit, SearchOptions } from '../collection/collection.ts';
import type { CollectionApi } from '../collection/collection-api.ts';
import type { Metadata } from '../collection/filter.ts';
import { BiencoderError } from '../errors.ts';

/** The metadata key under which a stored chunk records where it comes from. */
export const CHUNK_METADATA_KEY = '_chunk';

/** The value of metadata._chunk on a stored chunk. */
export interface ChunkMetadata {
  /** The id of the document the chunk comes from. */
  readonly parent: string;
  /** Position of the chunk in its document, from 0. */
  readonly index: number;
  /** UTF-16 code unit offsets of the chunk in the document's text. */
  readonly start: number;
  readonly end: number;
}

/** A document found through its best-scoring chunk. */
export interface DocumentHit {
  /** The parent document id (the hit's own id for a document stored unchunked). */
  readonly id: string;
  /** The score of the document's best chunk. */
  readonly score: number;
  /** The text of the best chunk. */
  readonly text: string;
  /** The document's metadata (without _chunk). */
  readonly metadata: Metadata;
  /** The best chunk, for a chunked document. */
  readonly chunk?: { readonly id: string; readonly index: number; readonly start: number; readonly end: number };
}

/** The chunk metadata of a hit, when it is a well-formed stored chunk. */
export function chunkMetadataOf(metadata: Metadata): ChunkMetadata | undefined {
  const value = metadata[CHUNK_METADATA_KEY];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const m = value as Record<string, unknown>;
  if (typeof m.parent !== 'string' || m.parent === '') return undefined;
  for (const key of ['index', 'start', 'end'] as const) {
    if (typeof m[key] !== 'number' || !Number.isSafeInteger(m[key]) || (m[key] as number) < 0) return undefined;
  }
  return { parent: m.parent, index: m.index as number, start: m.start as number, end: m.end as number };
}

/** The metadata of a chunk's parent: the chunk's metadata without _chunk. */
export function parentMetadata(metadata: Metadata): Metadata {
  if (!(CHUNK_METADATA_KEY in metadata)) return metadata;
  const rest: Record<string, Metadata[string]> = {};
  for (const [key, value] of Object.entries(metadata)) if (key !== CHUNK_METADATA_KEY) rest[key] = value;
  return rest;
}

/** The document a hit stands for: its parent when it is a stored chunk (pass the chunk metadata when already read). */
export function documentHitOf(hit: SearchHit, chunk: ChunkMetadata | undefined = chunkMetadataOf(hit.metadata)): DocumentHit {
  return {
    id: chunk?.parent ?? hit.id,
    score: hit.score,
    text: hit.text,
    metadata: parentMetadata(hit.metadata),
    ...(chunk ? { chunk: { id: hit.id, index: chunk.index, start: chunk.start, end: chunk.end } } : {}),
  };
}

/**
 * Groups chunk hits by their parent document: each document is scored by its best chunk. Hits
 * are expected best first (as search() returns them); the result is in descending score order,
 * with at most k documents.
 */
export function groupByDocument(hits: readonly SearchHit[], k: number): DocumentHit[] {
  if (!Array.isArray(hits)) throw new BiencoderError('INVALID_ARGUMENT', 'groupByDocument expects an array of search hits');
  if (!Number.isInteger(k) || k < 0) throw new BiencoderError('INVALID_ARGUMENT', `k must be a non-negative integer, got ${String(k)}`);
  const best = new Map<string, DocumentHit>();
  for (const hit of hits) {
    const chunk = chunkMetadataOf(hit.metadata);
    const id = chunk?.parent ?? hit.id;
    const seen = best.get(id);
    if (seen !== undefined && seen.score >= hit.score) continue;
    best.set(id, documentHitOf(hit, chunk));
  }
  return [...best.values()].sort((a, b) => b.score - a.score).slice(0, k);
}

/** The most chunks one search fetches (the collection's k limit). */
const MAX_FETCH = 100_000;

export interface SearchDocumentsOptions extends SearchOptions {
  /** Chunks fetched per wanted document on the first try (default 4); doubled until k documents are found or the collection is exhausted. */
  readonly overfetch?: number;
}

/**
 * Searches a collection of chunks and returns documents scored by their best chunk. Fetches
 * k x overfetch chunks, and more (doubling) while fewer than k distinct documents come back and
 * the collection holds more matching chunks.
 */
export async function searchDocuments(collection: CollectionApi, query: string | Float32Array, options: SearchDocumentsOptions = {}): Promise<DocumentHit[]> {
  const k = options.k ?? 10;
  if (!Number.isInteger(k) || k < 0) throw new BiencoderError('INVALID_ARGUMENT', `k must be a non-negative integer, got ${String(k)}`);
  const overfetch = options.overfetch ?? 4;
  if (!Number.isInteger(overfetch) || overfetch < 1) throw new BiencoderError('INVALID_ARGUMENT', `overfetch must be a positive integer, got ${String(overfetch)}`);
  if (k === 0) return [];
  const { overfetch: _ignored, ...searchOptions } = options;
  void _ignored;
  // Embed a text query once; the retries search with its vector.
  let vector: Float32Array | string = query;
  // (keyword and hybrid searches need the text itself, and embed it inside the collection)
  if (typeof query === 'string' && (options.mode === undefined || options.mode === 'dense')) {
    if (collection.encoder !== undefined) {
      const m = await collection.embedQueries([query], { adapter: options.adapter, signal: options.signal });
      vector = m.data.slice(0, m.dims);
    }
  }
  // No count() first (it visits every page of a b-tree: 6 ms cold, 0.1 ms warm for a million rows
  // here): a search that returns fewer hits than asked for says the collection is exhausted as well.
  let fetch = Math.min(k * overfetch, MAX_FETCH);
  for (;;) {
    const hits = await collection.search(vector, { ...searchOptions, k: fetch });
    const docs = groupByDocument(hits, k);
    if (docs.length >= k || hits.length < fetch || fetch >= MAX_FETCH) return docs;
    fetch = Math.min(fetch * 2, MAX_FETCH);
  }
}
