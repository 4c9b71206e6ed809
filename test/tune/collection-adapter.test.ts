/**
 * A query adapter stored with a collection (both stores): applied to every text query the collection
 * embeds, through every door (library search and searchBatch, hybrid, Retriever, searchDocuments, CLI,
 * server), `adapter: false` to compare, removable; documents and their vectors never change.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectionApi } from '../../src/collection/collection-api.ts';
import type { SearchHit } from '../../src/collection/collection.ts';
import { createCollection, openCollection } from '../../src/collection/open-collection.ts';
import { searchDocuments } from '../../src/chunking/group-by-document.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadEncoder } from '../../src/encoders/load-encoder.ts';
import { Retriever } from '../../src/retriever/retriever.ts';
import { createServer } from '../../src/server/app.ts';
import { QueryAdapter } from '../../src/tune/query-adapter.ts';
import { startPgServer, type PgServer } from '../helpers/pglite-server.ts';
import { rng } from '../helpers/prng.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { rejectsWith } from '../collection/helpers.ts';
import { runCli } from '../cli/run-cli.ts';

const tmp = tempDir('collection-adapter');
let encoder: Encoder;
let model: string;
let pg: PgServer;
const TEXTS = scifactDocs(40).map((t) => t.slice(0, 300));
const QUERIES = ['protein structure in cells', 'cancer risk in women', 'vaccine trial in children', 'DNA repair'];

before(async () => {
  model = await syntheticModel(tmp.dir, 'bi', { tiny: true });
  [encoder, pg] = await Promise.all([loadEncoder(model), startPgServer()]);
});
after(async () => {
  await pg?.stop();
  await encoder?.close();
  tmp.cleanup();
});

/** A non-trivial adapter for the encoder's dims (seeded). */
function someAdapter(seed: number): QueryAdapter {
  const random = rng(seed);
  const adapter = QueryAdapter.identity(encoder.dims, 4, random);
  for (let i = 0; i < adapter.b.length; i++) adapter.b[i] = (random() * 2 - 1) * 2;
  return adapter;
}

const ids = (hits: readonly { id: string }[]): string[] => hits.map((h) => h.id);
function sameHits(a: readonly SearchHit[], b: readonly SearchHit[], what: string): void {
  assert.deepEqual(ids(a), ids(b), what);
  a.forEach((h, i) => assert.ok(Math.abs(h.score - b[i].score) < 1e-6, `${what}: ${h.score} vs ${b[i].score}`));
}

let dirN = 0;
const STORES = [
  { name: 'embedded', target: () => join(tmp.dir, `c${dirN++}`) },
  { name: 'pgvector', target: () => pg.collectionUrl('adapter') },
];

