/** The search route's "rerank" option, `serve --rerank MODEL`, and the per-collection Retriever kept across requests. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Collection, type SearchHit, type SearchMode } from '../../src/collection/collection.ts';
import { createServer } from '../../src/server/app.ts';
import { ServerReranker } from '../../src/server/rerank.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { loadCrossEncoder, type CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';
import { tinyEncoder } from '../collection/helpers.ts';
import { CHUNKED_IDS, assertError, longTexts, makeCollection, spawnCli } from './helpers.ts';

const tmp = tempDir('server-rerank');
const QUERY = 'cells and proteins in cancer';
let encoder: Encoder;
let reranker: CrossEncoder;
let ceDir: string;
let sciDir: string;
let app: FastifyInstance;
let plain: FastifyInstance;
let reader: Collection;

interface Hit {
  id: string; score: number; text: string; retrievalScore?: number; rerankScore?: number | null;
  chunk?: { id: string; parent: string }; document?: { id: string; text: string };
}
interface RerankInfo { model: string; mode: SearchMode; top: number; candidates: number; reranked: number; budgetMs: number | null; timings: Record<string, number> }

before(async () => {
  encoder = await tinyEncoder(tmp.dir);
  ceDir = await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 64 });
  reranker = await loadCrossEncoder(ceDir);
  sciDir = await makeCollection(tmp.dir, 'sci', encoder);
  app = await createServer({ collections: { sci: sciDir }, encoders: [encoder], readOnly: true, rerank: { reranker, candidates: 12 } });
  plain = await createServer({ collections: { sci: sciDir }, encoders: [encoder], readOnly: true });
  reader = await Collection.open(sciDir, { encoder, readOnly: true });
});
after(async () => {
  await app?.close();
  await plain?.close();
  await reader?.close();
  await Promise.all([encoder.close(), reranker.close()]);
  tmp.cleanup();
});

const post = (server: FastifyInstance, payload: unknown) => server.inject({ method: 'POST', url: '/collections/sci/search', payload: payload as Record<string, unknown> });

async function ok(payload: unknown): Promise<{ hits: Hit[]; rerank: RerankInfo; took_ms: number }> {
  const res = await post(app, payload);
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

/** The cross-encoder's order of a list of first-stage hits. */
async function rerankedOrder(firstStage: readonly SearchHit[]): Promise<{ hit: SearchHit; score: number }[]> {
  return (await reranker.rank(QUERY, firstStage.map((h) => h.text))).map((r) => ({ hit: firstStage[r.index], score: r.score }));
}

