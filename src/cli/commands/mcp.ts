/**
 * `biencoder mcp`: the MCP door over stdio (stdout carries the protocol; messages go to stderr). The MCP
 * SDK is an optional peer dependency, loaded only here.
 */
import { Command } from 'commander';
import { loadEncoder } from '../../encoders/load-encoder.ts';
import { BiencoderError } from '../../errors.ts';
import { CollectionRegistry, collectionsByBasename } from '../../server/collection-registry.ts';
import { EncoderPool } from '../../server/encoder-pool.ts';
import { encoderOptionsFrom, modelFetchOptions, type ModelCliOptions } from '../model-options.ts';
import { checkRerankOptions, loadRerankerFrom, rerankOptions, type RerankCliOptions } from '../rerank-options.ts';
import type { createMcpServer as CreateMcpServer } from '../../mcp/mcp-server.ts';
import type { StdioServerTransport as StdioTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

interface McpCliOptions extends Omit<ModelCliOptions, 'model'>, RerankCliOptions {
  collection?: string[];
  store?: string[];
  indexRoot?: string[];
  readOnly?: boolean;
}

/** The MCP SDK's modules, or UNSUPPORTED saying how to install it. */
export async function loadMcpSdk(): Promise<{ createMcpServer: typeof CreateMcpServer; StdioServerTransport: typeof StdioTransport }> {
  try {
    const [{ createMcpServer }, { StdioServerTransport }] = await Promise.all([import('../../mcp/mcp-server.ts'), import('@modelcontextprotocol/sdk/server/stdio.js')]);
    return { createMcpServer, StdioServerTransport };
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new BiencoderError('UNSUPPORTED', 'the MCP server needs @modelcontextprotocol/sdk (an optional peer dependency): npm install @modelcontextprotocol/sdk', { cause });
    }
    throw cause;
  }
}

export function mcpCommand(): Command {
  const cmd = new Command('mcp')
    .description('Serve collections to MCP clients over stdio: tools search, list_collections, add_documents, delete_documents and index_path.')
    .option('--collection <dir...>', 'collection directories, each under its directory name')
    .option('--store <url...>', 'pgvector collections (postgres://user:pw@host/db?collection=NAME), each under its collection name')
    .option('--index-root <dir...>', 'directories index_path may read (nothing outside them, symlinks included); without it index_path refuses every path')
    .option('--read-only', 'open the collections read-only: add_documents, delete_documents and index_path fail with READ_ONLY');
  modelFetchOptions(cmd, 'ONNX weights variant of the collections\' models');
  rerankOptions(cmd);
  cmd.addHelpText('after', `
Example (a client's MCP configuration):
  { "command": "npx", "args": ["biencoder", "mcp", "--collection", "/data/kb", "--index-root", "/data/docs"] }`);
  return cmd.action(async (opts: McpCliOptions, command: Command) => {
    checkRerankOptions(command, opts);
    const collections = collectionsByBasename(opts.collection ?? [], opts.store ?? []);
    if (Object.keys(collections).length === 0) throw new BiencoderError('INVALID_ARGUMENT', 'no collections: pass --collection DIR and/or --store URL (one or more)');
    const { createMcpServer, StdioServerTransport } = await loadMcpSdk();
    const loaderOptions = encoderOptionsFrom(opts);
    const encoders = new EncoderPool({ load: (id) => loadEncoder(id, loaderOptions), microBatch: false });
    const reranker = await loadRerankerFrom(opts);
    let registry: CollectionRegistry | undefined;
    try {
      registry = await CollectionRegistry.open({
        collections, encoders, readOnly: opts.readOnly ?? false,
        onWarning: (message) => process.stderr.write(`biencoder mcp: ${message}\n`),
      });
      const server = await createMcpServer({
        collections: registry,
        indexRoots: opts.indexRoot ?? [],
        ...(reranker === undefined ? {} : { rerank: { reranker, ...(opts.rerankTop === undefined ? {} : { candidates: opts.rerankTop }) } }),
      });
      const transport = new StdioServerTransport();
      const closed = new Promise<string>((resolve) => {
        transport.onclose = () => resolve('the client closed the connection');
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.stdin.once('end', () => resolve('stdin ended'));
      });
      await server.connect(transport);
      process.stderr.write(`biencoder mcp: serving ${Object.keys(collections).join(', ')} over stdio\n`);
      const why = await closed;
      process.stderr.write(`biencoder mcp: ${why}: finishing writes, closing collections...\n`);
      await server.close();
    } finally {
      await registry?.close();
      await encoders.close();
      await reranker?.close();
    }
  });
}
