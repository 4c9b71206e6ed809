import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import type { CollectionApi } from '../../src/collection/collection-api.ts';
import { createCollection } from '../../src/collection/open-collection.ts';
import { searchDocuments } from '../../src/chunking/group-by-document.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { indexDocuments } from '../../src/ingest/index-documents.ts';
import { loadCrossEncoder, type CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { Retriever } from '../../src/retriever/retriever.ts';
import { documentsInOrder } from '../../src/retriever/retrieved-documents.ts';
import { startPgServer, type PgServer } from '../helpers/pglite-server.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';

const tmp = tempDir('pipeline');
const QUERY = 'cells and proteins in cancer';
// Long enough that the 24-token chunks split each document into several.
const SOURCES = scifactDocs(16, 40).map((text, i) => ({ id: `doc${i}`, text, metadata: { i, even: i % 2 === 0 }, origin: `scifact:${40 + i}` }));
let encoder: Encoder;
let reranker: CrossEncoder;
let dir: Collection;
let store: CollectionApi;
let pg: PgServer;

before(async () => {
  encoder = await loadOnnxEncoder(await syntheticModel(tmp.dir, 'bi', { tiny: true }));
  reranker = await loadCrossEncoder(await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 64 }), { batchSize: 8 });
  dir = await Collection.create(join(tmp.dir, 'col'), { encoder, index: { kind: 'flat' } });
  await indexDocuments(dir, SOURCES, { chunkTokens: 24 });
  pg = await startPgServer();
  store = await createCollection(pg.collectionUrl('pipeline'), { encoder, index: { kind: 'flat' } });
  await indexDocuments(store, SOURCES, { chunkTokens: 24 });
});
after(async () => {
  await dir?.close();
  await store?.close();
  await pg?.stop();
  await Promise.all([encoder?.close(), reranker?.close()]);
  tmp.cleanup();
});

const ids = (hits: readonly { id: string }[]): string[] => hits.map((h) => h.id);

