/**
 * LangChain.js `VectorStore` over any biencoder collection (directory or pgvector). A thin class over the
 * retrieval pipeline: text searches (similaritySearch, asRetriever) run Retriever.retrieve with the
 * collection's default ranking (hybrid where the store serves it); vector searches are dense; filters are
 * biencoder's filter syntax ({ lang: 'en', year: { $gte: 2020 } }). Each stored row is one LangChain
 * Document: a document added here, or a chunk of a file indexed by `biencoder index` (its metadata then
 * holds `_chunk: { parent, index, start, end }`).
 */
import { randomUUID } from 'node:crypto';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { maximalMarginalRelevance } from '@langchain/core/utils/math';
import { VectorStore, type MaxMarginalRelevanceSearchOptions } from '@langchain/core/vectorstores';
import type { CollectionApi } from '../../collection/collection-api.ts';
import type { SearchMode } from '../../collection/collection.ts';
import type { Metadata, MetadataFilter } from '../../collection/filter.ts';
import { deleteDocuments } from '../../chunking/whole-document.ts';
import { BiencoderError } from '../../errors.ts';
import type { CrossEncoder } from '../../rerank/cross-encoder.ts';
import { Retriever, type PipelineHit } from '../../retriever/retriever.ts';

export interface BiencoderVectorStoreArgs {
  /** The collection (Collection.open/create, openCollection, createCollection); the caller closes it. */
  readonly collection: CollectionApi;
  /** Ranking of text queries. Default: the collection's default (hybrid where served, else dense). */
  readonly mode?: SearchMode;
  /** A cross-encoder that reranks text searches' top `candidates` (the pipeline's stage). */
  readonly reranker?: CrossEncoder;
  /** Candidates the reranker scores. Default 100. */
  readonly candidates?: number;
  /** HNSW search breadth for every search. Default: the index's. */
  readonly ef?: number;
}

export class BiencoderVectorStore extends VectorStore {
  declare FilterType: MetadataFilter;
  readonly collection: CollectionApi;
  readonly retriever: Retriever;
  readonly ef: number | undefined;

  _vectorstoreType(): string {
    return 'biencoder';
  }

  constructor(embeddings: EmbeddingsInterface, args: BiencoderVectorStoreArgs) {
    super(embeddings, args);
    if (args?.collection === undefined) throw new BiencoderError('INVALID_ARGUMENT', 'BiencoderVectorStore needs { collection }');
    this.collection = args.collection;
    this.ef = args.ef;
    this.retriever = new Retriever({
      collection: args.collection,
      ...(args.mode === undefined ? {} : { mode: args.mode }),
      ...(args.reranker === undefined ? {} : { reranker: args.reranker }),
      ...(args.candidates === undefined ? {} : { candidates: args.candidates }),
    });
  }

  /**
   * Stores documents: embedded by the collection's own encoder when it was opened with one (its document
   * prompt; unchanged texts are not re-embedded), else by this store's embeddings. `ids` (or each
   * document's `id`) name them; a document with neither gets a random UUID. Returns the ids.
   */
  async addDocuments(documents: DocumentInterface[], options?: { ids?: string[] }): Promise<string[]> {
    const ids = idsFor(documents, options?.ids);
    if (this.collection.encoder !== undefined) {
      await this.collection.upsert(documents.map((d, i) => ({ id: ids[i], text: d.pageContent, metadata: metadataOf(d) })));
      return ids;
    }
    return this.addVectors(await this.embeddings.embedDocuments(documents.map((d) => d.pageContent)), documents, { ids });
  }

  /** Stores documents with vectors computed elsewhere (by this collection's model). */
  async addVectors(vectors: number[][], documents: DocumentInterface[], options?: { ids?: string[] }): Promise<string[]> {
    if (!Array.isArray(vectors) || vectors.length !== documents.length) {
      throw new BiencoderError('INVALID_ARGUMENT', `addVectors needs one vector per document: ${Array.isArray(vectors) ? vectors.length : typeof vectors} vectors for ${documents.length} documents`);
    }
    const ids = idsFor(documents, options?.ids);
    await this.collection.upsertVectors(documents.map((d, i) => ({ id: ids[i], vector: vectors[i], text: d.pageContent, metadata: metadataOf(d) })));
    return ids;
  }

  /** Deletes documents by id, with their chunks (`id#0`, `id#1`, ... as `biencoder index` stores them). */
  override async delete(params?: { ids?: string[] }): Promise<void> {
    if (!Array.isArray(params?.ids)) throw new BiencoderError('INVALID_ARGUMENT', 'delete needs { ids: string[] }');
    await deleteDocuments(this.collection, params.ids);
  }

