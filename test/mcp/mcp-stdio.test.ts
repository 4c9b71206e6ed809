/** `biencoder mcp` over stdio, driven by the MCP SDK's own Client and StdioClientTransport. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Collection } from '../../src/collection/collection.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { indexDocuments } from '../../src/ingest/index-documents.ts';
import { Retriever } from '../../src/retriever/retriever.ts';
import { CLI } from '../helpers/cli-bin.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';

const tmp = tempDir('mcp-stdio');
const QUERY = 'cells and proteins in cancer';
const SOURCES = scifactDocs(12, 500).map((text, i) => ({ id: `doc${i}`, text, metadata: { i }, origin: 'test' }));
let encoder: Encoder;
let kb: string;
let client: Client;
const root = join(tmp.dir, 'allowed');
const outside = join(tmp.dir, 'outside');

type ToolResult = { isError?: boolean; content: { type: string; text: string }[]; structuredContent?: Record<string, unknown> };
const call = async (name: string, args: Record<string, unknown>): Promise<ToolResult> => (await client.callTool({ name, arguments: args })) as ToolResult;

before(async () => {
  const modelDir = await syntheticModel(tmp.dir, 'bi', { tiny: true });
  encoder = await loadOnnxEncoder(modelDir);
  kb = join(tmp.dir, 'kb');
  const c = await Collection.create(kb, { encoder, index: { kind: 'flat' } });
  await indexDocuments(c, SOURCES, { chunkTokens: 32 });
  await c.close();
  mkdirSync(join(root, 'notes'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(root, 'notes', 'a.md'), 'Mitochondria are the powerhouse of the cell.\n');
  writeFileSync(join(root, 'notes', 'b.txt'), 'Ribosomes make proteins.\n');
  mkdirSync(join(root, 'other'));
  writeFileSync(join(root, 'other', 'a.md'), 'Chloroplasts capture light.\n');
  writeFileSync(join(root, '..notes.md'), 'A file whose name starts with two dots.\n');
  writeFileSync(join(outside, 'secret.txt'), 'a secret outside the allowed directory\n');
  mkdirSync(join(root, 'linked'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'linked', 'secret.txt'));
  symlinkSync(outside, join(root, 'out-dir'));
  client = new Client({ name: 'biencoder-test', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [...CLI, 'mcp', '--collection', kb, '--index-root', root], stderr: 'pipe' }));
});
after(async () => {
  await client?.close();
  await encoder?.close();
  tmp.cleanup();
});

describe('biencoder mcp (stdio)', () => {
  test('five tools, each with an input and an output schema', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['add_documents', 'delete_documents', 'index_path', 'list_collections', 'search']);
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object', t.name);
      assert.equal(t.outputSchema?.type, 'object', t.name);
    }
    const search = tools.find((t) => t.name === 'search')!;
    assert.deepEqual(search.inputSchema.required, ['collection', 'query']);
  });

  test('list_collections and search: the pipeline\'s results, as structured content and JSON text', async () => {
    const listed = await call('list_collections', {});
    assert.deepEqual(listed.structuredContent, { collections: [{ name: 'kb', count: (listed.structuredContent!.collections as { count: number }[])[0].count, dims: encoder.dims, model: encoder.modelId, searchModes: ['dense', 'keyword', 'hybrid'], readOnly: false }] });
    const found = await call('search', { collection: 'kb', query: QUERY, k: 4, filter: { i: { $lt: 8 } } });
    assert.equal(found.isError, undefined, found.content[0]?.text);
    const reader = await Collection.open(kb, { encoder, readOnly: true });
    try {
      const expected = await new Retriever({ collection: reader }).retrieve(QUERY, { k: 4, filter: { i: { $lt: 8 } } });
      const hits = found.structuredContent!.hits as { id: string; score: number }[];
      assert.equal(found.structuredContent!.mode, 'hybrid');
      assert.deepEqual(hits.map((h) => h.id), expected.hits.map((h) => h.id));
      assert.deepEqual(JSON.parse(found.content[0].text), found.structuredContent);
    } finally {
      await reader.close();
    }
  });

  test('add_documents, then search finds it; delete_documents removes it with its chunks', async () => {
    const long = `${'Telomeres shorten with each cell division. '.repeat(40)}`;
    const added = await call('add_documents', { collection: 'kb', documents: [{ id: 'telo', text: long, metadata: { topic: 'aging' } }] });
    assert.equal(added.isError, undefined, added.content[0]?.text);
    assert.equal(added.structuredContent!.inserted, 1);
    assert.ok((added.structuredContent!.rowsWritten as number) > 1, 'chunked as biencoder index chunks');
    const found = await call('search', { collection: 'kb', query: 'telomeres cell division', k: 1, filter: { topic: 'aging' } });
    assert.equal((found.structuredContent!.hits as { id: string }[])[0].id, 'telo');
    const deleted = await call('delete_documents', { collection: 'kb', ids: ['telo'] });
    assert.equal(deleted.structuredContent!.deleted, added.structuredContent!.rowsWritten);
    const after = await call('search', { collection: 'kb', query: 'telomeres', k: 3, filter: { topic: 'aging' } });
    assert.deepEqual(after.structuredContent!.hits, []);
  });

  test('index_path: inside --index-root indexes; outside, through a symlink, or a folder holding one is PERMISSION', async () => {
    const ok = await call('index_path', { collection: 'kb', path: join(root, 'notes') });
    assert.equal(ok.isError, undefined, ok.content[0]?.text);
    assert.equal(ok.structuredContent!.files, 2);
    assert.equal(ok.structuredContent!.inserted, 2);
    const found = await call('search', { collection: 'kb', query: 'powerhouse of the cell', k: 1, mode: 'keyword' });
    assert.equal((found.structuredContent!.hits as { id: string }[])[0].id, 'notes/a.md', 'ids are relative to the index root');
    // A file of the same name in another folder is another document, not an update of the first.
    const other = await call('index_path', { collection: 'kb', path: join(root, 'other', 'a.md') });
    assert.equal(other.structuredContent!.inserted, 1);
    assert.equal(other.structuredContent!.updated, 0);
    const dots = await call('index_path', { collection: 'kb', path: join(root, '..notes.md') });
    assert.equal(dots.isError, undefined, 'a name starting with .. inside the root is inside');
    // Paths as a client sends them: raw `..` segments, not normalized before they arrive.
    for (const path of [join(outside, 'secret.txt'), join(root, 'linked', 'secret.txt'), join(root, 'linked'), join(root, 'out-dir'), `${root}/../outside`, `${root}/notes/../../outside/secret.txt`, root]) {
      const refused = await call('index_path', { collection: 'kb', path });
      assert.equal(refused.isError, true, path);
      assert.match(refused.content[0].text, /^PERMISSION: /, path);
    }
    const secret = await call('search', { collection: 'kb', query: 'secret outside', k: 5, mode: 'keyword' });
    assert.deepEqual(secret.structuredContent!.hits, [], 'nothing outside was indexed');
    const missing = await call('index_path', { collection: 'kb', path: join(root, 'nope.txt') });
    assert.match(missing.content[0].text, /^NOT_FOUND: /);
  });

  test('refusals are tool errors with the code: unknown collection, bad arguments, rerank without a reranker, reserved ids', async () => {
    const unknown = await call('search', { collection: 'nope', query: QUERY });
    assert.equal(unknown.isError, true);
    assert.match(unknown.content[0].text, /^NOT_FOUND: /);
    const badK = await call('search', { collection: 'kb', query: QUERY, k: 0 });
    assert.equal(badK.isError, true);
    assert.match(badK.content[0].text, /Input validation error/);
    const rerank = await call('search', { collection: 'kb', query: QUERY, rerank: true });
    assert.match(rerank.content[0].text, /^INVALID_ARGUMENT: /);
    const reserved = await call('add_documents', { collection: 'kb', documents: [{ id: 'x#3', text: 'pretends to be a chunk' }] });
    assert.equal(reserved.isError, true);
    assert.match(reserved.content[0].text, /^INVALID_(INPUT|ARGUMENT): /);
  });
});
