/**
 * LlamaIndex.TS `BaseVectorStore` over any biencoder collection (directory or pgvector), a thin class over
 * the retrieval pipeline: mode 'default' searches the query embedding (dense), 'hybrid' the query text
 * with the collection's hybrid ranking (BM25 fused with dense, where the store serves it). Nodes are
 * stored with their text (storesText), metadata, and their source document's id under `ref_doc_id`, which
 * delete(refDocId) removes by. LlamaIndex's MetadataFilters map onto biencoder's filter syntax.
 */
import { BaseVectorStore, FilterOperator, VectorStoreQueryMode, type MetadataFilter as LlamaFilter, type MetadataFilters, type VectorStoreBaseParams, type VectorStoreQuery, type VectorStoreQueryResult } from '@llamaindex/core/vector-store';
import { MetadataMode, TextNode, type BaseNode } from '@llamaindex/core/schema';
import type { CollectionApi } from '../../collection/collection-api.ts';
import type { Metadata, MetadataFilter } from '../../collection/filter.ts';
import { BiencoderError } from '../../errors.ts';
import { Retriever } from '../../retriever/retriever.ts';

/** The metadata key that holds a node's source document id. */
export const REF_DOC_ID_KEY = 'ref_doc_id';

export interface BiencoderLlamaVectorStoreOptions extends VectorStoreBaseParams {
  /** The collection; the caller closes it. */
  readonly collection: CollectionApi;
}

export class BiencoderLlamaVectorStore extends BaseVectorStore<CollectionApi> {
  storesText = true;
  readonly collection: CollectionApi;
  readonly #retriever: Retriever;

  constructor(options: BiencoderLlamaVectorStoreOptions) {
    super(options);
    if (options?.collection === undefined) throw new BiencoderError('INVALID_ARGUMENT', 'BiencoderLlamaVectorStore needs { collection }');
    this.collection = options.collection;
    this.#retriever = new Retriever({ collection: options.collection });
  }

  client(): CollectionApi {
    return this.collection;
  }

  /** Stores nodes with their embeddings (computed by the index's embedding model) and text. */
  async add(nodes: BaseNode[]): Promise<string[]> {
    if (nodes.length === 0) return [];
    const docs = nodes.map((node) => {
      const vector = node.getEmbedding();
      const refDocId = node.sourceNode?.nodeId;
      return {
        id: node.id_,
        vector,
        text: node.getContent(MetadataMode.NONE),
        metadata: { ...(node.metadata as Metadata), ...(refDocId === undefined ? {} : { [REF_DOC_ID_KEY]: refDocId }) },
      };
    });
    await this.collection.upsertVectors(docs);
    return docs.map((d) => d.id);
  }

  /** Deletes every node of a source document. */
  async delete(refDocId: string): Promise<void> {
    if (typeof refDocId !== 'string' || refDocId === '') throw new BiencoderError('INVALID_ARGUMENT', 'delete needs a ref doc id');
    await this.collection.deleteWhere({ [REF_DOC_ID_KEY]: refDocId });
  }

  async query(query: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    const filter = query.filters === undefined ? undefined : toBiencoderFilter(query.filters);
    const k = query.similarityTopK;
    let searched: string | Float32Array;
    let mode: 'dense' | 'hybrid';
    if (query.mode === VectorStoreQueryMode.HYBRID) {
      if (query.queryStr === undefined) throw new BiencoderError('INVALID_ARGUMENT', 'hybrid queries need queryStr');
      searched = query.queryStr;
      mode = 'hybrid';
    } else if (query.mode === VectorStoreQueryMode.DEFAULT) {
      // A collection with a query adapter embeds the query text itself, through the adapter; else LlamaIndex's embedding is searched.
      const throughAdapter = query.queryStr !== undefined && this.collection.queryAdapter !== undefined && this.collection.encoder !== undefined;
      if (!throughAdapter && query.queryEmbedding === undefined) throw new BiencoderError('INVALID_ARGUMENT', 'default queries need queryEmbedding');
      searched = throughAdapter ? query.queryStr! : Float32Array.from(query.queryEmbedding!);
      mode = 'dense';
    } else {
      throw new BiencoderError('UNSUPPORTED', `query mode ${String(query.mode)} is not supported: use default (dense) or hybrid`);
    }
    const docIds = query.docIds === undefined ? undefined : { [REF_DOC_ID_KEY]: { $in: query.docIds } };
    const combined = filter !== undefined && docIds !== undefined ? { $and: [filter, docIds] } : (filter ?? docIds);
    const result = await this.#retriever.retrieve(searched, { k, mode, results: 'chunks', rerank: false, ...(combined === undefined ? {} : { filter: combined as MetadataFilter }) });
    return {
      nodes: result.hits.map((h) => new TextNode({ id_: h.id, text: h.text, metadata: h.metadata as Record<string, unknown> })),
      similarities: result.hits.map((h) => h.score),
      ids: result.hits.map((h) => h.id),
    };
  }
}

const OPERATORS: Partial<Record<`${FilterOperator}`, string>> = {
  [FilterOperator.NE]: '$ne',
  [FilterOperator.GT]: '$gt',
  [FilterOperator.GTE]: '$gte',
  [FilterOperator.LT]: '$lt',
  [FilterOperator.LTE]: '$lte',
  [FilterOperator.IN]: '$in',
  [FilterOperator.NIN]: '$nin',
};

/** LlamaIndex MetadataFilters as biencoder's filter; operators without an equivalent are UNSUPPORTED. */
export function toBiencoderFilter(filters: MetadataFilters): MetadataFilter {
  const parts = filters.filters.map((f: LlamaFilter): MetadataFilter => {
    if (f.operator === FilterOperator.EQ) return { [f.key]: f.value as never };
    if (f.operator === FilterOperator.IS_EMPTY) return { [f.key]: { $exists: false } };
    const op = OPERATORS[f.operator];
    if (op === undefined) throw new BiencoderError('UNSUPPORTED', `LlamaIndex filter operator ${JSON.stringify(f.operator)} has no biencoder equivalent (==, !=, >, >=, <, <=, in, nin, is_empty)`);
    return { [f.key]: { [op]: f.value } } as MetadataFilter;
  });
  if (parts.length === 1) return parts[0];
  return (filters.condition === 'or' ? { $or: parts } : { $and: parts }) as MetadataFilter;
}
