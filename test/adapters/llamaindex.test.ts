/**
 * biencoder/llamaindex with LlamaIndex.TS's own classes: VectorStoreIndex.fromDocuments over our store and
 * embedding, its retriever, deleteRefDoc, and the store's query modes and filters.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Document, Settings, VectorStoreIndex, storageContextFromDefaults } from 'llamaindex';
import { FilterOperator, VectorStoreQueryMode } from '@llamaindex/core/vector-store';
import { BiencoderLlamaEmbedding, BiencoderLlamaVectorStore, REF_DOC_ID_KEY, toBiencoderFilter } from '../../src/adapters/llamaindex/index.ts';
import { Collection } from '../../src/collection/collection.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { Retriever } from '../../src/retriever/retriever.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { matrixToArrays } from '../../src/matrix.ts';

const tmp = tempDir('llamaindex');
const QUERY = 'cells and proteins in cancer';
const TEXTS = scifactDocs(12, 1200);
let encoder: Encoder;
let embedding: BiencoderLlamaEmbedding;

before(async () => {
  encoder = await loadOnnxEncoder(await syntheticModel(tmp.dir, 'bi', { tiny: true, prompts: { query: 'query: ', document: 'passage: ' } }));
  embedding = new BiencoderLlamaEmbedding({ encoder, embedBatchSize: 5 });
});
after(async () => {
  await encoder?.close();
  tmp.cleanup();
});

const rows = matrixToArrays;

describe('BiencoderLlamaEmbedding', () => {
  test('texts with the document prompt in batches, queries with the query prompt', async () => {
    const texts = TEXTS.slice(0, 7);
    assert.deepEqual(await embedding.getTextEmbeddingsBatch(texts), rows(await encoder.encode(texts, { role: 'document' })));
    assert.deepEqual(await embedding.getQueryEmbedding({ type: 'text', text: QUERY }), rows(await encoder.encode([QUERY], { role: 'query' }))[0]);
    assert.notDeepEqual(await embedding.getQueryEmbedding({ type: 'text', text: QUERY }), await embedding.getTextEmbedding(QUERY));
  });
});

describe('BiencoderLlamaVectorStore', () => {
  test('VectorStoreIndex.fromDocuments over the store; its retriever finds the dense top k; deleteRefDoc removes a document\'s nodes', () => Settings.withEmbedModel(embedding, async () => {
    // LlamaIndex reads its embedding model from Settings; withEmbedModel scopes it to this test.
    const collection = await Collection.create(join(tmp.dir, 'c1'), { encoder, index: { kind: 'flat' } });
    try {
      const store = new BiencoderLlamaVectorStore({ collection, embeddingModel: embedding });
      const storageContext = await storageContextFromDefaults({ vectorStore: store });
      const docs = TEXTS.map((text, i) => new Document({ id_: `doc${i}`, text, metadata: { i } }));
      const index = await VectorStoreIndex.fromDocuments(docs, { storageContext });
      const rowsStored = collection.count();
      assert.ok(rowsStored >= docs.length, `${rowsStored} nodes`);
      const found = await index.asRetriever({ similarityTopK: 3 }).retrieve(QUERY);
      assert.equal(found.length, 3);
      const q = Float32Array.from((await embedding.getQueryEmbedding({ type: 'text', text: QUERY }))!);
      const expected = await collection.search(q, { k: 3 });
      assert.deepEqual(found.map((n) => n.node.id_), expected.map((h) => h.id));
      found.forEach((n, i) => assert.ok(Math.abs(n.score! - expected[i].score) < 1e-5));
      assert.ok(found.every((n) => typeof n.node.metadata[REF_DOC_ID_KEY] === 'string'));
      const victim = found[0].node.metadata[REF_DOC_ID_KEY] as string;
      await index.deleteRefDoc(victim);
      const after = await index.asRetriever({ similarityTopK: 50 }).retrieve(QUERY);
      assert.ok(after.every((n) => n.node.metadata[REF_DOC_ID_KEY] !== victim), 'the document\'s nodes are gone');
      assert.ok(collection.count() < rowsStored);
    } finally {
      await collection.close();
    }
  }));

  test('query modes: default is dense, hybrid is the pipeline\'s hybrid; MetadataFilters map onto ours; docIds', () => Settings.withEmbedModel(embedding, async () => {
    const collection = await Collection.create(join(tmp.dir, 'c2'), { encoder, index: { kind: 'flat' } });
    try {
      const store = new BiencoderLlamaVectorStore({ collection, embeddingModel: embedding });
      const storageContext = await storageContextFromDefaults({ vectorStore: store });
      await VectorStoreIndex.fromDocuments(TEXTS.map((text, i) => new Document({ id_: `doc${i}`, text, metadata: { i, lang: i % 3 === 0 ? 'fr' : 'en' } })), { storageContext });
      const filters = { filters: [{ key: 'lang', value: 'en', operator: FilterOperator.EQ }, { key: 'i', value: 3, operator: FilterOperator.GT }] };
      assert.deepEqual(toBiencoderFilter(filters), { $and: [{ lang: 'en' }, { i: { $gt: 3 } }] });
      const hybrid = await store.query({ mode: VectorStoreQueryMode.HYBRID, queryStr: QUERY, similarityTopK: 4, filters });
      const expected = await new Retriever({ collection }).retrieve(QUERY, { k: 4, mode: 'hybrid', results: 'chunks', filter: { $and: [{ lang: 'en' }, { i: { $gt: 3 } }] } });
      assert.deepEqual(hybrid.ids, expected.hits.map((h) => h.id));
      assert.ok(hybrid.nodes!.every((n) => n.metadata.lang === 'en' && (n.metadata.i as number) > 3));
      const either = { filters: [{ key: 'i', value: [1, 2], operator: FilterOperator.IN }, { key: 'lang', value: 'fr', operator: FilterOperator.EQ }], condition: 'or' as const };
      const dense = await store.query({ mode: VectorStoreQueryMode.DEFAULT, queryEmbedding: (await embedding.getQueryEmbedding({ type: 'text', text: QUERY }))!, similarityTopK: 50, filters: either });
      assert.ok(dense.nodes!.length > 0 && dense.nodes!.every((n) => [1, 2].includes(n.metadata.i as number) || n.metadata.lang === 'fr'));
      const onlyDoc = await store.query({ mode: VectorStoreQueryMode.DEFAULT, queryEmbedding: (await embedding.getQueryEmbedding({ type: 'text', text: QUERY }))!, similarityTopK: 50, docIds: ['doc4'] });
      assert.ok(onlyDoc.nodes!.length > 0 && onlyDoc.nodes!.every((n) => n.metadata[REF_DOC_ID_KEY] === 'doc4'));
      assert.throws(() => toBiencoderFilter({ filters: [{ key: 'tags', value: ['a'], operator: FilterOperator.ANY }] }), (e) => isBiencoderError(e, 'UNSUPPORTED'));
      await assert.rejects(store.query({ mode: VectorStoreQueryMode.MMR, queryEmbedding: [1], similarityTopK: 1 }), (e) => isBiencoderError(e, 'UNSUPPORTED'));
    } finally {
      await collection.close();
    }
  }));
});