  async similaritySearchVectorWithScore(query: number[], k: number, filter?: MetadataFilter): Promise<[DocumentInterface, number][]> {
    const result = await this.retriever.retrieve(Float32Array.from(query), this.#request(k, filter, { rerank: false }));
    return result.hits.map((h) => [toDocument(h), h.score]);
  }

  /**
   * A text query through the pipeline: the collection's default ranking (and the reranker, when given). A
   * collection opened without an encoder is searched with the query embedded by this store's embeddings (dense).
   */
  override async similaritySearchWithScore(query: string, k = 4, filter?: MetadataFilter): Promise<[DocumentInterface, number][]> {
    if (this.collection.encoder === undefined) return this.similaritySearchVectorWithScore(await this.embeddings.embedQuery(query), k, filter);
    const result = await this.retriever.retrieve(query, this.#request(k, filter, {}));
    return result.hits.map((h) => [toDocument(h), h.score]);
  }

  override async similaritySearch(query: string, k = 4, filter?: MetadataFilter): Promise<DocumentInterface[]> {
    return (await this.similaritySearchWithScore(query, k, filter)).map(([doc]) => doc);
  }

  /**
   * Maximal marginal relevance: the top `fetchK` by dense similarity, then `k` of them picked for
   * relevance to the query and difference from each other (`lambda` 1: relevance only; 0: diversity only).
   */
  override async maxMarginalRelevanceSearch(query: string, options: MaxMarginalRelevanceSearchOptions<MetadataFilter>): Promise<DocumentInterface[]> {
    const k = options.k;
    const fetchK = options.fetchK ?? 20;
    if (!Number.isInteger(fetchK) || fetchK < k) throw new BiencoderError('INVALID_ARGUMENT', `fetchK must be an integer >= k (${k}), got ${String(options.fetchK)}`);
    // As the collection's searches embed it (its query adapter included) when it has an encoder.
    const queryVector = this.collection.encoder === undefined
      ? await this.embeddings.embedQuery(query)
      : Array.from((await this.collection.embedQueries([query])).data);
    const found = await this.retriever.retrieve(Float32Array.from(queryVector), this.#request(fetchK, options.filter, { rerank: false }));
    if (found.hits.length === 0) return [];
    const stored = await this.collection.get(found.hits.map((h) => h.id), { vectors: true });
    const kept = found.hits.map((h, i) => ({ h, v: stored[i]?.vector })).filter((x): x is { h: PipelineHit; v: Float32Array } => x.v !== undefined);
    const picked = maximalMarginalRelevance(queryVector, kept.map((x) => Array.from(x.v)), options.lambda ?? 0.5, k);
    return picked.map((i) => toDocument(kept[i].h));
  }

  /** A store over `args.collection` holding these texts (metadatas: one per text, or one for all). */
  static override async fromTexts(texts: string[], metadatas: object[] | object, embeddings: EmbeddingsInterface, args: BiencoderVectorStoreArgs): Promise<BiencoderVectorStore> {
    const docs = texts.map((pageContent, i) => new Document({ pageContent, metadata: Array.isArray(metadatas) ? (metadatas[i] as Record<string, unknown>) ?? {} : (metadatas as Record<string, unknown>) }));
    return BiencoderVectorStore.fromDocuments(docs, embeddings, args);
  }

  static override async fromDocuments(docs: DocumentInterface[], embeddings: EmbeddingsInterface, args: BiencoderVectorStoreArgs & { ids?: string[] }): Promise<BiencoderVectorStore> {
    const store = new BiencoderVectorStore(embeddings, args);
    await store.addDocuments(docs, args.ids ? { ids: args.ids } : undefined);
    return store;
  }

  #request(k: number, filter: MetadataFilter | undefined, extra: { rerank?: boolean }) {
    return {
      k,
      results: 'chunks' as const,
      ...extra,
      ...(filter === undefined ? {} : { filter }),
      ...(this.ef === undefined ? {} : { ef: this.ef }),
    };
  }
}

function idsFor(documents: readonly DocumentInterface[], ids: readonly string[] | undefined): string[] {
  if (!Array.isArray(documents)) throw new BiencoderError('INVALID_ARGUMENT', 'documents must be an array of LangChain Documents');
  if (ids !== undefined && (!Array.isArray(ids) || ids.length !== documents.length)) {
    throw new BiencoderError('INVALID_ARGUMENT', `ids must be one id per document: ${Array.isArray(ids) ? ids.length : typeof ids} for ${documents.length}`);
  }
  return documents.map((d, i) => ids?.[i] ?? d.id ?? randomUUID());
}

function metadataOf(doc: DocumentInterface): Metadata {
  return (doc.metadata ?? {}) as Metadata;
}

/** A pipeline hit as a LangChain Document (id, text, metadata; the scores in metadata when reranked). */
function toDocument(h: PipelineHit): DocumentInterface {
  const scores = h.rerankScore === null ? {} : { retrievalScore: h.retrievalScore, rerankScore: h.rerankScore };
  return new Document({ id: h.id, pageContent: h.text, metadata: { ...h.metadata, ...scores } });
}
