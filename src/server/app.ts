/**
 * createServer(): the HTTP server (fastify) over collections and encoders. Returns the fastify
 * instance, ready: test it with app.inject(), or app.listen({ host, port }).
 * Routes: see routes/*.ts. Every error is JSON { code, message } (errors.ts). app.close() stops
 * accepting requests (new ones get 503 SHUTTING_DOWN), lets the requests under way finish, then
 * flushes and closes every collection and the encoders the server loaded.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { BiencoderError } from '../errors.ts';
import type { Encoder } from '../encoders/encoder.ts';
import { DEFAULT_MODEL } from '../encoders/load-encoder.ts';
import { readTargetManifest } from '../collection/open-collection.ts';
import { MAX_ID_LENGTH } from '../collection/document-input.ts';
import { apiKeyGuard, checkApiKey } from './auth.ts';
import { CollectionRegistry } from './collection-registry.ts';
import type { ServerContext } from './context.ts';
import { EncoderPool, type EncoderLoader } from './encoder-pool.ts';
import { HttpError, handleClientError, handleError } from './errors.ts';
import { parseJsonBody } from './json-body.ts';
import { createMetrics } from './metrics.ts';
import type { MicroBatchOptions } from './micro-batcher.ts';
import { ServerReranker, type ServerRerankOptions } from './rerank.ts';
import { collectionRoutes } from './routes/collections.ts';
import { embeddingRoutes } from './routes/embeddings.ts';
import { healthRoutes } from './routes/health.ts';
import { PAGE_URLS, pageRoutes } from './routes/page.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { resolveIndexRoots } from '../mcp/index-roots.ts';
import { rerankRoutes } from './routes/rerank.ts';

/** Default request body limit: 16 MiB (a batch of documents with metadata, or of vectors). */
export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

/**
 * The longest path parameter the router takes (fastify's default, 100, is shorter than names and ids
 * the server accepts): the longest row id (MAX_ID_LENGTH UTF-16 units; collection names are shorter)
 * percent-encoded, at most 9 bytes a unit (a 3-byte UTF-8 character is %XX%XX%XX). Whether the router
 * measures a segment encoded or decoded, whatever a client can create is reachable, and a longer id
 * gets the library's own answer (400); only longer segments get 414 URI_TOO_LONG. The whole URL (about
 * 9.4 KB at most) stays within Node's 16 KiB for the request line and headers.
 */
export const MAX_PATH_PARAM_LENGTH = 9 * MAX_ID_LENGTH;

export interface ServerOptions {
  /** Collections served under fixed names: { name: directory } (opened at start). */
  readonly collections?: Readonly<Record<string, string>>;
  /** A directory where clients may create and address collections by name. */
  readonly dataDir?: string;
  /** Encoders already loaded (the caller closes them); other models are loaded on demand with loadEncoder. */
  readonly encoders?: readonly Encoder[];
  /** Loads a model named by a collection's manifest. Default loadEncoder(id). */
  readonly loadEncoder?: EncoderLoader;
  /**
   * The model of /embed, /v1/embeddings and new collections when a request names none; loaded at
   * start. Default: the first of `encoders`, else the model of the first named collection, else 'use-lite'.
   */
  readonly defaultModel?: string;
  /** Require `Authorization: Bearer <apiKey>` on every route but /healthz and the page's files. */
  readonly apiKey?: string;
  /** Largest request body in bytes (413 PAYLOAD_TOO_LARGE beyond). Default 16 MiB. */
  readonly bodyLimit?: number;
  /** fastify's logger option (pino): false (default), true, or pino options. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Micro-batching of concurrent query embeddings; false: none. Default { windowMs: 2, maxBatch: 32 }. */
  readonly microBatch?: MicroBatchOptions | false;
  /** Open every collection read-only. Default false. */
  readonly readOnly?: boolean;
  /**
   * A cross-encoder for searches that ask for `"rerank"`: { reranker, candidates? (default 100), budgetMs? }.
   * The caller loads it and closes it after the server. Without it, such searches are 400 INVALID_ARGUMENT.
   */
  readonly rerank?: ServerRerankOptions;
  /** Directories the MCP tool index_path (POST /mcp) may read. Default none: it refuses every path. */
  readonly mcpIndexRoots?: readonly string[];
}

