/**
 * Collection routes:
 *   GET    /collections                      names (and counts of the open ones)
 *   POST   /collections                      create one in the data directory { name, model?, index?, metric?, language? }
 *   GET    /collections/:name                manifest summary and counts
 *   POST   /collections/:name/documents      batch upsert { documents: [{ id, text | vector, metadata? }] }
 *   DELETE /collections/:name/documents      { ids, chunks? } (chunks: also `id#n`, default true)
 *   GET    /collections/:name/documents/:id  one document (reassembled from its chunks when chunked)
 *   POST   /collections/:name/search         { query | vector, k, filter, ef, group, mode, document, rerank }
 */
import type { FastifyInstance } from 'fastify';
import type { DocumentInput, SearchMode, VectorDocumentInput } from '../../collection/collection.ts';
import type { CollectionApi } from '../../collection/collection-api.ts';
import type { Metadata, MetadataFilter } from '../../collection/filter.ts';
import type { IndexSpecInput } from '../../index/index-spec.ts';
import type { IndexMetric } from '../../index/vector-index.ts';
import { Retriever, type PipelineHit, type PipelineTimings } from '../../retriever/retriever.ts';
import { BiencoderError } from '../../errors.ts';
import { clientSignal, type ServerContext } from '../context.ts';
import { deleteDocuments, wholeDocument } from '../../chunking/whole-document.ts';
import { collectionParams, createCollectionBody, deleteBody, documentParams, searchBody, upsertBody } from '../schemas.ts';

interface NameParams {
  name: string;
}

interface UpsertRequest {
  documents: { id: string; text?: string; vector?: number[]; metadata?: Metadata }[];
}

interface SearchRequest {
  query?: string;
  vector?: number[];
  k?: number;
  filter?: MetadataFilter;
  ef?: number;
  group?: 'documents' | 'chunks';
  mode?: SearchMode;
  document?: boolean;
  rerank?: boolean | { top?: number; budgetMs?: number | null };
  adapter?: boolean;
}

/** One search result on the wire. */
export interface HitBody {
  id: string;
  score: number;
  text: string;
  metadata: Metadata;
  /** For a chunk: its id, position and offsets in its document. */
  chunk?: { id: string; parent: string; index: number; start: number; end: number };
  /** When asked for: the whole document the hit comes from. */
  document?: { id: string; text: string };
  /** With "rerank": the first stage's score (dense, BM25 or fused). */
  retrievalScore?: number;
  /** With "rerank": the cross-encoder's score, or null for a hit it did not score (budget, beyond top, no text). */
  rerankScore?: number | null;
}

/** What a reranked search reports besides its hits. */
export interface RerankBody {
  model: string;
  mode: SearchMode;
  /** Candidates the cross-encoder was to score. */
  top: number;
  /** Hits the first stage returned. */
  candidates: number;
  /** Hits the cross-encoder scored. */
  reranked: number;
  budgetMs: number | null;
  /** Per-stage milliseconds (hybrid and keyword: embedMs is 0, searchMs includes the query embedding). */
  timings: PipelineTimings;
}

