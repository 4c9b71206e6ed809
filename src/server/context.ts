/** What the routes of one server share. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CollectionRegistry } from './collection-registry.ts';
import type { EncoderPool } from './encoder-pool.ts';
import type { ServerMetrics } from './metrics.ts';
import type { ServerReranker } from './rerank.ts';

export interface ServerContext {
  readonly registry: CollectionRegistry;
  readonly encoders: EncoderPool;
  /** The model of /embed and /v1/embeddings when a request names none (or names "default"). */
  readonly defaultModel: string;
  readonly metrics: ServerMetrics;
  /** The reranking stage, when the server was given a cross-encoder. */
  readonly rerank?: ServerReranker;
}

/** An AbortSignal that fires when the client goes away before its response is sent. */
export function clientSignal(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error(`the client of ${request.method} ${request.url} disconnected`));
  });
  return controller.signal;
}