async function pickDefaultModel(options: ServerOptions): Promise<string> {
  if (options.defaultModel !== undefined) {
    if (typeof options.defaultModel !== 'string' || options.defaultModel === '') throw new BiencoderError('INVALID_ARGUMENT', 'defaultModel must be a model id');
    return options.defaultModel;
  }
  if (options.encoders !== undefined && options.encoders.length > 0) return options.encoders[0].modelId;
  const first = Object.values(options.collections ?? {})[0];
  // A directory or a postgres:// store: the first collection's model.
  if (first !== undefined) return (await readTargetManifest(first)).encoder.modelId;
  return DEFAULT_MODEL;
}

export async function createServer(options: ServerOptions = {}): Promise<FastifyInstance> {
  if (typeof options !== 'object' || options === null) throw new BiencoderError('INVALID_ARGUMENT', 'createServer options must be an object');
  const apiKey = checkApiKey(options.apiKey);
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024) throw new BiencoderError('INVALID_ARGUMENT', `bodyLimit must be an integer number of bytes >= 1024, got ${String(bodyLimit)}`);
  const defaultModel = await pickDefaultModel(options);
  const rerank = options.rerank === undefined ? undefined : new ServerReranker(options.rerank);

  let registry: CollectionRegistry | undefined;
  const metrics = createMetrics(async () => (registry === undefined ? [] : Promise.all(registry.opened().map(async ([name, c]) => [name, await c.count()] as [string, number]))));
  const encoders = new EncoderPool({
    encoders: options.encoders,
    load: options.loadEncoder,
    microBatch: options.microBatch,
    onBatch: (texts, model) => metrics.observeBatch(texts, model),
  });
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    // The router's 414 and bad URLs, and Node's parser errors, answer JSON { code, message } too.
    frameworkErrors: (error, request, reply) => handleError(error, request, reply),
    clientErrorHandler: handleClientError,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });
  let mcpIndexRoots: string[];
  try {
    mcpIndexRoots = await resolveIndexRoots(options.mcpIndexRoots ?? []); // a missing root fails here, not each /mcp call
    await encoders.get(defaultModel);
    registry = await CollectionRegistry.open({
      collections: options.collections,
      dataDir: options.dataDir,
      encoders,
      readOnly: options.readOnly,
      onWarning: (message) => app.log.warn(message),
    });
  } catch (error) {
    await encoders.close();
    await app.close();
    throw error;
  }
  const ctx: ServerContext = { registry, encoders, defaultModel, metrics, ...(rerank ? { rerank } : {}) };

  let closing = false;
  app.removeContentTypeParser('text/plain'); // bodies are JSON only: anything else is 415
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request) => {
    throw new HttpError(404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (closing) {
      void reply.header('connection', 'close');
      throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down');
    }
  });
  if (apiKey !== undefined) {
    const guard = apiKeyGuard(apiKey, (request) => request.method === 'GET' && (request.url === '/healthz' || PAGE_URLS.has(request.url.split('?')[0])));
    app.addHook('onRequest', guard);
  }
  app.addHook('onSend', async (_request, reply, payload) => {
    // While closing, no connection stays open for keep-alive (server.close() would wait for it).
    if (closing) void reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onClose', async () => {
    try {
      await registry.close();
    } finally {
      await encoders.close();
    }
  });

  healthRoutes(app, ctx);
  collectionRoutes(app, ctx);
  embeddingRoutes(app, ctx);
  pageRoutes(app);
  rerankRoutes(app, ctx);
  mcpRoutes(app, ctx, { indexRoots: mcpIndexRoots });
  await app.ready();
  return app;
}
