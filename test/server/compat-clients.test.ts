/**
 * The server's compatibility routes through the clients that speak them: @ai-sdk/cohere's reranking model
 * (Cohere v2 /v2/rerank), @ai-sdk/openai-compatible's embedding model (/v1/embeddings), and the plain JSON
 * shapes of Jina's /v1/rerank and Hugging Face TEI's /rerank, /embed and /info.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { embedMany, rerank } from 'ai';
import { createCohere } from '@ai-sdk/cohere';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createServer } from '../../src/server/app.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadCrossEncoder, type CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { scifactDocs, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';
import { tinyEncoder } from '../collection/helpers.ts';
import { matrixToArrays } from '../../src/matrix.ts';

const tmp = tempDir('server-compat');
const KEY = 'compat-key';
const QUERY = 'cells and proteins in cancer';
const DOCS = scifactDocs(8, 900).map((t) => t.slice(0, 300));
let encoder: Encoder;
let reranker: CrossEncoder;
let app: FastifyInstance;
let plain: FastifyInstance;
let url: string;
const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

before(async () => {
  encoder = await tinyEncoder(tmp.dir);
  reranker = await loadCrossEncoder(await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 64 }));
  app = await createServer({ encoders: [encoder], apiKey: KEY, rerank: { reranker } });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  plain = await createServer({ encoders: [encoder] });
});
after(async () => {
  await app?.close();
  await plain?.close();
  await Promise.all([encoder?.close(), reranker?.close()]);
  tmp.cleanup();
});

const rows = matrixToArrays;

describe('reranking routes', () => {
  test('@ai-sdk/cohere against /v2/rerank: the cross-encoder order and scores, top N', async () => {
    const cohere = createCohere({ baseURL: `${url}/v2`, apiKey: KEY });
    const result = await rerank({ model: cohere.rerankingModel(reranker.modelId), query: QUERY, documents: DOCS, topN: 3, maxRetries: 0 });
    const expected = await reranker.rank(QUERY, DOCS, { topK: 3 });
    assert.deepEqual(result.ranking.map((r) => [r.originalIndex, r.score.toFixed(6)]), expected.map((e) => [e.index, e.score.toFixed(6)]));
    const wrongKey = createCohere({ baseURL: `${url}/v2`, apiKey: 'nope' });
    await assert.rejects(rerank({ model: wrongKey.rerankingModel(reranker.modelId), query: QUERY, documents: DOCS, maxRetries: 0 }), /401|API key/i);
    const otherModel = createCohere({ baseURL: `${url}/v2`, apiKey: KEY });
    await assert.rejects(rerank({ model: otherModel.rerankingModel('rerank-v3.5'), query: QUERY, documents: DOCS, maxRetries: 0 }), /not served here|404/);
  });

  test('Jina /v1/rerank: strings or { text }, top_n, documents returned unless return_documents is false, usage', async () => {
    const r = await fetch(`${url}/v1/rerank`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'default', query: QUERY, documents: DOCS.map((text, i) => (i % 2 ? text : { text })), top_n: 4 }) });
    assert.equal(r.status, 200);
    const body = (await r.json()) as { model: string; usage: { total_tokens: number }; results: { index: number; relevance_score: number; document?: { text: string } }[] };
    const expected = await reranker.rank(QUERY, DOCS, { topK: 4 });
    assert.equal(body.model, reranker.modelId);
    assert.deepEqual(body.results.map((x) => [x.index, x.relevance_score.toFixed(6), x.document?.text]), expected.map((e) => [e.index, e.score.toFixed(6), DOCS[e.index]]));
    assert.equal(body.usage.total_tokens, reranker.tokenize(QUERY, DOCS).reduce((s, p) => s + p.ids.length, 0));
    const bare = (await (await fetch(`${url}/v1/rerank`, { method: 'POST', headers: auth, body: JSON.stringify({ query: QUERY, documents: DOCS, return_documents: false }) })).json()) as { results: { document?: unknown }[] };
    assert.equal(bare.results.length, DOCS.length);
    assert.ok(bare.results.every((x) => x.document === undefined));
  });

  test('TEI /rerank: [{ index, score }] best first, raw_scores gives logits, return_text', async () => {
    const r = (await (await fetch(`${url}/rerank`, { method: 'POST', headers: auth, body: JSON.stringify({ query: QUERY, texts: DOCS, return_text: true }) })).json()) as { index: number; score: number; text?: string }[];
    const expected = await reranker.rank(QUERY, DOCS);
    assert.deepEqual(r.map((x) => [x.index, x.score.toFixed(6), x.text]), expected.map((e) => [e.index, e.score.toFixed(6), DOCS[e.index]]));
    const raw = (await (await fetch(`${url}/rerank`, { method: 'POST', headers: auth, body: JSON.stringify({ query: QUERY, texts: DOCS, raw_scores: true }) })).json()) as { index: number; score: number }[];
    assert.deepEqual(raw.map((x) => x.score.toFixed(5)), expected.map((e) => e.logit.toFixed(5)));
  });

  test('without a cross-encoder the rerank routes are 400; bad bodies are 400', async () => {
    for (const [route, payload] of [['/v1/rerank', { query: QUERY, documents: DOCS }], ['/v2/rerank', { query: QUERY, documents: DOCS }], ['/rerank', { query: QUERY, texts: DOCS }]] as const) {
      const res = await plain.inject({ method: 'POST', url: route, payload });
      assert.equal(res.statusCode, 400, route);
      assert.equal(res.json().code, 'INVALID_ARGUMENT');
    }
    const empty = await app.inject({ method: 'POST', url: '/v1/rerank', headers: { authorization: `Bearer ${KEY}` }, payload: { query: QUERY, documents: [] } });
    assert.equal(empty.statusCode, 400);
    const unknownModel = await app.inject({ method: 'POST', url: '/v1/rerank', headers: { authorization: `Bearer ${KEY}` }, payload: { model: 'jina-reranker-v2', query: QUERY, documents: DOCS } });
    assert.equal(unknownModel.statusCode, 404);
    assert.equal(unknownModel.json().code, 'MODEL_NOT_FOUND');
    const mixed = await app.inject({ method: 'POST', url: '/embed', headers: { authorization: `Bearer ${KEY}` }, payload: { texts: [] } });
    assert.equal(mixed.statusCode, 400);
    assert.doesNotMatch(mixed.json().message, /inputs/, 'a bad { texts } body is told about its own shape');
  });
});

describe('embedding routes', () => {
  test('@ai-sdk/openai-compatible against /v1/embeddings equals the encoder', async () => {
    const provider = createOpenAICompatible({ name: 'biencoder', baseURL: `${url}/v1`, apiKey: KEY });
    const { embeddings } = await embedMany({ model: provider.embeddingModel('default'), values: DOCS, maxRetries: 0 });
    const expected = rows(await encoder.encode(DOCS, { role: 'document' }));
    embeddings.forEach((e, i) => e.forEach((x, j) => assert.ok(Math.abs(x - expected[i][j]) < 1e-6)));
  });

  test('TEI /embed takes { inputs } (a string or strings) and answers number[][]; GET /info describes the model', async () => {
    const one = (await (await fetch(`${url}/embed`, { method: 'POST', headers: auth, body: JSON.stringify({ inputs: DOCS[0] }) })).json()) as number[][];
    const many = (await (await fetch(`${url}/embed`, { method: 'POST', headers: auth, body: JSON.stringify({ inputs: DOCS.slice(0, 3) }) })).json()) as number[][];
    const expected = rows(await encoder.encode(DOCS.slice(0, 3), { role: 'document' }));
    assert.equal(one.length, 1);
    [one[0], ...many].forEach((v, i) => v.forEach((x, j) => assert.ok(Math.abs(x - expected[i === 0 ? 0 : i - 1][j]) < 1e-6)));
    // The biencoder shape still works beside it.
    // prompt_name: the query prompt; dimensions: Matryoshka truncation, renormalized.
    const asQuery = (await (await fetch(`${url}/embed`, { method: 'POST', headers: auth, body: JSON.stringify({ inputs: [DOCS[0]], prompt_name: 'query', dimensions: 8 }) })).json()) as number[][];
    const q = rows(await encoder.encode([DOCS[0]], { role: 'query' }))[0].slice(0, 8);
    const qn = Math.hypot(...q);
    asQuery[0].forEach((x, j) => assert.ok(Math.abs(x - q[j] / qn) < 1e-6));
    const ours = (await (await fetch(`${url}/embed`, { method: 'POST', headers: auth, body: JSON.stringify({ texts: [DOCS[0]] }) })).json()) as { dims: number };
    assert.equal(ours.dims, encoder.dims);
    const info = (await (await fetch(`${url}/info`, { headers: auth })).json()) as { model_id: string; max_input_length: number; model_type: unknown };
    assert.equal(info.model_id, encoder.modelId);
    assert.equal(info.max_input_length, encoder.maxTokens);
  });
});
