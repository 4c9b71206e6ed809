/**
 * The search page: GET / (index.html), /page/app.js, /page/style.css — plain files from
 * src/server/page/, read once when the server is created (no build step). Public: the page holds no
 * data; it asks for the API key when the server answers 401.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const FILES = [
  { url: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/page/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { url: '/page/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
] as const;

/** The URLs of the page's files (public even when the server has an API key). */
export const PAGE_URLS: ReadonlySet<string> = new Set(FILES.map((f) => f.url));

export function pageRoutes(app: FastifyInstance): void {
  for (const { url, file, type } of FILES) {
    const body = readFileSync(new URL(`../page/${file}`, import.meta.url), 'utf8');
    app.get(url, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(body));
  }
}
