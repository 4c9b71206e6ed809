/** POST /mcp on the HTTP server, driven by the MCP SDK's Client over Streamable HTTP, behind the API key. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Collection } from '../../src/collection/collection.ts';
import { indexDocuments } from '../../src/ingest/index-documents.ts';
import { Retriever } from '../../src/retriever/retriever.ts';
import { createServer } from '../../src/server/app.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { tinyEncoder } from '../collection/helpers.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { scifactDocs, tempDir } from '../helpers/synthetic.ts';

const tmp = tempDir('mcp-http');
const KEY = 'secret-key-123';
const QUERY = 'cells and proteins in cancer';
let encoder: Encoder;
let app: FastifyInstance;
let url: string;
const docsRoot = join(tmp.dir, 'docs');

before(async () => {
  encoder = await tinyEncoder(tmp.dir);
  const dir = join(tmp.dir, 'sci');
  const c = await Collection.create(dir, { encoder, index: { kind: 'flat' } });
  await indexDocuments(c, scifactDocs(20, 700).map((text, i) => ({ id: `d${i}`, text, metadata: { i }, origin: 'test' })), { chunkTokens: 48 });
  await c.close();
  mkdirSync(docsRoot);
  writeFileSync(join(docsRoot, 'note.md'), 'Vitamin D is made in the skin from sunlight.\n');
  app = await createServer({ collections: { sci: dir }, encoders: [encoder], apiKey: KEY, mcpIndexRoots: [docsRoot] });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app?.close();
  await encoder?.close();
  tmp.cleanup();
});

async function connect(headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'biencoder-http-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }));
  return client;
}

test('the SDK client over Streamable HTTP: tools, search through the pipeline, index_path inside the root', async () => {
  const client = await connect({ authorization: `Bearer ${KEY}` });
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['add_documents', 'delete_documents', 'index_path', 'list_collections', 'search']);
    const result = (await client.callTool({ name: 'search', arguments: { collection: 'sci', query: QUERY, k: 3 } })) as unknown as { structuredContent: { hits: { id: string }[]; mode: string } };
    const reader = await Collection.open(join(tmp.dir, 'sci'), { encoder, readOnly: true });
    try {
      const expected = await new Retriever({ collection: reader }).retrieve(QUERY, { k: 3 });
      assert.equal(result.structuredContent.mode, 'hybrid');
      assert.deepEqual(result.structuredContent.hits.map((h) => h.id), expected.hits.map((h) => h.id));
    } finally {
      await reader.close();
    }
    const indexed = (await client.callTool({ name: 'index_path', arguments: { collection: 'sci', path: join(docsRoot, 'note.md') } })) as unknown as { isError?: boolean; structuredContent: { inserted: number } };
    assert.equal(indexed.isError, undefined);
    assert.equal(indexed.structuredContent.inserted, 1);
    const outside = (await client.callTool({ name: 'index_path', arguments: { collection: 'sci', path: join(tmp.dir, 'sci', 'manifest.json') } })) as unknown as { isError?: boolean; content: { text: string }[] };
    assert.equal(outside.isError, true);
    assert.match(outside.content[0].text, /^PERMISSION: /);
  } finally {
    await client.close();
  }
});

test('an --index-root that does not exist fails the server at start (INVALID_ARGUMENT), not each /mcp call', async () => {
  await assert.rejects(createServer({ encoders: [encoder], mcpIndexRoots: [join(tmp.dir, 'no-such-dir')] }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});

test('behind the API key: no key is 401 before any tool runs; GET /mcp is 405 JSON', async () => {
  await assert.rejects(connect({}), /401|UNAUTHORIZED|API key/i);
  await assert.rejects(connect({ authorization: 'Bearer wrong' }), /401|UNAUTHORIZED|API key/i);
  const r = await fetch(`${url}/mcp`, { headers: { authorization: `Bearer ${KEY}`, accept: 'text/event-stream' } });
  assert.equal(r.status, 405);
  assert.equal(((await r.json()) as { code: string }).code, 'METHOD_NOT_ALLOWED');
});