describe('Retriever.retrieve: the one pipeline', () => {
  test('the documents really are chunked (the tests below mean something)', async () => {
    assert.ok((await dir.count()) > SOURCES.length * 2, `${await dir.count()} rows for ${SOURCES.length} documents`);
  });

  test('text queries take the collection default ranking (hybrid, on both stores), vectors dense; options override', async () => {
    const r = new Retriever({ collection: dir });
    assert.equal(r.mode, undefined);
    const text = await r.retrieve(QUERY, { k: 5 });
    assert.equal(text.mode, 'hybrid');
    assert.deepEqual(ids(text.hits), ids(await searchDocuments(dir, QUERY, { k: 5, mode: 'hybrid' })));
    const vector = (await encoder.encode([QUERY], { role: 'query' })).data;
    assert.equal((await r.retrieve(vector, { k: 5 })).mode, 'dense');
    assert.equal((await r.retrieve(QUERY, { k: 5, mode: 'keyword' })).mode, 'keyword');
    assert.equal((await new Retriever({ collection: dir, mode: 'dense' }).retrieve(QUERY, { k: 5 })).mode, 'dense');
    assert.equal((await new Retriever({ collection: store }).retrieve(QUERY, { k: 5 })).mode, 'hybrid');
  });

  test('documents without a reranker are searchDocuments\' documents; chunks are the collection search', async () => {
    const r = new Retriever({ collection: dir, mode: 'dense' });
    const docs = await r.retrieve(QUERY, { k: 6, filter: { even: true } });
    const expected = await searchDocuments(dir, QUERY, { k: 6, filter: { even: true } });
    assert.equal(docs.results, 'documents');
    assert.equal(docs.reranked, false);
    assert.deepEqual(docs.hits.map((h) => [h.id, h.score.toFixed(6), h.chunk?.index]), expected.map((d) => [d.id, d.score.toFixed(6), d.chunk?.index]));
    docs.hits.forEach((h, i) => {
      assert.equal(h.retrievalRank, i);
      assert.equal(h.rerankScore, null);
      assert.equal(h.retrievalScore, h.score);
      assert.equal(h.chunk?.parent, h.id);
      assert.equal('_chunk' in h.metadata, false, 'a document carries its own metadata');
      assert.equal(h.metadata.even, true);
    });
    assert.equal(new Set(ids(docs.hits)).size, 6, 'k distinct documents');
    const chunks = await r.retrieve(QUERY, { k: 6, results: 'chunks' });
    assert.deepEqual(ids(chunks.hits), ids(await dir.search(QUERY, { k: 6 })));
    assert.ok(chunks.hits.every((h) => h.chunk !== undefined && h.id === h.chunk.id && h.id.startsWith(`${h.chunk.parent}#`)));
    assert.ok(docs.timings.embedMs > 0 && docs.timings.totalMs >= docs.timings.searchMs);
  });

  test('with a reranker: the top max(k, candidates) chunks reranked, each document placed by its best chunk in that order', async () => {
    const r = new Retriever({ collection: dir, reranker, candidates: 12 });
    const result = await r.retrieve(QUERY, { k: 4 });
    assert.equal(result.reranked, true);
    assert.equal(result.rerankTop, 12);
    assert.equal(result.rerankedCount, 12);
    const chunks = await r.search(QUERY, { k: 12 });
    const expected = documentsInOrder(chunks.hits, 4);
    assert.deepEqual(result.hits.map((h) => [h.id, h.rerankScore, h.chunk?.id]), expected.map((d) => [d.id, d.rerankScore, d.chunk?.id]));
    assert.ok(result.hits.every((h) => h.score === h.rerankScore));
    assert.ok(result.timings.rerankMs > 0);
    // rerank: false is the first stage alone.
    const plain = await r.retrieve(QUERY, { k: 4, rerank: false });
    assert.equal(plain.reranked, false);
    assert.deepEqual(ids(plain.hits), ids(await searchDocuments(dir, QUERY, { k: 4, mode: 'hybrid' })));
  });

  test('whole documents: each hit carries its document, reassembled from its chunks', async () => {
    const r = new Retriever({ collection: dir, mode: 'dense' });
    for (const results of ['documents', 'chunks'] as const) {
      const result = await r.retrieve(QUERY, { k: 5, results, wholeDocuments: true });
      for (const h of result.hits) {
        const source = SOURCES.find((s) => s.id === h.chunk!.parent)!;
        assert.equal(h.document!.id, source.id);
        // Only the whitespace between chunks is not stored; it comes back as spaces.
        assert.equal(h.document!.text.replace(/\s+/g, ' ').trim(), source.text.replace(/\s+/g, ' ').trim());
        assert.ok(h.document!.text.includes(h.text));
      }
      assert.ok(result.timings.readMs > 0);
    }
    assert.equal((await r.retrieve(QUERY, { k: 2 })).hits[0].document, undefined, 'not read unless asked');
  });

  test('reranking works on a pgvector collection through the same pipeline', async () => {
    const onDir = await new Retriever({ collection: dir, mode: 'dense', reranker, candidates: 10 }).retrieve(QUERY, { k: 3, results: 'chunks' });
    const onPg = await new Retriever({ collection: store, mode: 'dense', reranker, candidates: 10 }).retrieve(QUERY, { k: 3, results: 'chunks', wholeDocuments: true });
    assert.equal(onPg.mode, 'dense');
    assert.equal(onPg.reranked, true);
    assert.equal(onPg.rerankedCount, 10);
    // The same documents and vectors in both stores: the same candidates, the same reranked order.
    assert.deepEqual(ids(onPg.hits), ids(onDir.hits));
    onPg.hits.forEach((h, i) => assert.ok(Math.abs(h.rerankScore! - onDir.hits[i].rerankScore!) < 1e-5));
    assert.ok(onPg.hits.every((h) => h.document !== undefined && h.document.text.includes(h.text)));
  });

  test('refused: reranking a vector query, a bad results option; rerank: false searches the vector', async () => {
    const r = new Retriever({ collection: dir, reranker });
    const vector = (await encoder.encode([QUERY], { role: 'query' })).data;
    await assert.rejects(r.retrieve(vector, { k: 3 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT') && /text query/.test((e as Error).message));
    assert.equal((await r.retrieve(vector, { k: 3, rerank: false })).hits.length, 3);
    await assert.rejects(r.retrieve(QUERY, { results: 'pages' as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(r.retrieve(42 as never), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  });
});
