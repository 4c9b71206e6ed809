// Serving pgvector collections (PGlite + pgvector, test/helpers/pglite-server.ts) next to directory ones: in process and as `biencoder serve --store URL`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chunkDocuments } from '../../src/chunking/chunker.ts';
import { CHUNK_METADATA_KEY } from '../../src/chunking/group-by-document.ts';
import { Collection } from '../../src/collection/collection.ts';
import { createCollection } from '../../src/collection/open-collection.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { createServer } from '../../src/server/app.ts';
import { collectionsByBasename } from '../../src/server/collection-registry.ts';
import { startPgServer, type PgServer } from '../helpers/pglite-server.ts';
import { scifactDocs, tempDir } from '../helpers/synthetic.ts';
import { tinyEncoder } from '../collection/helpers.ts';
import { spawnCli } from './helpers.ts';

const tmp = tempDir('server-store-pg');
let encoder: Encoder;
let pg: PgServer;
let url: string;
let name: string;
let app: FastifyInstance;
const SHORT = scifactDocs(12, 60).map((text, i) => ({ id: `s${i}`, text: text.slice(0, 200), metadata: { i } }));
const [LONG] = scifactDocs(1, 90);

interface Hit {
  id: string;
  score: number;
  text: string;
  chunk?: { parent: string; index: number };
}

before(async () => {
  encoder = await tinyEncoder(tmp.dir);
  pg = await startPgServer();
  url = pg.collectionUrl('served');
  name = new URL(url).searchParams.get('collection')!;
  const c = await createCollection(url, { encoder, index: { kind: 'flat' } });
  try {
    await c.upsert(SHORT);
    const chunks = chunkDocuments([{ id: 'long', text: LONG }], encoder, { maxTokens: 32 });
    assert.ok(chunks.length > 2);
    await c.upsert(chunks.map((ch) => ({ id: `long#${ch.index}`, text: ch.text, metadata: { [CHUNK_METADATA_KEY]: { parent: 'long', index: ch.index, start: ch.start, end: ch.end } } })), { chunkRows: true });
  } finally {
    await c.close();
  }
  const dir = join(tmp.dir, 'papers');
  const d = await Collection.create(dir, { encoder, index: { kind: 'flat' } });
  await d.upsert([{ id: 'p', text: 'Rivers carry sediment to the sea.' }]);
  await d.close();
  app = await createServer({ collections: collectionsByBasename([dir], [url]), encoders: [encoder], microBatch: { windowMs: 1, maxBatch: 32 } });
});
after(async () => {
  await app?.close();
  await pg?.stop();
  await encoder?.close();
  tmp.cleanup();
});

test('a --store collection is served under its collection name; text searches default to hybrid; keyword works', async () => {
  const list = await app.inject({ method: 'GET', url: '/collections' });
  assert.equal(list.statusCode, 200, list.body);
  const listed = list.json<{ collections: { name: string; open: boolean; count?: number }[] }>().collections;
  assert.deepEqual(listed.map((c) => c.name).sort(), [name, 'papers'].sort());
  const rows = SHORT.length + chunkDocuments([{ id: 'long', text: LONG }], encoder, { maxTokens: 32 }).length;
  assert.equal(listed.find((c) => c.name === name)?.count, rows);

  const info = await app.inject({ method: 'GET', url: `/collections/${name}` });
  assert.equal(info.statusCode, 200, info.body);
  assert.equal(info.json<{ count: number }>().count, rows);
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.ok(metrics.includes(`biencoder_collection_documents{collection="${name}"} ${rows}`), 'a pgvector collection is counted in /metrics');
  const health = (await app.inject({ method: 'GET', url: '/healthz' })).json<{ collections: string[] }>();
  assert.ok(health.collections.includes(name), '/healthz lists the opened pgvector collection');

  for (const d of [SHORT[3], SHORT[7]]) {
    const res = await app.inject({ method: 'POST', url: `/collections/${name}/search`, payload: { query: d.text, k: 3 } });
    assert.equal(res.statusCode, 200, res.body);
    const hits = res.json<{ hits: Hit[] }>().hits;
    assert.equal(hits[0].id, d.id);
    assert.ok(hits[0].score > 0.99, String(hits[0].score));
  }
  // Documents grouped by their best chunk: the long document, found through its chunk #1.
  const chunked = await app.inject({ method: 'POST', url: `/collections/${name}/search`, payload: { query: (await storedText('long#1')), k: 2, document: true } });
  assert.equal(chunked.statusCode, 200, chunked.body);
  const [top] = chunked.json<{ hits: (Hit & { document?: { text: string } })[] }>().hits;
  assert.equal(top.id, 'long');
  assert.equal(top.chunk?.index, 1);
  assert.ok(top.document !== undefined && top.document.text.length > LONG.length * 0.9, 'the whole document is reassembled from its chunks');

  const whole = await app.inject({ method: 'GET', url: `/collections/${name}/documents/long` });
  assert.equal(whole.statusCode, 200, whole.body);
  assert.equal(whole.json<{ text: string }>().text, top.document.text);

  // Text searches default to hybrid here too; keyword search finds a document by a word only it holds.
  const search = async (payload: object): Promise<Hit[]> => {
    const res = await app.inject({ method: 'POST', url: `/collections/${name}/search`, payload });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ hits: Hit[] }>().hits;
  };
  const query = SHORT[5].text.slice(0, 60);
  const byDefault = await search({ query, k: 5 });
  assert.deepEqual(byDefault, await search({ query, k: 5, mode: 'hybrid' }));
  assert.notDeepEqual(byDefault.map((h) => h.score), (await search({ query, k: 5, mode: 'dense' })).map((h) => h.score), 'fused scores, not cosines');
  assert.equal((await search({ query: 'Pleurocidin', k: 1, mode: 'keyword' }))[0].id, 's5');

  // The directory collection next to it keeps the hybrid default.
  const dirSearch = await app.inject({ method: 'POST', url: '/collections/papers/search', payload: { query: 'Rivers carry sediment to the sea.', k: 1 } });
  assert.equal(dirSearch.statusCode, 200, dirSearch.body);
  assert.equal(dirSearch.json<{ hits: Hit[] }>().hits[0].id, 'p');
});

/** A row's text, read straight from PostgreSQL. */
async function storedText(id: string): Promise<string> {
  const r = await pg.query<{ text: string }>(`SELECT text FROM "biencoder_${name}" WHERE id = $1`, [id]);
  return r.rows[0].text;
}

test('biencoder serve --store URL: its model comes from the stored manifest; searches over HTTP; SIGTERM stops it', async () => {
  const p = spawnCli(['serve', '--store', url, '--port', '0', '--log', 'silent']);
  const base = await p.url();
  try {
    assert.match(p.stderr(), new RegExp(`collections: ${name}`));
    const res = await fetch(`${base}/collections/${name}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: SHORT[5].text, k: 2 }) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { hits: Hit[] };
    assert.equal(body.hits[0].id, 's5');
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.equal(await p.exit, 0, p.stderr());
});