for (const store of STORES) {
  describe(`query adapter: ${store.name}`, () => {
    test('applied to every text query the collection embeds; adapter: false compares; stored vectors untouched; reopened; removed', async () => {
      const target = store.target();
      const c: CollectionApi = await createCollection(target, { encoder, index: { kind: 'flat' } });
      try {
        await c.upsert(TEXTS.map((text, i) => ({ id: `d${i}`, text })));
        const before = await c.get(['d0', 'd7'], { vectors: true });
        const adapter = someAdapter(3);
        await c.setQueryAdapter(adapter, { validation: { note: 'test' } });
        assert.equal(c.queryAdapter, adapter);
        assert.match(c.manifest.queryAdapter!.sha256, /^[0-9a-f]{64}$/);
        assert.deepEqual(c.manifest.queryAdapter!.baseModel, { modelId: encoder.modelId, revision: c.manifest.encoder.revision });
        assert.deepEqual(await c.get(['d0', 'd7'], { vectors: true }), before, 'documents and their vectors do not change');

        const base = await encoder.encode(QUERIES, { role: 'query' });
        const adapted = adapter.apply({ data: base.data, rows: base.rows, dims: base.dims });
        const row = (m: { data: Float32Array; dims: number }, i: number): Float32Array => m.data.slice(i * m.dims, (i + 1) * m.dims);
        assert.deepEqual([...(await c.embedQueries(QUERIES)).data], [...adapted.data]);
        assert.deepEqual([...(await c.embedQueries(QUERIES, { adapter: false })).data], [...base.data]);
        let differs = 0;
        for (const [i, q] of QUERIES.entries()) {
          const withAdapter = await c.search(q, { k: 5 });
          sameHits(withAdapter, await c.search(row(adapted, i), { k: 5 }), `${q}: dense through the adapter`);
          const without = await c.search(q, { k: 5, adapter: false });
          sameHits(without, await c.search(row(base, i), { k: 5 }), `${q}: adapter false`);
          if (ids(withAdapter).join() !== ids(without).join()) differs++;
          sameHits(await c.search(q, { k: 5, mode: 'hybrid' }), await c.search({ text: q, vector: row(adapted, i) }, { k: 5, mode: 'hybrid' }), `${q}: hybrid's dense side`);
          // the other doors: the Retriever (documents) and searchDocuments
          const retrieved = await new Retriever({ collection: c, mode: 'dense' }).retrieve(q, { k: 5, results: 'chunks' });
          assert.deepEqual(ids(retrieved.hits), ids(withAdapter), `${q}: Retriever`);
          const retrievedBase = await new Retriever({ collection: c, mode: 'dense' }).retrieve(q, { k: 5, results: 'chunks', adapter: false });
          assert.deepEqual(ids(retrievedBase.hits), ids(without), `${q}: Retriever, adapter false`);
          assert.deepEqual(ids(await searchDocuments(c, q, { k: 5 })), ids(withAdapter), `${q}: searchDocuments`);
        }
        assert.ok(differs > 0, 'the adapter changes some ranking (the test would mean nothing otherwise)');
        const batch = await c.searchBatch(QUERIES, { k: 5 });
        batch.forEach((hits, i) => assert.deepEqual(ids(hits), ids(batch[i])));

        const again = await openCollection(target, { encoder, readOnly: true });
        try {
          assert.equal(again.queryAdapter?.weightsSha256(), adapter.weightsSha256());
          sameHits(await again.search(QUERIES[0], { k: 5 }), await c.search(QUERIES[0], { k: 5 }), 'a new handle loads it');
        } finally {
          await again.close();
        }
        await rejectsWith(c.setQueryAdapter(QueryAdapter.identity(4, 2, rng(1))), 'DIMENSION_MISMATCH');
        assert.equal(await c.removeQueryAdapter(), true);
        assert.equal(c.queryAdapter, undefined);
        assert.equal(c.manifest.queryAdapter, undefined);
        sameHits(await c.search(QUERIES[0], { k: 5 }), await c.search(row(base, 0), { k: 5 }), 'removed: the base model again');
        assert.equal(await c.removeQueryAdapter(), false);
        const reader = await openCollection(target, { encoder, readOnly: true });
        try {
          assert.equal(reader.queryAdapter, undefined);
          await rejectsWith(reader.setQueryAdapter(adapter), 'READ_ONLY');
        } finally {
          await reader.close();
        }
      } finally {
        await c.close();
      }
    });

    for (const damage of ['damaged', 'missing'] as const) {
      test(`a ${damage} adapter: text queries through it are COLLECTION_CORRUPT; the collection still opens, vector and adapter: false searches work, and it can be removed`, async () => {
        const target = store.target();
        const c = await createCollection(target, { encoder, index: { kind: 'flat' } });
        await c.upsert(TEXTS.slice(0, 10).map((text, i) => ({ id: `d${i}`, text })));
        await c.setQueryAdapter(someAdapter(4));
        const record = c.manifest.queryAdapter!;
        await c.close();
        const name = new URL(target, 'file:///').searchParams.get('collection');
        if (store.name === 'embedded') {
          const path = join(target, record.file);
          if (damage === 'missing') rmSync(path);
          else {
            const bytes = readFileSync(path);
            bytes[bytes.length - 1] ^= 0xff;
            writeFileSync(path, bytes);
          }
        } else if (damage === 'missing') {
          await pg.query('DELETE FROM biencoder_query_adapters WHERE collection = $1', [name]);
        } else {
          await pg.query(`UPDATE biencoder_query_adapters SET bytes = overlay(bytes placing '\\x00'::bytea from length(bytes)) WHERE collection = $1`, [name]);
        }
        const broken = await openCollection(target, { encoder });
        try {
          assert.equal(broken.queryAdapter, undefined);
          await rejectsWith(broken.search(QUERIES[0]), 'COLLECTION_CORRUPT', damage === 'missing' ? /not stored|cannot be read/ : /checksum/);
          await rejectsWith(broken.embedQueries([QUERIES[0]]), 'COLLECTION_CORRUPT');
          assert.equal((await broken.search(QUERIES[0], { adapter: false, k: 3 })).length, 3);
          const v = (await encoder.encode([QUERIES[0]], { role: 'query' })).data;
          assert.equal((await broken.search(v, { k: 3 })).length, 3);
          assert.equal(await broken.count(), 10, 'nothing stored is out of reach');
          assert.equal(await broken.removeQueryAdapter(), true);
          assert.equal((await broken.search(QUERIES[0], { k: 3 })).length, 3);
        } finally {
          await broken.close();
        }
      });
    }
  });
}

