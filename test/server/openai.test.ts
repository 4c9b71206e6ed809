// The official `openai` npm client, pointed at the server's base URL, gets embeddings.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { createServer } from '../../src/server/app.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { tinyEncoder } from '../collection/helpers.ts';

const tmp = tempDir('server-openai');
const API_KEY = 'sk-test-key-123';
let base: Encoder;
let app: FastifyInstance;
let client: OpenAI;
let baseURL: string;

before(async () => {
  base = await tinyEncoder(tmp.dir);
  app = await createServer({ encoders: [base], apiKey: API_KEY });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  baseURL = `${address}/v1`;
  client = new OpenAI({ baseURL, apiKey: API_KEY, maxRetries: 0 });
});
after(async () => {
  await app?.close();
  await base.close();
  tmp.cleanup();
});

const texts = ['The quick brown fox jumps over the lazy dog.', 'Embeddings map texts to vectors.', 'A third, longer input: ' + 'words '.repeat(20)];

async function expected(): Promise<number[][]> {
  const e = await base.encode(texts, { role: 'document' });
  return Array.from({ length: e.rows }, (_, i) => Array.from(e.data.subarray(i * e.dims, (i + 1) * e.dims)));
}

function assertClose(actual: ArrayLike<number>, wanted: readonly number[]): void {
  assert.equal(actual.length, wanted.length);
  for (let j = 0; j < wanted.length; j++) assert.ok(Math.abs(actual[j] - wanted[j]) < 1e-6, `component ${j}: ${actual[j]} vs ${wanted[j]}`);
}

describe('/v1/embeddings with the openai client', () => {
  test('default request (the client asks for base64 and decodes it)', async () => {
    const res = await client.embeddings.create({ model: base.modelId, input: texts });
    assert.equal(res.object, 'list');
    assert.equal(res.model, base.modelId);
    assert.equal(res.data.length, texts.length);
    const want = await expected();
    res.data.forEach((d, i) => {
      assert.equal(d.object, 'embedding');
      assert.equal(d.index, i);
      assertClose(d.embedding, want[i]);
    });
    const tokens = base.countTokens(texts).reduce((s, n) => s + Math.min(n, base.maxTokens), 0);
    assert.deepEqual(res.usage, { prompt_tokens: tokens, total_tokens: tokens });
  });

  test('encoding_format float, a single string, the "default" model name, dimensions equal to dims', async () => {
    const res = await client.embeddings.create({ model: 'default', input: texts[1], encoding_format: 'float', dimensions: base.dims });
    assert.equal(res.data.length, 1);
    assert.ok(Array.isArray(res.data[0].embedding));
    assertClose(res.data[0].embedding, (await expected())[1]);
  });

  test('Matryoshka dimensions: the first d components of each vector, renormalized (the model normalizes)', async () => {
    const d = 8;
    const res = await client.embeddings.create({ model: 'default', input: texts, encoding_format: 'float', dimensions: d });
    const want = await expected();
    res.data.forEach((row, i) => {
      const head = want[i].slice(0, d);
      const norm = Math.hypot(...head);
      assertClose(row.embedding, head.map((x) => x / norm));
      assert.ok(Math.abs(Math.hypot(...row.embedding) - 1) < 1e-5);
    });
    // /embed takes dimensions too.
    const ours = await fetch(`${baseURL.replace(/\/v1$/, '')}/embed`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ texts, dimensions: d }) });
    const body = (await ours.json()) as { dims: number; embeddings: number[][] };
    assert.equal(body.dims, d);
    body.embeddings.forEach((row, i) => assertClose(row, res.data[i].embedding));
  });

  test('clear errors: unknown model, more dimensions than the model gives, token ids, wrong key', async () => {
    await assert.rejects(client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.NotFoundError, String(e));
      assert.match(e.message, /not served here/);
      return true;
    });
    await assert.rejects(client.embeddings.create({ model: 'default', input: 'x', dimensions: base.dims + 1 }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.match(e.message, new RegExp(`dimensions ${base.dims + 1} is more than`));
      return true;
    });
    await assert.rejects(client.embeddings.create({ model: 'default', input: [[101, 2054, 102]] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.match(e.message, /token id/);
      return true;
    });
    const wrongKey = new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(wrongKey.embeddings.create({ model: 'default', input: 'x' }), (e: unknown) => e instanceof OpenAI.AuthenticationError);
  });

  test('raw responses: { code, message } plus OpenAI\'s error object; GET /v1/models', async () => {
    const res = await fetch(`${baseURL}/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'default', input: [1, 2, 3] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string; message: string; error: { code: string; type: string } };
    assert.equal(body.code, 'UNSUPPORTED_INPUT');
    assert.equal(body.error.type, 'invalid_request_error');
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), [base.modelId]);
  });
});
