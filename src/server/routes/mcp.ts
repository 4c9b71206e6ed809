/**
 * POST /mcp: the MCP tools (src/mcp/mcp-server.ts) over Streamable HTTP, behind the server's API key.
 * Stateless, as the SDK's stateless server: each POST gets a fresh McpServer and transport over the
 * server's collections, and a JSON answer (no sessions, so GET and DELETE are 405). The SDK, an optional
 * peer dependency, is loaded on the first request; without it /mcp answers 501 NOT_IMPLEMENTED.
 */
import type { FastifyInstance } from 'fastify';
import type { createMcpServer as CreateMcpServer } from '../../mcp/mcp-server.ts';
import type { StreamableHTTPServerTransport as Transport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ServerContext } from '../context.ts';
import { HttpError } from '../errors.ts';

interface McpSdk {
  readonly createMcpServer: typeof CreateMcpServer;
  readonly StreamableHTTPServerTransport: typeof Transport;
}

export interface McpRouteOptions {
  /** Directories the index_path tool may read (none: it refuses every path). */
  readonly indexRoots?: readonly string[];
}

export function mcpRoutes(app: FastifyInstance, ctx: ServerContext, options: McpRouteOptions = {}): void {
  let sdk: Promise<McpSdk> | undefined;
  const load = (): Promise<McpSdk> => {
    sdk ??= Promise.all([import('../../mcp/mcp-server.ts'), import('@modelcontextprotocol/sdk/server/streamableHttp.js')])
      .then(([m, t]) => ({ createMcpServer: m.createMcpServer, StreamableHTTPServerTransport: t.StreamableHTTPServerTransport }))
      .catch((cause: unknown) => {
        sdk = undefined;
        if ((cause as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
          throw new HttpError(501, 'NOT_IMPLEMENTED', '/mcp needs @modelcontextprotocol/sdk (an optional peer dependency): npm install @modelcontextprotocol/sdk');
        }
        throw cause;
      });
    return sdk;
  };

  app.post('/mcp', async (request, reply) => {
    const { createMcpServer, StreamableHTTPServerTransport } = await load();
    const server = await createMcpServer({
      collections: ctx.registry,
      indexRoots: options.indexRoots ?? [],
      ...(ctx.rerank === undefined ? {} : { rerank: { reranker: ctx.rerank.reranker, candidates: ctx.rerank.candidates, ...(ctx.rerank.budgetMs === undefined ? {} : { budgetMs: ctx.rerank.budgetMs }) } }),
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.raw.once('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    reply.hijack(); // the transport writes the response
    await transport.handleRequest(request.raw, reply.raw, request.body);
  });

  const notAllowed = async (): Promise<never> => {
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'this MCP endpoint is stateless: POST JSON-RPC messages to /mcp (no sessions, no server-sent stream)');
  };
  app.get('/mcp', notAllowed);
  app.delete('/mcp', notAllowed);
}