test('doors: CLI search (--no-adapter), tune --remove and its usage errors, server "adapter": false', async () => {
  const dir = join(tmp.dir, 'cli');
  const c = await createCollection(dir, { encoder, index: { kind: 'flat' } });
  await c.upsert(TEXTS.map((text, i) => ({ id: `d${i}`, text })));
  const adapter = someAdapter(5);
  await c.setQueryAdapter(adapter);
  const expected = ids(await c.search(QUERIES[1], { k: 5 }));
  const expectedBase = ids(await c.search(QUERIES[1], { k: 5, adapter: false }));
  assert.notDeepEqual(expected, expectedBase);
  await c.close();

  const search = async (extra: string[]): Promise<string[]> => {
    const r = await runCli(['search', QUERIES[1], '--collection', dir, '--mode', 'dense', '--chunks', '-k', '5', '--json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { hits: { id: string }[] }).hits.map((h) => h.id);
  };
  assert.deepEqual(await search([]), expected);
  assert.deepEqual(await search(['--no-adapter']), expectedBase);

  const app = await createServer({ collections: { kb: dir }, encoders: [encoder] });
  try {
    const post = async (payload: object): Promise<string[]> => {
      const res = await app.inject({ method: 'POST', url: '/collections/kb/search', payload });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ hits: { id: string }[] }>().hits.map((h) => h.id);
    };
    assert.deepEqual(await post({ query: QUERIES[1], k: 5, mode: 'dense', group: 'chunks' }), expected);
    assert.deepEqual(await post({ query: QUERIES[1], k: 5, mode: 'dense', group: 'chunks', adapter: false }), expectedBase);
  } finally {
    await app.close();
  }

  const usage = await runCli(['tune', '--collection', dir]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /judged queries/);
  const both = await runCli(['tune', '--collection', dir, '--remove', '--dataset', dir]);
  assert.equal(both.code, 2);
  const removed = await runCli(['tune', '--collection', dir, '--remove', '--json']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual(JSON.parse(removed.stdout), { removed: true });
  assert.deepEqual(await search([]), expectedBase, 'removed: searches use the base model');
});

test('biencoder tune trains from a dataset split and stores the adapter only when it beat the identity on validation', async () => {
  // A BEIR-format dataset over the collection's documents: each query a fragment of its document.
  const data = join(tmp.dir, 'data');
  mkdirSync(join(data, 'qrels'), { recursive: true });
  writeFileSync(join(data, 'corpus.jsonl'), TEXTS.map((text, i) => JSON.stringify({ _id: `d${i}`, title: '', text })).join('\n'));
  writeFileSync(join(data, 'queries.jsonl'), TEXTS.map((text, i) => JSON.stringify({ _id: `q${i}`, text: text.split(' ').slice(3, 9).join(' ') })).join('\n'));
  writeFileSync(join(data, 'qrels', 'train.tsv'), ['query-id\tcorpus-id\tscore', ...TEXTS.map((_, i) => `q${i}\td${i}\t1`)].join('\n'));
  const dir = join(tmp.dir, 'tuned');
  const c = await createCollection(dir, { encoder, index: { kind: 'flat' } });
  await c.upsert(TEXTS.map((text, i) => ({ id: `d${i}`, text })));
  await c.close();
  const r = await runCli(['tune', '--collection', dir, '--dataset', data, '--split', 'train', '--epochs', '5', '--rank', '4', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { saved: boolean; validation: { queries: number; baseNdcg10: number; bestNdcg10: number }; trainingQueries: number; reason?: string };
  assert.equal(out.validation.queries, 8);
  assert.equal(out.trainingQueries, 32);
  assert.equal(out.saved, out.validation.bestNdcg10 > out.validation.baseNdcg10, 'stored exactly when it beat the identity');
  const reopened = await openCollection(dir, { encoder, readOnly: true });
  try {
    assert.equal(reopened.queryAdapter !== undefined, out.saved);
    if (!out.saved) assert.match(out.reason!, /identity/);
  } finally {
    await reopened.close();
  }
});

test('pgvector: set and remove act on the manifest as stored, not a handle\'s copy (two handles)', async () => {
  const url = pg.collectionUrl('adapter_two');
  const a = await createCollection(url, { encoder, index: { kind: 'flat' } });
  const b = await openCollection(url, { encoder });
  try {
    await a.setQueryAdapter(someAdapter(6));
    assert.equal(await b.removeQueryAdapter(), true, 'b removes what a stored, though b opened before it');
    const name = new URL(url).searchParams.get('collection');
    const { rows } = await pg.query<{ manifest: { queryAdapter?: unknown } }>('SELECT manifest FROM biencoder_collections WHERE name = $1', [name]);
    assert.equal(rows[0].manifest.queryAdapter, undefined);
    assert.equal((await pg.query('SELECT 1 FROM biencoder_query_adapters WHERE collection = $1', [name])).rows.length, 0);
  } finally {
    await b.close();
    await a.close();
  }
});

test('framework doors embed through the adapter: LangChain (similarity and MMR), LlamaIndex (default mode with the query text)', async () => {
  const { BiencoderEmbeddings, BiencoderVectorStore } = await import('../../src/adapters/langchain/index.ts');
  const { BiencoderLlamaEmbedding, BiencoderLlamaVectorStore } = await import('../../src/adapters/llamaindex/index.ts');
  const { VectorStoreQueryMode } = await import('@llamaindex/core/vector-store');
  const c = await createCollection(join(tmp.dir, 'frameworks'), { encoder, index: { kind: 'flat' } });
  try {
    await c.upsert(TEXTS.map((text, i) => ({ id: `d${i}`, text })));
    await c.setQueryAdapter(someAdapter(8));
    const q = QUERIES[2];
    const expected = ids(await c.search(q, { k: 4 }));
    assert.notDeepEqual(expected, ids(await c.search(q, { k: 4, adapter: false })));
    const lc = new BiencoderVectorStore(new BiencoderEmbeddings({ encoder }), { collection: c, mode: 'dense' });
    assert.deepEqual((await lc.similaritySearch(q, 4)).map((d) => d.id), expected);
    const mmr = await lc.maxMarginalRelevanceSearch(q, { k: 1, fetchK: 4, lambda: 1 });
    assert.equal(mmr[0].id, expected[0], 'MMR with lambda 1 (relevance only) starts from the adapted query');
    const li = new BiencoderLlamaVectorStore({ collection: c, embeddingModel: new BiencoderLlamaEmbedding({ encoder }) });
    const found = await li.query({ mode: VectorStoreQueryMode.DEFAULT, queryStr: q, queryEmbedding: [0], similarityTopK: 4 });
    assert.deepEqual(found.ids, expected);
  } finally {
    await c.close();
  }
});