async function describe(name: string, c: CollectionApi): Promise<Record<string, unknown>> {
  const info = await c.info();
  const m = c.manifest;
  return {
    name,
    count: info.count,
    dims: c.dims,
    metric: c.metric,
    model: { id: m.encoder.modelId, revision: m.encoder.revision, normalized: m.encoder.normalized, prompts: m.encoder.prompts },
    encoderLoaded: c.encoder !== undefined,
    index: m.index,
    ...(m.keyword !== undefined ? { keyword: m.keyword } : {}),
    readOnly: c.readOnly,
    seq: info.seq,
    ...('unsavedChanges' in info ? { unsavedChanges: info.unsavedChanges } : {}),
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

/** A pipeline hit on the wire (with both scores when the search reranked). */
function hitBody(h: PipelineHit, reranked: boolean): HitBody {
  return {
    id: h.id,
    score: h.score,
    text: h.text,
    metadata: h.metadata,
    ...(h.chunk ? { chunk: h.chunk } : {}),
    ...(h.document ? { document: h.document } : {}),
    ...(reranked ? { retrievalScore: h.retrievalScore, rerankScore: h.rerankScore } : {}),
  };
}

export function collectionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { registry } = ctx;

  app.get('/collections', async () => {
    const open = new Map(registry.opened());
    return {
      collections: await Promise.all(registry.names().map(async (name) => {
        const c = open.get(name);
        return c === undefined ? { name, open: false } : { name, open: true, count: await c.count(), dims: c.dims, model: c.manifest.encoder.modelId };
      })),
      canCreate: registry.dataDir !== undefined && !registry.readOnly,
    };
  });

  app.post<{ Body: { name: string; model?: string; index?: IndexSpecInput; metric?: IndexMetric; language?: string } }>(
    '/collections',
    { schema: { body: createCollectionBody } },
    async (request, reply) => {
      const { name, model, index, metric, language } = request.body;
      const modelId = model === undefined || model === 'default' ? ctx.defaultModel : model;
      if (ctx.encoders.loaded(modelId) === undefined) {
        throw new BiencoderError('MODEL_NOT_FOUND', `model ${JSON.stringify(model)} is not loaded by this server; loaded: ${ctx.encoders.loadedIds().join(', ')}`);
      }
      const c = await registry.write(() => registry.create(name, { model: modelId, index, metric, language }));
      return reply.code(201).send(await describe(name, c));
    },
  );

  app.get<{ Params: NameParams }>('/collections/:name', { schema: { params: collectionParams } }, async (request) => {
    const c = await registry.get(request.params.name);
    return describe(request.params.name, c);
  });

  app.post<{ Params: NameParams; Body: UpsertRequest }>(
    '/collections/:name/documents',
    { schema: { params: collectionParams, body: upsertBody } },
    async (request, reply) => {
      const c = await registry.get(request.params.name);
      const docs = request.body.documents;
      const withVectors = docs.filter((d) => d.vector !== undefined).length;
      if (withVectors !== 0 && withVectors !== docs.length) {
        throw new BiencoderError('INVALID_ARGUMENT', `documents must all have a vector (precomputed embeddings) or none (texts to embed); ${withVectors} of ${docs.length} have one`);
      }
      const signal = clientSignal(request, reply);
      if (withVectors > 0) {
        return registry.write(() => c.upsertVectors(docs as VectorDocumentInput[], { signal }));
      }
      docs.forEach((d, i) => {
        if (d.text === undefined) throw new BiencoderError('INVALID_ARGUMENT', `documents[${i}] (id ${JSON.stringify(d.id)}) has neither text nor vector`);
      });
      return registry.write(() => c.upsert(docs as DocumentInput[], { signal }));
    },
  );

  app.delete<{ Params: NameParams; Body: { ids: string[]; chunks?: boolean } }>(
    '/collections/:name/documents',
    { schema: { params: collectionParams, body: deleteBody } },
    async (request) => {
      const c = await registry.get(request.params.name);
      return registry.write(async () => ({ deleted: await deleteDocuments(c, request.body.ids, { chunks: request.body.chunks ?? true }) }));
    },
  );

  app.get<{ Params: { name: string; id: string } }>('/collections/:name/documents/:id', { schema: { params: documentParams } }, async (request) => {
    const c = await registry.get(request.params.name);
    const doc = await wholeDocument(c, request.params.id);
    if (doc === undefined) throw new BiencoderError('NOT_FOUND', `no document ${JSON.stringify(request.params.id)} in collection ${request.params.name}`);
    return doc;
  });

  app.post<{ Params: NameParams; Body: SearchRequest }>(
    '/collections/:name/search',
    { schema: { params: collectionParams, body: searchBody } },
    async (request, reply) => {
      const body = request.body;
      if ((body.query === undefined) === (body.vector === undefined)) {
        throw new BiencoderError('INVALID_ARGUMENT', 'give either "query" (a text) or "vector" (numbers), not both');
      }
      if (body.query !== undefined && body.query.trim() === '') throw new BiencoderError('EMPTY_INPUT', 'the query is empty or whitespace only');
      const wantsRerank = body.rerank !== undefined && body.rerank !== false;
      if (wantsRerank && ctx.rerank === undefined) {
        throw new BiencoderError('INVALID_ARGUMENT', '"rerank": this server has no reranker (start it with --rerank MODEL)');
      }
      if (wantsRerank && body.query === undefined) {
        throw new BiencoderError('INVALID_ARGUMENT', '"rerank" needs a text "query": the cross-encoder reads the query text, which a vector does not give');
      }
      const c = await registry.get(request.params.name);
      const query = body.query ?? Float32Array.from(body.vector!);
      const started = performance.now();
      // One pipeline: a text query defaults to the collection's measured default ranking (hybrid where the
      // store serves it, else dense), a vector to dense; reranked when asked, documents placed by their best chunk.
      const retriever = wantsRerank ? ctx.rerank!.retrieverFor(c) : new Retriever({ collection: c });
      const asked = typeof body.rerank === 'object' ? body.rerank : {};
      const result = await retriever.retrieve(query, {
        k: body.k ?? 10,
        results: body.group ?? 'documents',
        wholeDocuments: body.document === true,
        rerank: wantsRerank,
        signal: clientSignal(request, reply),
        ...(body.mode === undefined ? {} : { mode: body.mode }),
        ...(body.filter === undefined ? {} : { filter: body.filter }),
        ...(body.ef === undefined ? {} : { ef: body.ef }),
        ...(body.adapter === undefined ? {} : { adapter: body.adapter }),
        ...(asked.top === undefined ? {} : { candidates: asked.top }),
        ...(asked.budgetMs === undefined ? {} : { budgetMs: asked.budgetMs }),
      });
      const hits = result.hits.map((h) => hitBody(h, result.reranked));
      const rerank: RerankBody | undefined = result.reranked
        ? { model: ctx.rerank!.reranker.modelId, mode: result.mode, top: result.rerankTop, candidates: result.candidates, reranked: result.rerankedCount, budgetMs: result.budgetMs, timings: result.timings }
        : undefined;
      return { hits, took_ms: Number((performance.now() - started).toFixed(3)), ...(rerank ? { rerank } : {}) };
    },
  );
}
