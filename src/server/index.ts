/** `biencoder/server`: the HTTP server (fastify) over collections, as `biencoder serve` runs it. */
export { createServer, DEFAULT_BODY_LIMIT, type ServerOptions } from './app.ts';
export type { ServerRerankOptions } from './rerank.ts';
export { BatchingEncoder, DEFAULT_MICRO_BATCH, type MicroBatchOptions } from './micro-batcher.ts';
export { HttpError, type HttpErrorCode, type ServerErrorCode } from './errors.ts';
export { COLLECTION_NAME_PATTERN } from './collection-registry.ts';
