/**
 * A collection as the document space of adapter training (train-query-adapter.ts: DocumentSpace): the
 * stored vectors by id, and the collection's own dense search (its index, exact or HNSW), so that
 * validation measures what searches will get. Judged document ids are stored ids; in a chunked
 * collection a document is found through its chunks (hits count for their parent document), and its
 * first chunk (`id#0`) stands for it as a training positive.
 */
import type { CollectionApi } from '../collection/collection-api.ts';
import { normalizeRows, type Matrix } from '../matrix.ts';
import type { DocumentSpace } from './train-query-adapter.ts';

const GET_BATCH = 1000;

/** The document a hit belongs to: its chunk's parent, or itself. */
function documentOf(hit: { id: string; metadata?: Record<string, unknown> }): string {
  const chunk = hit.metadata?._chunk as { parent?: unknown } | undefined;
  return typeof chunk?.parent === 'string' ? chunk.parent : hit.id;
}

export function collectionSpace(collection: CollectionApi): DocumentSpace {
  return {
    async vectors(ids: readonly string[]) {
      const found: string[] = [];
      const rows: Float32Array[] = [];
      for (let i = 0; i < ids.length; i += GET_BATCH) {
        const part = ids.slice(i, i + GET_BATCH);
        const stored = await collection.get(part, { vectors: true });
        const missing = part.filter((_, j) => stored[j] === undefined);
        const firstChunks = missing.length === 0 ? [] : await collection.get(missing.map((id) => `${id}#0`), { vectors: true });
        const chunkOf = new Map(missing.map((id, j) => [id, firstChunks[j]]));
        part.forEach((id, j) => {
          const doc = stored[j] ?? chunkOf.get(id);
          if (doc?.vector === undefined) return;
          found.push(id);
          rows.push(doc.vector);
        });
      }
      const dims = collection.dims;
      const data = new Float32Array(rows.length * dims);
      rows.forEach((v, i) => data.set(v, i * dims));
      const matrix: Matrix = { data, rows: rows.length, dims };
      // Training scores cosines (the adapted query is unit length): unit document vectors make them so.
      if (collection.metric === 'cosine') normalizeRows(matrix);
      return { matrix, found };
    },
    async search(queries: Matrix, k: number) {
      // chunks of one document share it: fetch more, keep each document once
      const hits = await collection.searchBatch(queries, { k: k * 4, mode: 'dense' });
      return hits.map((list) => [...new Set(list.map(documentOf))].slice(0, k));
    },
  };
}
