import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Collection } from '../../src/collection/collection.ts';
import { createServer } from '../../src/server/app.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { CountingEncoder, tinyEncoder } from '../collection/helpers.ts';
import { CHUNKED_IDS, assertError, cosine, longTexts, makeCollection } from './helpers.ts';

const tmp = tempDir('server-app');
let base: Encoder;
let counting: CountingEncoder;
let app: FastifyInstance;
let sciDir: string;
const dataDir = join(tmp.dir, 'data');

interface Hit {
  id: string;
  score: number;
  text: string;
  metadata: Record<string, unknown>;
  chunk?: { id: string; parent: string; index: number; start: number; end: number };
  document?: { id: string; text: string };
}

before(async () => {
  base = await tinyEncoder(tmp.dir);
  counting = new CountingEncoder(base);
  sciDir = await makeCollection(tmp.dir, 'sci', base);
  mkdirSync(dataDir);
  app = await createServer({ collections: { sci: sciDir }, dataDir, encoders: [counting], bodyLimit: 64 * 1024, microBatch: { windowMs: 10, maxBatch: 32 } });
});
after(async () => {
  await app?.close();
  await base.close();
  tmp.cleanup();
});

const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });

describe('collections', () => {
  test('GET /collections/:name describes the collection', async () => {
    const res = await app.inject({ method: 'GET', url: '/collections/sci' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.name, 'sci');
    assert.equal(body.count, 40 + (await countChunks()));
    assert.equal(body.dims, base.dims);
    assert.equal(body.model.id, base.modelId);
    assert.equal(body.encoderLoaded, true);
    const list = (await app.inject({ method: 'GET', url: '/collections' })).json();
    assert.deepEqual(list.collections.map((c: { name: string }) => c.name), ['sci']);
  });

  test('search by text: documents by best chunk, scores equal the cosine of the query and the text', async () => {
    const long = longTexts();
    const query = long.get('long-1')!.slice(0, 120);
    const res = await post('/collections/sci/search', { query, k: 5, mode: 'dense', document: true });
    assert.equal(res.statusCode, 200);
    const hits = res.json().hits as Hit[];
    assert.equal(hits.length, 5);
    assert.equal(new Set(hits.map((h) => h.id)).size, 5, 'documents are distinct');
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score);
    const top = hits.find((h) => h.id === 'long-1');
    assert.ok(top, `long-1 is among ${hits.map((h) => h.id).join(', ')}`);
    assert.ok(top.chunk, 'a chunked document comes with its best chunk');
    assert.equal(top.chunk.parent, 'long-1');
    assert.equal(top.document?.text.slice(top.chunk.start, top.chunk.end), top.text, 'the chunk sits at its offsets in the reassembled document');
    assert.equal(top.document?.text.replace(/\s+/g, ' ').trim(), long.get('long-1')!.replace(/\s+/g, ' ').trim());
    const q = await base.encode([query], { role: 'query' });
    const t = await base.encode([top.text], { role: 'document' });
    assert.ok(Math.abs(cosine(q.data, t.data) - top.score) < 1e-4);
  });

  test('ranking modes: text queries default to hybrid; keyword is BM25 only; a bad mode is 400', async () => {
    const query = longTexts().get('long-2')!.slice(0, 150);
    const hybrid = (await post('/collections/sci/search', { query, k: 5 })).json().hits as Hit[];
    const explicit = (await post('/collections/sci/search', { query, k: 5, mode: 'hybrid' })).json().hits as Hit[];
    assert.deepEqual(hybrid.map((h) => [h.id, h.score]), explicit.map((h) => [h.id, h.score]), 'hybrid is the default');
    const dense = (await post('/collections/sci/search', { query, k: 5, mode: 'dense' })).json().hits as Hit[];
    assert.notDeepEqual(hybrid.map((h) => h.score), dense.map((h) => h.score), 'hybrid scores are fused, not cosines');
    const keyword = (await post('/collections/sci/search', { query: 'zzqx qqzvw', k: 5, mode: 'keyword' })).json().hits as Hit[];
    assert.deepEqual(keyword, [], 'keyword search finds only documents sharing a word');
    const bad = await post('/collections/sci/search', { query, mode: 'fuzzy' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'INVALID_REQUEST');
  });

  test('search group=chunks returns raw chunks; by vector; with a filter; k=0', async () => {
    const long = longTexts();
    const chunks = (await post('/collections/sci/search', { query: long.get('long-0')!.slice(0, 200), k: 10, group: 'chunks' })).json().hits as Hit[];
    assert.equal(chunks.length, 10);
    assert.ok(chunks.some((h) => h.chunk !== undefined && h.id === `${h.chunk.parent}#${h.chunk.index}`));

    const [stored] = await withCollection((c) => c.get(['s7'], { vectors: true }));
    const byVector = (await post('/collections/sci/search', { vector: Array.from(stored!.vector!), k: 3 })).json().hits as Hit[];
    assert.equal(byVector[0].id, 's7');
    assert.ok(Math.abs(byVector[0].score - 1) < 1e-5);

    const filtered = (await post('/collections/sci/search', { query: 'cell biology', k: 50, filter: { even: true, i: { $lt: 10 } } })).json().hits as Hit[];
    assert.deepEqual(filtered.map((h) => h.metadata.i).sort((a, b) => Number(a) - Number(b)), [0, 2, 4, 6, 8]);

    const none = await post('/collections/sci/search', { query: 'anything', k: 0 });
    assert.deepEqual(none.json().hits, []);
  });

  test('upsert, get, delete (with chunks) through the API', async () => {
    const docs = [
      { id: 'new-1', text: 'Mitochondria are the powerhouse of the cell.', metadata: { tag: 'bio' } },
      { id: 'new-2', text: 'Quantum computers use qubits.', metadata: { tag: 'physics' } },
    ];
    const first = await post('/collections/sci/documents', { documents: docs });
    assert.equal(first.statusCode, 200);
    assert.deepEqual(first.json(), { inserted: 2, updated: 0, unchanged: 0, embedded: 2 });
    const again = await post('/collections/sci/documents', { documents: [docs[0], { ...docs[1], metadata: { tag: 'qc' } }] });
    assert.deepEqual(again.json(), { inserted: 0, updated: 1, unchanged: 1, embedded: 0 });

    const got = await app.inject({ method: 'GET', url: '/collections/sci/documents/new-2' });
    assert.deepEqual(got.json(), { id: 'new-2', text: docs[1].text, metadata: { tag: 'qc' } });
    const whole = (await app.inject({ method: 'GET', url: '/collections/sci/documents/long-2' })).json();
    assert.ok(whole.chunks.length > 1);
    assert.equal(whole.metadata._chunk, undefined);

    const vec = new Float32Array(base.dims).fill(0.5);
    const withVector = await post('/collections/sci/documents', { documents: [{ id: 'vec-1', vector: Array.from(vec), text: 'given vector' }] });
    assert.deepEqual(withVector.json(), { inserted: 1, updated: 0, unchanged: 0, embedded: 0 });

    const before = (await app.inject({ method: 'GET', url: '/collections/sci' })).json().count;
    const chunksOfLong2 = whole.chunks.length;
    const del = await app.inject({ method: 'DELETE', url: '/collections/sci/documents', payload: { ids: ['new-1', 'long-2', 'vec-1', 'missing'] } });
    assert.equal(del.statusCode, 200);
    assert.deepEqual(del.json(), { deleted: 2 + chunksOfLong2 });
    assert.equal((await app.inject({ method: 'GET', url: '/collections/sci' })).json().count, before - 2 - chunksOfLong2);
    assertError(await app.inject({ method: 'GET', url: '/collections/sci/documents/long-2' }), 404, 'NOT_FOUND');
  });

  test('a data directory: create a collection by name, use it, and it shows in the list', async () => {
    const created = await post('/collections', { name: 'notes', index: { kind: 'flat' } });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().model.id, base.modelId);
    assert.ok(existsSync(join(dataDir, 'notes', 'manifest.json')));
    assertError(await post('/collections', { name: 'notes' }), 409, 'ALREADY_EXISTS');
    assertError(await post('/collections', { name: 'other', model: 'text-embedding-3-small' }), 404, 'MODEL_NOT_FOUND');
    await post('/collections/notes/documents', { documents: [{ id: 'n1', text: 'buy milk' }, { id: 'n2', text: 'call the plumber' }] });
    const hits = (await post('/collections/notes/search', { query: 'buy milk', k: 1 })).json().hits as Hit[];
    assert.equal(hits[0].id, 'n1');
    assert.deepEqual(created.json().keyword.analyzer.language, 'en');
    // language: the keyword analyzer of the new collection
    const zh = await post('/collections', { name: 'zh', language: 'zh', index: { kind: 'flat' } });
    assert.equal(zh.statusCode, 201, zh.body);
    assert.equal(zh.json().keyword.analyzer.language, 'zh');
    await post('/collections/zh/documents', { documents: [{ id: 'z1', text: '熊猫主要生活在四川的山区竹林里。' }, { id: 'z2', text: '长江是亚洲最长的河流。' }] });
    const zhHits = (await post('/collections/zh/search', { query: '熊猫', k: 1, mode: 'keyword' })).json().hits as Hit[];
    assert.equal(zhHits[0].id, 'z1');
    assertError(await post('/collections', { name: 'bad', language: 'klingon' }), 400, 'INVALID_REQUEST');
    const names = (await app.inject({ method: 'GET', url: '/collections' })).json().collections.map((c: { name: string }) => c.name);
    assert.deepEqual(names, ['notes', 'sci', 'zh']);
  });
});

