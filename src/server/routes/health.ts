/**
 * GET /healthz: liveness and what is served (public: no API key needed).
 * GET /metrics: Prometheus text format (needs the API key when the server has one).
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';

export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/healthz', async () => ({
    status: 'ok',
    collections: ctx.registry.opened().map(([name]) => name),
    models: ctx.encoders.loadedIds(),
    defaultModel: ctx.defaultModel,
  }));

  app.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
}
