/**
 * Whole documents out of a collection of chunks (the convention of src/chunking/group-by-document.ts:
 * chunk ids `parent#n` with n = 0, 1, ..., metadata._chunk = { parent, index, start, end }).
 *
 * A chunked document's text is reassembled from its chunks at their offsets. The chunker keeps
 * every non-whitespace character in some chunk, so only whitespace between chunks is unknown; it is
 * filled with spaces of the same length, which keeps every chunk's offsets exact (the search page
 * highlights a chunk inside its document with them).
 */
import type { StoredDocument } from '../collection/collection.ts';
import type { CollectionApi } from '../collection/collection-api.ts';
import type { Metadata } from '../collection/filter.ts';
import { chunkId } from './chunker.ts';
import { chunkMetadataOf, parentMetadata } from './group-by-document.ts';

/** Chunk ids probed per round. */
const PROBE = 64;
/** Most chunks reassembled into one document. */
const MAX_CHUNKS = 100_000;

export interface ChunkRef {
  readonly id: string;
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

export interface WholeDocument {
  readonly id: string;
  readonly text: string;
  readonly metadata: Metadata;
  /** The chunks the document was reassembled from (absent for a document stored whole). */
  readonly chunks?: readonly ChunkRef[];
}

/** The stored chunks of a parent document, in order (empty when it has none). */
export async function chunksOf(collection: CollectionApi, parent: string): Promise<{ doc: StoredDocument; ref: ChunkRef }[]> {
  const out: { doc: StoredDocument; ref: ChunkRef }[] = [];
  for (let from = 0; from < MAX_CHUNKS; from += PROBE) {
    const ids = Array.from({ length: PROBE }, (_, i) => chunkId(parent, from + i));
    const docs = await collection.get(ids);
    for (const doc of docs) {
      if (doc === undefined) return out;
      const meta = chunkMetadataOf(doc.metadata);
      if (meta === undefined || meta.parent !== parent) return out;
      out.push({ doc, ref: { id: doc.id, index: meta.index, start: meta.start, end: meta.end } });
    }
  }
  return out;
}

/** Reassembles a text from chunks at their offsets (unknown gaps become spaces). */
export function reassemble(chunks: readonly { text: string; start: number; end: number }[]): string {
  let length = 0;
  for (const c of chunks) length = Math.max(length, c.end);
  const parts = new Array<string>(length).fill(' ');
  for (const c of chunks) {
    if (c.end - c.start !== c.text.length) continue; // not the convention: skip rather than misplace
    for (let i = 0; i < c.text.length; i++) parts[c.start + i] = c.text[i];
  }
  return parts.join('');
}

/** A document by id: stored whole, or reassembled from its chunks; undefined when neither exists. */
export async function wholeDocument(collection: CollectionApi, id: string): Promise<WholeDocument | undefined> {
  const [stored] = await collection.get([id]);
  if (stored !== undefined && chunkMetadataOf(stored.metadata) === undefined) return { id, text: stored.text, metadata: stored.metadata };
  const chunks = await chunksOf(collection, id);
  if (chunks.length === 0) return stored === undefined ? undefined : { id, text: stored.text, metadata: stored.metadata };
  return {
    id,
    text: reassemble(chunks.map((c) => ({ text: c.doc.text, start: c.ref.start, end: c.ref.end }))),
    metadata: parentMetadata(chunks[0].doc.metadata),
    chunks: chunks.map((c) => c.ref),
  };
}

/**
 * Deletes documents by id, and with `chunks` (default true) every stored chunk of each (`id#0`, `id#1`, ...):
 * what deleting "a document" means to a user of a chunked collection. Returns how many rows were deleted.
 */
export async function deleteDocuments(collection: CollectionApi, ids: readonly string[], options: { readonly chunks?: boolean } = {}): Promise<number> {
  const all = new Set(ids);
  if (options.chunks ?? true) {
    for (const id of ids) for (const { ref } of await chunksOf(collection, id)) all.add(ref.id);
  }
  return collection.delete([...all]);
}