describe('collection names cannot reach outside the data directory', () => {
  for (const [what, url] of [
    ['..', '/collections/../search'],
    ['encoded ..', '/collections/%2E%2E/search'],
    ['encoded slash', '/collections/a%2F..%2F..%2Fetc/search'],
    ['encoded absolute path', '/collections/%2Fetc%2Fpasswd/search'],
    ['dot file', '/collections/.hidden/search'],
    ['backslash', '/collections/a%5C..%5Cb/search'],
  ] as const) {
    test(what, async () => {
      const res = await post(url, { query: 'x' });
      assert.ok(res.statusCode === 400 || res.statusCode === 404, `${url}: ${res.statusCode}`);
      const body = res.json();
      assert.ok(['INVALID_ARGUMENT', 'ROUTE_NOT_FOUND'].includes(body.code), `${url}: ${body.code}`);
    });
  }

  test('creating with a bad name, and a symbolic link to elsewhere', async () => {
    assertError(await post('/collections', { name: '../escape' }), 400, 'INVALID_ARGUMENT', /invalid collection name/);
    assertError(await post('/collections', { name: '/tmp/abs' }), 400, 'INVALID_ARGUMENT');
    symlinkSync(sciDir, join(dataDir, 'link'));
    assertError(await post('/collections/link/search', { query: 'x' }), 400, 'INVALID_ARGUMENT', /outside the data directory/);
    assertError(await post('/collections/nope/search', { query: 'x' }), 404, 'NOT_FOUND');
  });
});

