/**
 * biencoder/langchain through LangChain's own classes: VectorStoreRetriever (asRetriever), Document, and
 * @langchain/classic's ContextualCompressionRetriever over our compressor.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Document } from '@langchain/core/documents';
import { VectorStoreRetriever } from '@langchain/core/vectorstores';
import { ContextualCompressionRetriever } from '@langchain/classic/retrievers/contextual_compression';
import { BiencoderEmbeddings, BiencoderRerank, BiencoderVectorStore } from '../../src/adapters/langchain/index.ts';
import { Collection } from '../../src/collection/collection.ts';
import { createCollection } from '../../src/collection/open-collection.ts';
import type { CollectionApi } from '../../src/collection/collection-api.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { indexDocuments } from '../../src/ingest/index-documents.ts';
import { loadCrossEncoder, type CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { Retriever } from '../../src/retriever/retriever.ts';
import { startPgServer, type PgServer } from '../helpers/pglite-server.ts';
import { loadEncoder } from '../../src/encoders/load-encoder.ts';
import { indexFiles } from '../../src/cli/commands/index.ts';
import { resolveInputs } from '../../src/ingest/input-files.ts';
import { DEMO_SAMPLE } from '../../src/cli/commands/demo.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';
import { matrixToArrays } from '../../src/matrix.ts';

const tmp = tempDir('langchain');
const QUERY = 'cells and proteins in cancer';
const TEXTS = scifactDocs(30, 200).map((t) => t.slice(0, 400));
let encoder: Encoder;
let reranker: CrossEncoder;
let embeddings: BiencoderEmbeddings;
let pg: PgServer;
let n = 0;
const newDir = (): string => join(tmp.dir, `c${n++}`);

before(async () => {
  // Asymmetric prompts, so that a query embedded as a document would differ.
  encoder = await loadOnnxEncoder(await syntheticModel(tmp.dir, 'bi', { tiny: true, prompts: { query: 'query: ', document: 'passage: ' } }));
  reranker = await loadCrossEncoder(await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 64 }), { batchSize: 8 });
  embeddings = new BiencoderEmbeddings({ encoder, batchSize: 4 });
  pg = await startPgServer();
});
after(async () => {
  await pg?.stop();
  await Promise.all([encoder?.close(), reranker?.close()]);
  tmp.cleanup();
});

const rows = matrixToArrays;

describe('BiencoderEmbeddings', () => {
  test('embedDocuments uses the document prompt, in batches; embedQuery the query prompt', async () => {
    const texts = TEXTS.slice(0, 10);
    assert.deepEqual(await embeddings.embedDocuments(texts), rows(await encoder.encode(texts, { role: 'document' })));
    const q = await embeddings.embedQuery(QUERY);
    assert.deepEqual(q, rows(await encoder.encode([QUERY], { role: 'query' }))[0]);
    assert.notDeepEqual(q, rows(await encoder.encode([QUERY], { role: 'document' }))[0], 'the prompts make query and document embeddings differ');
    assert.deepEqual(await embeddings.embedDocuments([]), []);
  });

  test('an aborted signal stops embedding; bad options are refused; errors are not retried', async () => {
    const controller = new AbortController();
    controller.abort();
    const aborted = new BiencoderEmbeddings({ encoder, signal: controller.signal });
    await assert.rejects(aborted.embedDocuments(['x']), (e) => isBiencoderError(e, 'ABORTED'));
    assert.throws(() => new BiencoderEmbeddings({ encoder, batchSize: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new BiencoderEmbeddings({} as never), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    const started = performance.now();
    await assert.rejects(embeddings.embedQuery(42 as never), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.ok(performance.now() - started < 1000, 'a deterministic error is not retried with backoff');
  });
});

describe('BiencoderVectorStore', () => {
  test('fromTexts with metadata; similaritySearchVectorWithScore with our filter syntax', async () => {
    const collection = await Collection.create(newDir(), { encoder, index: { kind: 'flat' } });
    try {
      const store = await BiencoderVectorStore.fromTexts(TEXTS, TEXTS.map((_, i) => ({ i, even: i % 2 === 0 })), embeddings, { collection });
      assert.equal(collection.count(), TEXTS.length);
      const q = await embeddings.embedQuery(QUERY);
      const hits = await store.similaritySearchVectorWithScore(q, 5, { even: true, i: { $gte: 10 } });
      assert.equal(hits.length, 5);
      const exact = await collection.search(Float32Array.from(q), { k: 5, filter: { even: true, i: { $gte: 10 } } });
      assert.deepEqual(hits.map(([d, s]) => [d.id, d.pageContent, s.toFixed(6)]), exact.map((h) => [h.id, h.text, h.score.toFixed(6)]));
      for (const [d] of hits) assert.ok(d instanceof Document && d.metadata.even === true && (d.metadata.i as number) >= 10);
    } finally {
      await collection.close();
    }
  });

  test('addDocuments with ids (and Document ids); delete({ ids }) removes them and their chunks', async () => {
    const collection = await Collection.create(newDir(), { encoder, index: { kind: 'flat' } });
    try {
      const store = new BiencoderVectorStore(embeddings, { collection });
      const ids = await store.addDocuments([new Document({ pageContent: TEXTS[0], metadata: { a: 1 } }), new Document({ pageContent: TEXTS[1] })], { ids: ['x', 'y'] });
      assert.deepEqual(ids, ['x', 'y']);
      const [own] = await store.addDocuments([new Document({ id: 'z', pageContent: TEXTS[2] })]);
      assert.equal(own, 'z');
      const [random] = await store.addDocuments([new Document({ pageContent: TEXTS[3] })]);
      assert.match(random, /^[0-9a-f-]{36}$/);
      assert.deepEqual((await collection.get(['x'])).map((d) => d?.metadata), [{ a: 1 }]);
      // A chunked document indexed the CLI's way goes with its chunks.
      await indexDocuments(collection, [{ id: 'long', text: TEXTS.slice(4, 10).join('\n\n'), metadata: {}, origin: 'test' }], { chunkTokens: 24 });
      assert.ok(collection.count() > 6);
      await store.delete({ ids: ['x', 'long'] });
      assert.equal(collection.count(), 3);
      assert.deepEqual((await collection.get(['x', 'y', 'z'])).map((d) => d?.id), [undefined, 'y', 'z']);
      await assert.rejects(store.addDocuments([new Document({ pageContent: 'a' })], { ids: ['1', '2'] }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
      await assert.rejects(store.addDocuments([new Document({ pageContent: 'a', metadata: { _chunk: 1 } })]), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
      assert.equal(collection.count(), 3, 'a refused write stores nothing');
      await assert.rejects(store.delete({}), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    } finally {
      await collection.close();
    }
  });

  test('asRetriever({ k, filter }).invoke(q): the pipeline with the collection default ranking (hybrid)', async () => {
    const collection = await Collection.create(newDir(), { encoder, index: { kind: 'flat' } });
    try {
      const store = await BiencoderVectorStore.fromDocuments(TEXTS.map((t, i) => new Document({ id: `d${i}`, pageContent: t, metadata: { even: i % 2 === 0 } })), embeddings, { collection });
      const retriever = store.asRetriever({ k: 4, filter: { even: false } });
      assert.ok(retriever instanceof VectorStoreRetriever);
      const docs = await retriever.invoke(QUERY);
      const expected = await new Retriever({ collection }).retrieve(QUERY, { k: 4, filter: { even: false }, results: 'chunks' });
      assert.equal(expected.mode, 'hybrid');
      assert.deepEqual(docs.map((d) => d.id), expected.hits.map((h) => h.id));
      assert.ok(docs.every((d) => d.metadata.even === false));
      // A dense store says so; its text search is the dense search of the query embedding.
      const dense = new BiencoderVectorStore(embeddings, { collection, mode: 'dense' });
      const byText = await dense.similaritySearchWithScore(QUERY, 3);
      const byVector = await dense.similaritySearchVectorWithScore(await embeddings.embedQuery(QUERY), 3);
      assert.deepEqual(byText.map(([d, s]) => [d.id, s.toFixed(6)]), byVector.map(([d, s]) => [d.id, s.toFixed(6)]));
    } finally {
      await collection.close();
    }
  });

  test('maxMarginalRelevanceSearch: k of fetchK, the most relevant first, no near-duplicates', async () => {
    const collection = await Collection.create(newDir(), { encoder, index: { kind: 'flat' } });
    try {
      // Three copies of the best document: MMR keeps one of them.
      const texts = [...TEXTS.slice(0, 12), TEXTS[0], TEXTS[0]];
      const store = await BiencoderVectorStore.fromTexts(texts, {}, embeddings, { collection });
      const q = await embeddings.embedQuery(TEXTS[0]);
      const top = await store.similaritySearchVectorWithScore(q, 3);
      assert.deepEqual(new Set(top.map(([d]) => d.pageContent)).size, 1, 'the plain top 3 are the copies');
      const mmr = await store.maxMarginalRelevanceSearch(TEXTS[0], { k: 3, fetchK: 10, lambda: 0.5 });
      assert.equal(mmr.length, 3);
      assert.equal(mmr[0].pageContent, TEXTS[0]);
      assert.equal(mmr.filter((d) => d.pageContent === TEXTS[0]).length, 1);
      const mmrRetriever = store.asRetriever({ k: 3, searchType: 'mmr', searchKwargs: { fetchK: 10, lambda: 0.5 } });
      assert.deepEqual((await mmrRetriever.invoke(TEXTS[0])).map((d) => d.id), mmr.map((d) => d.id));
      await assert.rejects(store.maxMarginalRelevanceSearch(QUERY, { k: 5, fetchK: 2 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    } finally {
      await collection.close();
    }
  });

  test('a collection opened without an encoder: texts embedded by the store\'s embeddings, searches dense', async () => {
    const collection = await Collection.create(newDir(), { encoder: { modelId: encoder.modelId, dims: encoder.dims, normalized: true }, index: { kind: 'flat' } });
    try {
      const store = await BiencoderVectorStore.fromTexts(TEXTS.slice(0, 10), {}, embeddings, { collection });
      const byText = await store.similaritySearchWithScore(QUERY, 3);
      const byVector = await store.similaritySearchVectorWithScore(await embeddings.embedQuery(QUERY), 3);
      assert.deepEqual(byText.map(([d]) => d.id), byVector.map(([d]) => d.id));
      assert.equal((await store.asRetriever({ k: 2 }).invoke(QUERY)).length, 2);
    } finally {
      await collection.close();
    }
  });

  test('over a pgvector collection: the same documents, the same hybrid (default) and dense results', async () => {
    let store: CollectionApi | undefined;
    const dir = await Collection.create(newDir(), { encoder, index: { kind: 'flat' } });
    try {
      store = await createCollection(pg.collectionUrl('langchain'), { encoder, index: { kind: 'flat' } });
      const docs = TEXTS.map((t, i) => new Document({ id: `d${i}`, pageContent: t, metadata: { i } }));
      const onPg = await BiencoderVectorStore.fromDocuments(docs, embeddings, { collection: store });
      const onDir = await BiencoderVectorStore.fromDocuments(docs, embeddings, { collection: dir });
      const densePg = new BiencoderVectorStore(embeddings, { collection: store, mode: 'dense' });
      const denseDir = new BiencoderVectorStore(embeddings, { collection: dir, mode: 'dense' });
      for (const [x, y] of [[onPg, onDir], [densePg, denseDir]]) {
        const a = await x.similaritySearchWithScore(QUERY, 5, { i: { $lt: 20 } });
        const b = await y.similaritySearchWithScore(QUERY, 5, { i: { $lt: 20 } });
        assert.deepEqual(a.map(([d]) => d.id), b.map(([d]) => d.id));
        a.forEach(([, s], i) => assert.ok(Math.abs(s - b[i][1]) < 1e-5));
      }
      await onPg.delete({ ids: ['d0'] });
      assert.equal(await store.count(), TEXTS.length - 1);
    } finally {
      await store?.close();
      await dir.close();
    }
  });
});

describe('BiencoderRerank in a ContextualCompressionRetriever', () => {
  test('the base retriever\'s documents reordered by the cross-encoder, top N kept with relevanceScore', async () => {
    const collection = await Collection.create(newDir(), { encoder, index: { kind: 'flat' } });
    try {
      const store = await BiencoderVectorStore.fromTexts(TEXTS, {}, embeddings, { collection, mode: 'dense' });
      const base = store.asRetriever({ k: 10 });
      const compressor = new BiencoderRerank({ reranker, topN: 4 });
      const retriever = new ContextualCompressionRetriever({ baseCompressor: compressor, baseRetriever: base });
      const docs = await retriever.invoke(QUERY);
      const candidates = await base.invoke(QUERY);
      const ranked = await reranker.rank(QUERY, candidates.map((d) => d.pageContent), { topK: 4 });
      assert.deepEqual(docs.map((d) => d.id), ranked.map((r) => candidates[r.index].id));
      docs.forEach((d, i) => assert.ok(Math.abs((d.metadata.relevanceScore as number) - ranked[i].score) < 1e-6));
      assert.deepEqual(await compressor.compressDocuments([], QUERY), []);
      assert.throws(() => new BiencoderRerank({ reranker, topN: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
      assert.throws(() => new BiencoderRerank({ reranker, label: 7 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    } finally {
      await collection.close();
    }
  });

  test('a store with a reranker reranks its text searches through the pipeline', async () => {
    const collection = await Collection.create(newDir(), { encoder, index: { kind: 'flat' } });
    try {
      const store = await BiencoderVectorStore.fromTexts(TEXTS, {}, embeddings, { collection, reranker, candidates: 8 });
      const docs = await store.asRetriever({ k: 3 }).invoke(QUERY);
      const expected = await new Retriever({ collection, reranker, candidates: 8 }).retrieve(QUERY, { k: 3, results: 'chunks' });
      assert.equal(expected.reranked, true);
      assert.deepEqual(docs.map((d) => [d.id, d.metadata.rerankScore]), expected.hits.map((h) => [h.id, h.rerankScore]));
    } finally {
      await collection.close();
    }
  });
});

describe('end to end (docs/langchain.md): the demo sample indexed by the CLI, a LangChain retriever, the compressor', () => {
  test('the retriever finds the Oxygen paragraphs; the compressor reorders them by the cross-encoder', { timeout: 300_000 }, async () => {
    const useLite = await loadEncoder('use-lite');
    const kb = newDir();
    try {
      const { files } = await resolveInputs([DEMO_SAMPLE]);
      await indexFiles({ dir: kb, files, progress: false, encoder: useLite }); // what `biencoder index` runs
      const collection = await Collection.open(kb, { encoder: useLite, readOnly: true });
      try {
        const store = new BiencoderVectorStore(new BiencoderEmbeddings({ encoder: useLite }), { collection });
        const base = store.asRetriever({ k: 20 });
        const retriever = new ContextualCompressionRetriever({ baseRetriever: base, baseCompressor: new BiencoderRerank({ reranker, topN: 4 }) });
        const question = 'Who discovered oxygen?';
        const candidates = await base.invoke(question);
        assert.equal(candidates.length, 20);
        assert.equal(candidates[0].metadata.title, 'Oxygen', 'hybrid ranking with the embedded model puts the Oxygen article first');
        const docs = await retriever.invoke(question);
        const ranked = await reranker.rank(question, candidates.map((d) => d.pageContent), { topK: 4 });
        assert.deepEqual(docs.map((d) => d.id), ranked.map((r) => candidates[r.index].id));
        assert.ok(docs.every((d) => typeof d.metadata.relevanceScore === 'number'));
      } finally {
        await collection.close();
      }
    } finally {
      await useLite.close();
    }
  });
});
