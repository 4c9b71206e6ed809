/**
 * The HTTP door applies the library's input rules, and what it accepts it can reach: over a real
 * socket (Node's fetch, a raw socket, a client in another process), as clients see it.
 * - names and ids: the longest name and id a client can create are reachable in a URL (encoded: up to
 *   9 bytes a UTF-16 unit); whatever the router or Node's parser refuses is still JSON { code, message };
 * - a body over the limit is a 413 that every client reads (Node's fetch included), whatever the limit;
 * - lone surrogates in texts become U+FFFD (upsert, search, /embed, /v1/embeddings alike);
 * - ids ending in #<n> and the `_chunk` key are refused as on the CLI; `__proto__` keys and `constructor`
 *   keys holding `prototype` (named by their path), zero query vectors on a cosine collection and ef
 *   beyond MAX_EF are refused with clear messages; a body starting with a BOM is parsed, as fastify did.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Collection } from '../../src/collection/collection.ts';
import { MAX_DOCUMENT_ID_LENGTH, MAX_ID_LENGTH } from '../../src/collection/document-input.ts';
import { CHUNK_METADATA_KEY } from '../../src/chunking/group-by-document.ts';
import { chunkId } from '../../src/chunking/chunker.ts';
import { createServer } from '../../src/server/app.ts';
import { MAX_DISCARDED_BODY, discardBody, pastDiscardCap } from '../../src/server/body-limit.ts';
import { forbiddenKeyMessage } from '../../src/server/json-body.ts';
import { COLLECTION_NAME_PATTERN } from '../../src/server/collection-registry.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { MAX_EF } from '../../src/index/validate.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { tinyEncoder } from '../collection/helpers.ts';
import { assertError } from './helpers.ts';

const tmp = tempDir('server-input-rules');
const BODY_LIMIT = 1024 * 1024;
/** The longest document id, of 3-byte UTF-8 characters: 9 bytes a character once percent-encoded. */
const LONGEST_ID = '中'.repeat(MAX_DOCUMENT_ID_LENGTH);
/** The longest row id: the last possible chunk of the longest document id. */
const LONGEST_CHUNK = chunkId(LONGEST_ID, Number.MAX_SAFE_INTEGER);
const LONGEST_NAME = `n${'x'.repeat(127)}`;
let base: Encoder;
let app: FastifyInstance;
let url: string;

interface Res {
  statusCode: number;
  headers: Headers;
  body: string;
  json(): { code: string; message: string } & Record<string, unknown>;
}

