/**
 * Reranking APIs other clients already speak, over the server's cross-encoder (`serve --rerank MODEL`):
 *   POST /v1/rerank   Jina's shape: { model?, query, documents: (string | { text })[], top_n?, return_documents? }
 *                     -> { model, usage: { total_tokens }, results: [{ index, relevance_score, document?: { text } }] }
 *   POST /v2/rerank   Cohere v2's: { model?, query, documents: string[], top_n?, max_tokens_per_doc? }
 *                     -> { id, results: [{ index, relevance_score }], meta }
 *   POST /rerank      Hugging Face TEI's: { query, texts, raw_scores?, return_text? } -> [{ index, score, text? }]
 * Results are best first. `model` may name the loaded cross-encoder or "default"; anything else is 404
 * MODEL_NOT_FOUND. Without a cross-encoder these routes are 400 INVALID_ARGUMENT.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { BiencoderError } from '../../errors.ts';
import type { CrossEncoder } from '../../rerank/cross-encoder.ts';
import { clientSignal, type ServerContext } from '../context.ts';
import { rerankBody, teiRerankBody } from '../schemas.ts';

interface RerankRequest {
  model?: string;
  query: string;
  documents: (string | { text: string })[];
  top_n?: number;
  return_documents?: boolean;
}

function rerankerFor(ctx: ServerContext, model: string | undefined): CrossEncoder {
  if (ctx.rerank === undefined) throw new BiencoderError('INVALID_ARGUMENT', 'this server has no cross-encoder: start it with --rerank MODEL');
  const reranker = ctx.rerank.reranker;
  if (model !== undefined && model !== 'default' && model !== reranker.modelId) {
    throw new BiencoderError('MODEL_NOT_FOUND', `reranking model ${JSON.stringify(model)} is not served here; use "default" or ${reranker.modelId}`, { details: { model, available: [reranker.modelId] } });
  }
  return reranker;
}

/** Model tokens of the (query, document) pairs as the cross-encoder reads them. */
function pairTokens(reranker: CrossEncoder, query: string, texts: readonly string[]): number {
  return reranker.tokenize(query, texts).reduce((s, p) => s + p.ids.length, 0);
}

export function rerankRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const rank = async (body: RerankRequest, signal: AbortSignal) => {
    const reranker = rerankerFor(ctx, body.model);
    const texts = body.documents.map((d) => (typeof d === 'string' ? d : d.text));
    const ranked = await reranker.rank(body.query, texts, { ...(body.top_n === undefined ? {} : { topK: body.top_n }), signal });
    return { reranker, texts, ranked };
  };

  app.post<{ Body: RerankRequest }>('/v1/rerank', { schema: { body: rerankBody } }, async (request, reply) => {
    const { reranker, texts, ranked } = await rank(request.body, clientSignal(request, reply));
    const withDocuments = request.body.return_documents ?? true;
    return {
      model: reranker.modelId,
      usage: { total_tokens: pairTokens(reranker, request.body.query, texts) },
      results: ranked.map((r) => ({ index: r.index, relevance_score: r.score, ...(withDocuments ? { document: { text: texts[r.index] } } : {}) })),
    };
  });

  app.post<{ Body: RerankRequest }>('/v2/rerank', { schema: { body: rerankBody } }, async (request, reply) => {
    const { ranked } = await rank(request.body, clientSignal(request, reply));
    return {
      id: randomUUID(),
      results: ranked.map((r) => ({ index: r.index, relevance_score: r.score })),
      meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } },
    };
  });

  app.post<{ Body: { query: string; texts: string[]; raw_scores?: boolean; return_text?: boolean } }>('/rerank', { schema: { body: teiRerankBody } }, async (request, reply) => {
    const reranker = rerankerFor(ctx, undefined);
    const { query, texts } = request.body;
    const ranked = await reranker.rank(query, texts, { signal: clientSignal(request, reply) });
    return ranked.map((r) => ({ index: r.index, score: request.body.raw_scores === true ? r.logit : r.score, ...(request.body.return_text === true ? { text: texts[r.index] } : {}) }));
  });
}