describe('search with "rerank"', () => {
  test('true: the server\'s top 12 of the first stage in the cross-encoder\'s order, both scores, per-stage timings', async () => {
    for (const mode of ['dense', 'hybrid'] as const) {
      const body = await ok({ query: QUERY, k: 5, mode, group: 'chunks', rerank: true });
      const expected = (await rerankedOrder(await reader.search(QUERY, { k: 12, mode }))).slice(0, 5);
      assert.deepEqual(body.hits.map((h) => h.id), expected.map((e) => e.hit.id), mode);
      for (const [i, h] of body.hits.entries()) {
        assert.ok(Math.abs(h.rerankScore! - expected[i].score) < 1e-5);
        assert.equal(h.score, h.rerankScore);
        assert.ok(Math.abs(h.retrievalScore! - expected[i].hit.score) < 1e-5);
      }
      assert.deepEqual({ ...body.rerank, timings: undefined }, { model: ceDir, mode, top: 12, candidates: 12, reranked: 12, budgetMs: null, timings: undefined });
      const t = body.rerank.timings;
      assert.deepEqual(Object.keys(t).sort(), ['embedMs', 'readMs', 'rerankMs', 'searchMs', 'totalMs']);
      assert.ok(t.rerankMs > 0 && t.totalMs >= t.rerankMs);
      if (mode === 'dense') assert.ok(t.embedMs > 0);
    }
  });

  test('{ top, budgetMs }: top bounds the reranked candidates; the hits come from the first stage\'s top N', async () => {
    const body = await ok({ query: QUERY, k: 3, mode: 'dense', group: 'chunks', rerank: { top: 4, budgetMs: 60_000 } });
    assert.equal(body.rerank.top, 4);
    assert.equal(body.rerank.reranked, 4);
    assert.equal(body.rerank.budgetMs, 60_000);
    const expected = (await rerankedOrder(await reader.search(QUERY, { k: 4, mode: 'dense' }))).slice(0, 3);
    assert.deepEqual(body.hits.map((h) => h.id), expected.map((e) => e.hit.id));
    // k above top: the rest follow unreranked, in retrieval order.
    const wide = await ok({ query: QUERY, k: 6, mode: 'dense', group: 'chunks', rerank: { top: 2, budgetMs: null } });
    assert.equal(wide.rerank.reranked, 2);
    assert.equal(wide.rerank.budgetMs, null);
    const firstStage = await reader.search(QUERY, { k: 6, mode: 'dense' });
    assert.deepEqual(wide.hits.slice(2).map((h) => [h.id, h.rerankScore]), firstStage.slice(2).map((h) => [h.id, null]));
  });

  test('documents (default group): each placed by its best chunk in the reranked order, with the whole document on request', async () => {
    const body = await ok({ query: longTexts().get('long-2')!.slice(0, 150), k: 8, mode: 'dense', rerank: { top: 40 }, document: true });
    assert.equal(body.hits.length, 8);
    assert.equal(new Set(body.hits.map((h) => h.id)).size, 8, 'documents are distinct');
    for (let i = 1; i < body.hits.length; i++) assert.ok(body.hits[i - 1].rerankScore! >= body.hits[i].rerankScore!);
    for (const h of body.hits) {
      assert.equal(typeof h.retrievalScore, 'number');
      if (CHUNKED_IDS.includes(h.id)) {
        assert.equal(h.chunk?.parent, h.id);
        assert.ok(h.document!.text.includes(h.text), 'the best chunk lies in the reassembled document');
      } else {
        assert.equal(h.chunk, undefined);
        assert.deepEqual(h.document, { id: h.id, text: h.text });
      }
    }
  });

  test('refused: no reranker on the server, a vector query, malformed options; false is a plain search', async () => {
    assertError(await post(plain, { query: QUERY, rerank: true }), 400, 'INVALID_ARGUMENT', /no reranker.*--rerank MODEL/);
    assertError(await post(plain, { query: QUERY, rerank: { top: 5 } }), 400, 'INVALID_ARGUMENT', /no reranker/);
    const stored = (await reader.get(['s3'], { vectors: true }))[0]!;
    assertError(await post(app, { vector: Array.from(stored.vector!), rerank: true }), 400, 'INVALID_ARGUMENT', /needs a text "query"/);
    assertError(await post(app, { query: QUERY, rerank: { top: 0 } }), 400, 'INVALID_REQUEST');
    assertError(await post(app, { query: QUERY, rerank: { top: 5, depth: 3 } }), 400, 'INVALID_REQUEST');
    assertError(await post(app, { query: QUERY, rerank: { budgetMs: -1 } }), 400, 'INVALID_REQUEST');
    assertError(await post(app, { query: QUERY, rerank: 'yes' }), 400, 'INVALID_REQUEST');
    for (const server of [app, plain]) {
      const res = await post(server, { query: QUERY, k: 3, mode: 'dense', rerank: false });
      assert.equal(res.statusCode, 200);
      const body = res.json() as { hits: Hit[]; rerank?: unknown };
      assert.equal(body.rerank, undefined);
      assert.equal(body.hits[0].rerankScore, undefined);
    }
  });
});

describe('ServerReranker', () => {
  test('one Retriever per collection, kept across searches (its cost estimate with it); options are checked', async () => {
    const stage = new ServerReranker({ reranker, candidates: 6, budgetMs: 60_000 });
    const retriever = stage.retrieverFor(reader);
    assert.equal(stage.retrieverFor(reader), retriever);
    assert.equal(retriever.candidates, 6);
    await retriever.search(QUERY, { k: 2 });
    const measured = retriever.costModel.samples;
    assert.ok(measured > 0);
    await stage.retrieverFor(reader).search(QUERY, { k: 2 });
    assert.equal(stage.retrieverFor(reader).costModel.samples, measured + 1, 'the estimate carried over: no new probe');
    assert.throws(() => new ServerReranker({ reranker, candidates: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new ServerReranker({ reranker, budgetMs: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new ServerReranker({ reranker: {} as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(createServer({ collections: { sci: sciDir }, encoders: [encoder], rerank: { reranker, candidates: -1 } }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  });
});

test('serve --rerank MODEL: reranked searches over HTTP, then SIGTERM stops it cleanly', async () => {
  const p = spawnCli(['serve', '--collection', sciDir, '--read-only', '--port', '0', '--log', 'silent', '--rerank', ceDir, '--rerank-top', '7']);
  const url = await p.url();
  try {
    assert.match(p.stderr(), /reranker .*ce\)/);
    const res = await fetch(`${url}/collections/sci/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY, k: 3, rerank: true }) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { hits: Hit[]; rerank: RerankInfo };
    assert.equal(body.rerank.top, 7);
    assert.equal(body.rerank.reranked, 7);
    assert.equal(body.rerank.mode, 'hybrid', 'the default mode of a text query');
    assert.equal(body.hits.length, 3);
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.equal(await p.exit, 0, p.stderr());
  assert.match(p.stderr(), /stopped/);
});

test('serve: --rerank-* without --rerank is a usage error', async () => {
  const p = spawnCli(['serve', '--collection', sciDir, '--rerank-top', '5']);
  assert.equal(await p.exit, 2);
  assert.match(p.stderr(), /--rerank-top needs --rerank MODEL/);
});