async function call(method: string, path: string, body?: unknown): Promise<Res> {
  const r = await fetch(url + path, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await r.text();
  return { statusCode: r.status, headers: r.headers, body: text, json: () => JSON.parse(text) };
}
const post = (path: string, body: unknown): Promise<Res> => call('POST', path, body);
const enc = encodeURIComponent;

before(async () => {
  base = await tinyEncoder(tmp.dir);
  const dataDir = join(tmp.dir, 'data');
  mkdirSync(dataDir);
  // A chunked document under the longest id, and the longest chunk id, written as chunked ingest writes them.
  const c = await Collection.create(join(dataDir, 'pre'), { encoder: base, index: { kind: 'flat' } });
  const chunk = (index: number, text: string, start: number) => ({
    id: chunkId(LONGEST_ID, index), text, metadata: { [CHUNK_METADATA_KEY]: { parent: LONGEST_ID, index, start, end: start + text.length } },
  });
  await c.upsert([chunk(0, 'first half', 0), chunk(1, 'second half', 11), chunk(Number.MAX_SAFE_INTEGER, 'far away', 100)], { chunkRows: true });
  await c.close();
  app = await createServer({ dataDir, encoders: [base], bodyLimit: BODY_LIMIT });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app?.close();
  await base.close();
  tmp.cleanup();
});

describe('what is accepted is reachable', () => {
  test('the longest collection name: created, then every route under it answers', async () => {
    assert.ok(COLLECTION_NAME_PATTERN.test(LONGEST_NAME) && !COLLECTION_NAME_PATTERN.test(`${LONGEST_NAME}x`));
    assert.equal((await post('/collections', { name: LONGEST_NAME, index: { kind: 'flat' } })).statusCode, 201);
    assert.equal((await call('GET', `/collections/${LONGEST_NAME}`)).statusCode, 200);
    assert.equal((await post(`/collections/${LONGEST_NAME}/documents`, { documents: [{ id: 'a', text: 'some text' }] })).statusCode, 200);
    assert.equal((await post(`/collections/${LONGEST_NAME}/search`, { query: 'some text' })).json().hits instanceof Array, true);
    assert.equal((await call('GET', `/collections/${LONGEST_NAME}/documents/a`)).statusCode, 200);
    assertError(await post('/collections', { name: `${LONGEST_NAME}x` }), 400, 'INVALID_ARGUMENT', /1 to 128/);
  });

  test('the longest document id (percent-encoded: 9,000 bytes) and the longest chunk id are reachable; one character more is refused at creation', async () => {
    await post('/collections', { name: 'ids', index: { kind: 'flat' } });
    assert.equal((await post('/collections/ids/documents', { documents: [{ id: LONGEST_ID, text: 'the longest id' }] })).statusCode, 200);
    const got = await call('GET', `/collections/ids/documents/${enc(LONGEST_ID)}`);
    assert.equal(got.statusCode, 200, got.body.slice(0, 200));
    assert.equal(got.json().id, LONGEST_ID);
    assertError(await post('/collections/ids/documents', { documents: [{ id: `${LONGEST_ID}x`, text: 't' }] }), 400, 'INVALID_ARGUMENT', new RegExp(`the limit is ${MAX_DOCUMENT_ID_LENGTH}`));

    const whole = await call('GET', `/collections/pre/documents/${enc(LONGEST_ID)}`);
    assert.equal(whole.statusCode, 200);
    assert.equal(whole.json().text, 'first half second half');
    assert.ok(LONGEST_CHUNK.length <= MAX_ID_LENGTH);
    const far = await call('GET', `/collections/pre/documents/${enc(LONGEST_CHUNK)}`);
    assert.equal(far.statusCode, 200, far.body.slice(0, 200));
    assert.equal(far.json().id, LONGEST_CHUNK);
    // Longer than any row id: the library's rule answers, as JSON.
    assertError(await call('GET', `/collections/pre/documents/${enc('中'.repeat(MAX_ID_LENGTH + 1))}`), 400, 'INVALID_ARGUMENT', /longer than 1024/);
  });

  test("what the router or Node's HTTP parser refuses is still JSON { code, message }", async () => {
    assertError(await call('GET', `/collections/pre/documents/${'a'.repeat(10_000)}`), 414, 'URI_TOO_LONG');
    assertError(await call('GET', '/collections/pre/documents/%E0%A4%A'), 400, 'INVALID_REQUEST');
    // Past Node's header size limit (16 KiB): answered by the client-error handler.
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.write(`GET /collections/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
    assert.match(raw, /^HTTP\/1\.1 431 /);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { code: string; message: string };
    assert.equal(body.code, 'HEADERS_TOO_LARGE');
    assert.equal(typeof body.message, 'string');
  });
});

test("a body over the limit is a 413 JSON answer that Node's fetch reads (a client in another process); so is a large body of another type (415)", async () => {
  // The client runs in its own process, as a real one does: the server must not close while it still sends.
  const client = `
    const body = JSON.stringify({ texts: ['x '.repeat(Number(process.argv[2]) / 2)] });
    try {
      const r = await fetch(process.argv[1], { method: 'POST', headers: { 'content-type': process.argv[3] }, body });
      console.log(JSON.stringify({ status: r.status, body: await r.json() }));
    } catch (e) {
      console.log(JSON.stringify({ error: e.message, cause: String(e.cause?.code ?? e.cause) }));
    }`;
  for (const [size, type, status, code] of [
    [4 * BODY_LIMIT, 'application/json', 413, 'PAYLOAD_TOO_LARGE'],
    [20 * BODY_LIMIT, 'application/json', 413, 'PAYLOAD_TOO_LARGE'],
    [4 * BODY_LIMIT, 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ] as const) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', client, `${url}/embed`, String(size), type]);
    const r = JSON.parse(stdout) as { status?: number; body?: { code: string }; error?: string; cause?: string };
    assert.equal(r.status, status, `${size} bytes of ${type}: ${stdout}`);
    assert.equal(r.body?.code, code);
  }
  // The server is still there.
  assert.equal((await call('GET', '/healthz')).statusCode, 200);
});

/** Whether `p` settles within `ms` (a promise still pending then is waiting for more of a body). */
async function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
}

test('discardBody: reads to the end, but no further than the cap beyond the body limit nor longer than the timeout', async () => {
  const body = (contentLength?: number) => Object.assign(new PassThrough(), { headers: contentLength === undefined ? {} : { 'content-length': String(contentLength) }, complete: false }) as unknown as IncomingMessage & PassThrough;
  const limits = { cap: 100, timeoutMs: 5000 };
  const whole = body();
  const done = discardBody(whole, 50, limits);
  whole.write(Buffer.alloc(60));
  whole.end(Buffer.alloc(30));
  await done;
  assert.equal(whole.readableEnded, true, 'read to its end');
  // Each case below would also resolve on its timeout: only the time taken shows which rule ended it.
  const quickly = async (what: string, p: Promise<void>): Promise<void> => {
    const started = performance.now();
    await p;
    assert.ok(performance.now() - started < 500, `${what}: resolved after ${Math.round(performance.now() - started)} ms`);
  };
  const endless = body();
  const capped = discardBody(endless, 50, limits);
  endless.write(Buffer.alloc(60));
  endless.write(Buffer.alloc(60));
  assert.equal(await settlesWithin(capped, 50), false, '120 bytes: within the body limit (50) and the cap (100) beyond it');
  endless.write(Buffer.alloc(60));
  await quickly('past the cap beyond the limit, without an end', capped);
  assert.equal(endless.readableEnded, false);
  await quickly('a stalled client, on the timeout', discardBody(body(), 50, { ...limits, timeoutMs: 50 }));
  await quickly('declared beyond the cap, at once', discardBody(body(151), 50, limits));
  assert.equal(await settlesWithin(discardBody(body(150), 50, limits), 50), false, 'declared within the cap: read');
});

test(`the cap counts bytes beyond the body limit: with a limit above ${MAX_DISCARDED_BODY} bytes, an over-limit body is still read before its 413`, async () => {
  const limit = 4 * MAX_DISCARDED_BODY;
  assert.equal(pastDiscardCap(limit + 1, limit), false);
  assert.equal(pastDiscardCap(limit + MAX_DISCARDED_BODY, limit), false);
  assert.equal(pastDiscardCap(limit + MAX_DISCARDED_BODY + 1, limit), true);
  assert.equal(pastDiscardCap(MAX_DISCARDED_BODY + BODY_LIMIT + 1, BODY_LIMIT), true);
  const big = Object.assign(new PassThrough(), { headers: { 'content-length': String(limit + 1) }, complete: false }) as unknown as IncomingMessage & PassThrough;
  const discarded = discardBody(big, limit);
  assert.equal(await settlesWithin(discarded, 50), false, 'a body 1 byte over the limit is read, not answered at once');
  big.end(Buffer.alloc(10));
  await discarded;
});

test(`over a socket, with a body limit above ${MAX_DISCARDED_BODY} bytes: the 413 comes once the body is sent, not while the client still sends`, async () => {
  const limit = MAX_DISCARDED_BODY + 1024;
  const big = await createServer({ encoders: [base], bodyLimit: limit });
  try {
    const port = Number(new URL(await big.listen({ host: '127.0.0.1', port: 0 })).port);
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    const closed = new Promise<void>((resolve, reject) => {
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const length = limit + 1024 * 1024;
    socket.write(`POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    socket.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(answer, '', 'no answer while the body is still coming');
    for (let sent = chunk.length; sent < length; sent += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, length - sent));
      if (!socket.write(part)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    await closed;
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.equal((JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string }).code, 'PAYLOAD_TOO_LARGE');
  } finally {
    await big.close();
  }
});

describe('lone surrogates in texts become U+FFFD at every route', () => {
  test('upsert stores U+FFFD; search, /embed and /v1/embeddings treat the text as its U+FFFD form', async () => {
    await post('/collections', { name: 'surrogates', index: { kind: 'flat' } });
    // JSON escapes: what a client writing a lone surrogate sends.
    const up = await post('/collections/surrogates/documents', '{"documents":[{"id":"a","text":"broken \\ud800 text"},{"id":"b","text":"clean words"}]}');
    assert.equal(up.statusCode, 200, up.body);
    assert.equal((await call('GET', '/collections/surrogates/documents/a')).json().text, 'broken \ufffd text');
    const hits = await post('/collections/surrogates/search', '{"query":"broken \\udc00 text","k":1,"group":"chunks"}');
    assert.equal(hits.statusCode, 200, hits.body);
    const clean = await post('/collections/surrogates/search', { query: 'broken \ufffd text', k: 1, group: 'chunks' });
    assert.deepEqual((hits.json().hits as { id: string; score: number }[]).map((h) => [h.id, h.score]), (clean.json().hits as { id: string; score: number }[]).map((h) => [h.id, h.score]));
    const e1 = await post('/embed', '{"texts":["x \\ud800 y"]}');
    const e2 = await post('/embed', { texts: ['x \ufffd y'] });
    assert.deepEqual(e1.json().embeddings, e2.json().embeddings);
    const v1 = await post('/v1/embeddings', '{"model":"default","input":"x \\ud800 y"}');
    assert.deepEqual((v1.json().data as { embedding: number[] }[])[0].embedding, (e2.json().embeddings as number[][])[0]);
    // An id is never changed silently: refused.
    assertError(await post('/collections/surrogates/documents', '{"documents":[{"id":"x\\ud800","text":"t"}]}'), 400, 'INVALID_ARGUMENT', /lone surrogate/);
  });
});

describe('reserved names and values', () => {
  test('ids ending in #<n> and the _chunk key are refused, as the CLI refuses them: no document poses as a chunk', async () => {
    await post('/collections', { name: 'reserved', index: { kind: 'flat' } });
    await post('/collections/reserved/documents', { documents: [{ id: 'victim', text: 'the real document' }] });
    assertError(await post('/collections/reserved/documents', { documents: [{ id: 'victim#0', text: 'fake chunk' }] }), 400, 'INVALID_ARGUMENT', /reserved for the ids of chunks/);
    assertError(await post('/collections/reserved/documents', {
      documents: [{ id: 'evil', text: 'fake chunk', metadata: { _chunk: { parent: 'victim', index: 0, start: 0, end: 10 } } }],
    }), 400, 'INVALID_ARGUMENT', /reserved for chunk positions/);
    assertError(await post('/collections/reserved/documents', { documents: [{ id: 'v#1', vector: Array(base.dims).fill(0.5) }] }), 400, 'INVALID_ARGUMENT', /reserved for the ids of chunks/);
    const hits = (await post('/collections/reserved/search', { query: 'fake chunk' })).json().hits as { id: string }[];
    assert.deepEqual(hits.map((h) => h.id), ['victim']);
  });

  test('__proto__ keys are 400 naming the key (not "Body is not valid JSON"); bad JSON names the syntax error', async () => {
    const proto = await post('/collections/reserved/documents', '{"documents":[{"id":"p","text":"t","metadata":{"__proto__":{"x":1}}}]}');
    assertError(proto, 400, 'INVALID_REQUEST', /documents\[0\]\.metadata: the key "__proto__" is not allowed/);
    assertError(await post('/collections/reserved/search', '{"query":"t","filter":{"\\u005f_proto__":{"x":1}}}'), 400, 'INVALID_REQUEST', /filter: the key "__proto__"/);
    assertError(await post('/collections/reserved/search', '{"query": '), 400, 'INVALID_REQUEST', /not valid JSON: /);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test('constructor.prototype keys are 400 naming where, as fastify refused them; a "constructor" key alone is data', async () => {
    assertError(await post('/collections/reserved/documents', '{"documents":[{"id":"c","text":"t","metadata":{"constructor":{"prototype":{"x":1}}}}]}'),
      400, 'INVALID_REQUEST', /documents\[0\]\.metadata: the key "constructor" holding a "prototype" key is not allowed/);
    assertError(await post('/collections/reserved/search', '{"query":"t","filter":{"\\u0063onstructor":{"prototype":1}}}'), 400, 'INVALID_REQUEST', /^filter: the key "constructor"/);
    assertError(await post('/collections/reserved/search', '{"constructor":{"prototype":{}},"query":"t"}'), 400, 'INVALID_REQUEST', /^the body: the key "constructor"/);
    const plain = await post('/collections/reserved/documents', { documents: [{ id: 'k', text: 'a constructor', metadata: { constructor: { name: 'Ada' } } }] });
    assert.equal(plain.statusCode, 200, plain.body);
  });

  test('a body starting with a byte order mark is parsed (as fastify parsed it); its forbidden keys are still named', async () => {
    const hit = await post('/collections/reserved/search', '\ufeff{"query":"the real document","k":1}');
    assert.equal(hit.statusCode, 200, hit.body);
    assert.deepEqual((hit.json().hits as { id: string }[]).map((h) => h.id), ['victim']);
    assertError(await post('/collections/reserved/search', '\ufeff{"query":"t","filter":{"__proto__":{}}}'), 400, 'INVALID_REQUEST', /^filter: the key "__proto__"/);
  });

  test('the walk naming a forbidden key takes any depth and names the first in document order', () => {
    const depth = 200_000;
    const deep = JSON.parse(`${'{"a":'.repeat(depth)}{"b":[1,{"__proto__":{}}]}${'}'.repeat(depth)}`) as unknown;
    assert.equal(forbiddenKeyMessage(deep)?.startsWith(`${'a.'.repeat(depth - 1)}a.b[1]: the key "__proto__"`), true);
    const two = JSON.parse('{"x":[{"y":{"constructor":{"prototype":{}}}}],"z":{"__proto__":1}}') as unknown;
    assert.match(forbiddenKeyMessage(two) ?? '', /^x\[0\]\.y: the key "constructor"/);
    assert.equal(forbiddenKeyMessage(JSON.parse('{"constructor":{"name":1},"proto":{"__proto":2}}')), undefined);
  });

  test(`ef: one limit (${MAX_EF}), stated once`, async () => {
    assert.equal((await post('/collections/reserved/search', { query: 'the real document', ef: MAX_EF })).statusCode, 200);
    assertError(await post('/collections/reserved/search', { query: 'the real document', ef: MAX_EF + 1 }), 400, 'INVALID_REQUEST', new RegExp(`<= ${MAX_EF}`));
  });

  test('a zero query vector is refused on a cosine collection, as a zero document vector is', async () => {
    const zero = Array(base.dims).fill(0);
    assertError(await post('/collections/reserved/documents', { documents: [{ id: 'z', vector: zero }] }), 400, 'INVALID_ARGUMENT', /zero vector has no cosine similarity/);
    assertError(await post('/collections/reserved/search', { vector: zero }), 400, 'INVALID_ARGUMENT', /zero vector has no cosine similarity/);
    assertError(await post('/collections/reserved/search', { vector: zero, group: 'chunks' }), 400, 'INVALID_ARGUMENT', /zero vector has no cosine similarity/);
  });
});
