import { Command, Option } from 'commander';
import { BiencoderError } from '../../errors.ts';
import { loadEncoder } from '../../encoders/load-encoder.ts';
import { createServer, DEFAULT_BODY_LIMIT } from '../../server/app.ts';
import { collectionsByBasename } from '../../server/collection-registry.ts';
import { DEFAULT_MICRO_BATCH } from '../../server/micro-batcher.ts';
import { encoderOptionsFrom, modelOptions, type ModelCliOptions } from '../model-options.ts';
import { checkRerankOptions, loadRerankerFrom, rerankOptions, type RerankCliOptions } from '../rerank-options.ts';

interface ServeCliOptions extends ModelCliOptions, RerankCliOptions {
  collection?: string[];
  store?: string[];
  dataDir?: string;
  host: string;
  port: string;
  apiKey?: string;
  bodyLimit: string;
  readOnly?: boolean;
  indexRoot?: string[];
  batchWindowMs: string;
  maxBatch: string;
  batchesInFlight: string;
  log: 'info' | 'warn' | 'error' | 'silent' | 'debug';
}

function integer(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new BiencoderError('INVALID_ARGUMENT', `${name} must be an integer in ${min}..${max}, got "${value}"`);
  }
  return n;
}

export function serveCommand(): Command {
  const cmd = new Command('serve')
    .description(
      'Serve collections over HTTP: search, upsert and delete documents, /embed, the OpenAI-compatible /v1/embeddings, ' +
        '/healthz, /metrics (Prometheus), MCP tools at POST /mcp (Streamable HTTP) and a search page at /. SIGINT/SIGTERM finish the requests under way, then flush ' +
        'and close the collections.',
    )
    .option('--collection <dir...>', 'collection directories to serve, each under its directory name')
    .option('--store <url...>', 'pgvector collections to serve (postgres://user:pw@host/db?collection=NAME), each under its collection name; text searches default to dense')
    .option('--data-dir <dir>', 'a directory where clients may create and address collections by name')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0: any free port)', '8080')
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" (default: $BIENCODER_API_KEY when set)')
    .option('--body-limit <bytes>', 'largest request body', String(DEFAULT_BODY_LIMIT))
    .option('--read-only', 'open the collections read-only (alongside a writer such as `biencoder index`)')
    .option('--index-root <dir...>', 'directories the MCP tool index_path (POST /mcp) may read; without it index_path refuses every path')
    .option('--batch-window-ms <ms>', 'how long a query waits for others to share its embedding batch', String(DEFAULT_MICRO_BATCH.windowMs))
    .option('--max-batch <n>', 'most query texts per embedding batch', String(DEFAULT_MICRO_BATCH.maxBatch))
    .option('--batches-in-flight <n>', 'most embedding batches running at once (texts arriving meanwhile wait and go together)', String(DEFAULT_MICRO_BATCH.maxInFlight))
    .addOption(new Option('--log <level>', 'request log level (JSON lines on stdout)').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'));
  modelOptions(cmd);
  rerankOptions(cmd);
  cmd.addHelpText(
    'after',
    '\n--model is the model of /embed and /v1/embeddings (default: the first collection\'s model, else use-lite);\neach collection is served with the model its manifest names.\n' +
      '--rerank MODEL loads a cross-encoder once: a search with "rerank": true (or { "top": N, "budgetMs": MS }) reranks\nits top candidates (default --rerank-top, --rerank-budget-ms).',
  );
  return cmd.action(async (opts: ServeCliOptions, command: Command) => {
    checkRerankOptions(command, opts);
    // Directories first: the server's default model is the first collection's.
    const collections = collectionsByBasename(opts.collection ?? [], opts.store ?? []);
    if (Object.keys(collections).length === 0 && opts.dataDir === undefined) {
      throw new BiencoderError('INVALID_ARGUMENT', 'nothing to serve: pass --collection DIR and/or --store URL (one or more) and/or --data-dir DIR');
    }
    const port = integer(opts.port, '--port', 0, 65535);
    const windowMs = Number(opts.batchWindowMs);
    const maxBatch = integer(opts.maxBatch, '--max-batch', 1, 4096);
    const maxInFlight = integer(opts.batchesInFlight, '--batches-in-flight', 1, 256);
    const loaderOptions = encoderOptionsFrom(opts);
    const reranker = await loadRerankerFrom(opts);
    const app = await createServer({
      collections,
      dataDir: opts.dataDir,
      defaultModel: opts.model,
      loadEncoder: (id) => loadEncoder(id, loaderOptions),
      apiKey: opts.apiKey ?? (process.env.BIENCODER_API_KEY || undefined),
      bodyLimit: integer(opts.bodyLimit, '--body-limit', 1024, 2 ** 31 - 1),
      readOnly: opts.readOnly ?? false,
      mcpIndexRoots: opts.indexRoot ?? [],
      microBatch: { windowMs, maxBatch, maxInFlight },
      logger: opts.log === 'silent' ? false : { level: opts.log },
      ...(reranker === undefined ? {} : {
        rerank: { reranker, ...(opts.rerankTop === undefined ? {} : { candidates: opts.rerankTop }), ...(opts.rerankBudgetMs === undefined ? {} : { budgetMs: opts.rerankBudgetMs }) },
      }),
    }).catch(async (error: unknown) => {
      await reranker?.close();
      throw error;
    });
    let closed: Promise<void> | undefined;
    const shutdown = (signal: string): void => {
      if (closed !== undefined) return;
      process.stderr.write(`biencoder serve: ${signal}: finishing requests under way, flushing collections...\n`);
      closed = app.close().then(() => {
        process.stderr.write('biencoder serve: stopped\n');
      });
    };
    const onSigint = (): void => shutdown('SIGINT');
    const onSigterm = (): void => shutdown('SIGTERM');
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    try {
      const address = await app.listen({ host: opts.host, port });
      process.stderr.write(`biencoder serve: listening on ${address} (collections: ${Object.keys(collections).join(', ') || 'none'}${opts.dataDir ? `; data dir ${opts.dataDir}` : ''}${reranker ? `; reranker ${reranker.modelId}` : ''})\n`);
      await new Promise<void>((resolve) => app.server.once('close', resolve));
      await closed;
    } catch (error) {
      await app.close();
      throw error;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      // After the server: the requests under way have finished with it.
      await reranker?.close();
    }
  });
}