describe('request validation: 4xx JSON { code, message }', () => {
  test('schema violations are 400 INVALID_REQUEST', async () => {
    assertError(await post('/collections/sci/search', { query: 'x', k: '5' }), 400, 'INVALID_REQUEST', /k/);
    assertError(await post('/collections/sci/search', { query: 'x', k: 5000 }), 400, 'INVALID_REQUEST');
    assertError(await post('/collections/sci/search', { query: 'x', filters: {} }), 400, 'INVALID_REQUEST', /additional/);
    assertError(await post('/collections/sci/search', { query: 'x', group: 'pages' }), 400, 'INVALID_REQUEST');
    assertError(await post('/collections/sci/documents', { documents: [{ text: 'no id' }] }), 400, 'INVALID_REQUEST', /id/);
    assertError(await post('/collections/sci/documents', [1, 2]), 400, 'INVALID_REQUEST');
    assertError(await post('/embed', { texts: [] }), 400, 'INVALID_REQUEST');
  });

  test('semantic errors keep their library codes', async () => {
    assertError(await post('/collections/sci/search', { k: 3 }), 400, 'INVALID_ARGUMENT', /either "query"/);
    assertError(await post('/collections/sci/search', { query: '   ' }), 400, 'EMPTY_INPUT');
    assertError(await post('/collections/sci/search', { vector: [1, 2, 3] }), 400, 'DIMENSION_MISMATCH');
    assertError(await post('/collections/sci/search', { query: 'x', filter: { a: { $regex: 'x' } } }), 400, 'INVALID_ARGUMENT');
    assertError(await post('/collections/sci/documents', { documents: [{ id: 'e', text: '' }] }), 400, 'EMPTY_INPUT');
    assertError(await post('/collections/sci/documents', { documents: [{ id: 'd', text: 'a' }, { id: 'd', text: 'b' }] }), 400, 'INVALID_ARGUMENT', /twice/);
    assertError(await post('/collections/sci/documents', { documents: [{ id: 'v', vector: [1] }, { id: 'w', text: 'b' }] }), 400, 'INVALID_ARGUMENT', /all have a vector/);
  });

  test('bad JSON, wrong content type, too large a body, unknown route', async () => {
    const badJson = await app.inject({ method: 'POST', url: '/collections/sci/search', headers: { 'content-type': 'application/json' }, payload: '{"query": ' });
    assertError(badJson, 400, 'INVALID_REQUEST');
    const text = await app.inject({ method: 'POST', url: '/collections/sci/search', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    assertError(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const big = await post('/collections/sci/documents', { documents: [{ id: 'big', text: 'x '.repeat(40_000) }] });
    assertError(big, 413, 'PAYLOAD_TOO_LARGE');
    assertError(await app.inject({ method: 'GET', url: '/nowhere' }), 404, 'ROUTE_NOT_FOUND');
  });
});

describe('/embed, /healthz, /metrics, the page', () => {
  test('/embed gives the vectors of encoder.encode for the role', async () => {
    const texts = ['first text', 'second text'];
    const res = await post('/embed', { texts, role: 'query' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    const direct = await base.encode(texts, { role: 'query' });
    assert.equal(body.model, base.modelId);
    assert.equal(body.dims, base.dims);
    body.embeddings.forEach((v: number[], i: number) => {
      const expected = Array.from(direct.data.subarray(i * base.dims, (i + 1) * base.dims));
      v.forEach((x, j) => assert.ok(Math.abs(x - expected[j]) < 1e-6));
    });
    assertError(await post('/embed', { texts, model: 'nope' }), 404, 'MODEL_NOT_FOUND');
  });

  test('concurrent searches share embedding batches', async () => {
    const callsBefore = counting.calls;
    const queriesBefore = counting.queries;
    const n = 24;
    const responses = await Promise.all(Array.from({ length: n }, (_, i) => post('/collections/sci/search', { query: `protein folding question ${i}`, k: 3 })));
    for (const r of responses) assert.equal(r.statusCode, 200);
    assert.equal(counting.queries - queriesBefore, n);
    assert.ok(counting.calls - callsBefore < n / 2, `${counting.calls - callsBefore} encode calls for ${n} concurrent searches`);
  });

  test('/healthz and /metrics (Prometheus text)', async () => {
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.json().status, 'ok');
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    assert.match(String(metrics.headers['content-type']), /text\/plain/);
    const text = metrics.body;
    assert.match(text, /biencoder_http_requests_total\{method="POST",route="\/collections\/:name\/search",status="200"\} \d+/);
    assert.match(text, /biencoder_http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/collections\/:name\/search",status="200"\}/);
    assert.match(text, /biencoder_http_requests_total\{method="POST",route="\/collections\/:name\/search",status="400"\} \d+/);
    assert.match(text, /biencoder_embed_batch_size_count\{model="[^"]+"\} \d+/);
    const count = (await app.inject({ method: 'GET', url: '/collections/sci' })).json().count;
    assert.match(text, new RegExp(`biencoder_collection_documents\\{collection="sci"\\} ${count}\\b`));
    assert.match(text, /biencoder_process_resident_memory_bytes \d+/);
  });

  test('GET / serves the search page and its script', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.body, /<script src="\/page\/app.js"/);
    const js = await app.inject({ method: 'GET', url: '/page/app.js' });
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.match(js.body, /\/search`/);
  });
});

describe('API key', () => {
  test('401 without or with a wrong key; /healthz and the page stay public', async () => {
    const keyed = await createServer({ collections: { sci: sciDir }, encoders: [base], apiKey: 's3cret-key', readOnly: true });
    try {
      assertError(await keyed.inject({ method: 'POST', url: '/collections/sci/search', payload: { query: 'x' } }), 401, 'UNAUTHORIZED', /API key/);
      const wrong = await keyed.inject({ method: 'POST', url: '/collections/sci/search', payload: { query: 'x' }, headers: { authorization: 'Bearer s3cret-kez' } });
      assertError(wrong, 401, 'UNAUTHORIZED', /wrong/);
      assert.equal(wrong.headers['www-authenticate'], 'Bearer');
      assertError(await keyed.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Basic abc' } }), 401, 'UNAUTHORIZED');
      const ok = await keyed.inject({ method: 'POST', url: '/collections/sci/search', payload: { query: 'cells', k: 2 }, headers: { authorization: 'Bearer s3cret-key' } });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.json().hits.length, 2);
      assert.equal((await keyed.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal((await keyed.inject({ method: 'GET', url: '/' })).statusCode, 200);
      // Read-only: writes are refused with READ_ONLY (403).
      const write = await keyed.inject({ method: 'POST', url: '/collections/sci/documents', payload: { documents: [{ id: 'x', text: 'y' }] }, headers: { authorization: 'Bearer s3cret-key' } });
      assertError(write, 403, 'READ_ONLY');
    } finally {
      await keyed.close();
    }
  });
});

async function countChunks(): Promise<number> {
  const res = await post('/collections/sci/search', { query: 'anything at all', k: 1000, group: 'chunks', filter: { kind: 'long' } });
  return (res.json().hits as Hit[]).length;
}

async function withCollection<T>(fn: (c: Collection) => Promise<T>): Promise<T> {
  const c = await Collection.open(sciDir, { readOnly: true });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

void CHUNKED_IDS;
