/** biencoder/ai-sdk through the AI SDK's own functions: embed, embedMany and rerank from `ai`. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { embed, embedMany, rerank, NoSuchModelError } from 'ai';
import { createBiencoder } from '../../src/adapters/ai-sdk/index.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { loadCrossEncoder, type CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';
import { matrixToArrays } from '../../src/matrix.ts';

const tmp = tempDir('ai-sdk');
const TEXTS = scifactDocs(9, 300).map((t) => t.slice(0, 300));
const QUERY = 'cells and proteins in cancer';
let modelDir: string;
let ceDir: string;
let encoder: Encoder;
let reranker: CrossEncoder;

before(async () => {
  modelDir = await syntheticModel(tmp.dir, 'bi', { tiny: true, prompts: { query: 'query: ', document: 'passage: ' } });
  ceDir = await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 64 });
  encoder = await loadOnnxEncoder(modelDir);
  reranker = await loadCrossEncoder(ceDir);
});
after(async () => {
  await Promise.all([encoder?.close(), reranker?.close()]);
  tmp.cleanup();
});

const rows = matrixToArrays;

describe('createBiencoder: an AI SDK v3 provider', () => {
  test('embedMany splits by maxEmbeddingsPerCall, document prompt, usage in model tokens; embed with role query', async () => {
    const biencoder = createBiencoder({ encoders: { bi: encoder } });
    const model = biencoder.embeddingModel('bi', { maxEmbeddingsPerCall: 4 });
    assert.equal(model.specificationVersion, 'v3');
    assert.equal(model.maxEmbeddingsPerCall, 4);
    assert.equal(model.supportsParallelCalls, true);
    const many = await embedMany({ model, values: TEXTS, maxParallelCalls: 2 });
    assert.deepEqual(many.embeddings, rows(await encoder.encode(TEXTS, { role: 'document' })));
    const expectedTokens = encoder.countTokens(TEXTS).reduce((s, n) => s + Math.min(n, encoder.maxTokens), 0);
    assert.equal(many.usage.tokens, expectedTokens);
    const one = await embed({ model, value: QUERY, providerOptions: { biencoder: { role: 'query' } } });
    assert.deepEqual(one.embedding, rows(await encoder.encode([QUERY], { role: 'query' }))[0]);
    const asQuery = await embed({ model: biencoder.embeddingModel('bi', { role: 'query' }), value: QUERY });
    assert.deepEqual(asQuery.embedding, one.embedding);
    const asDocument = await embed({ model, value: QUERY });
    assert.notDeepEqual(asDocument.embedding, one.embedding, 'the prompts differ');
    await biencoder.close();
    assert.equal((await encoder.encode(['still open'])).rows, 1, 'a given encoder is left open');
  });

  test('rerank: the cross-encoder order, topN, string and object documents', async () => {
    const biencoder = createBiencoder({ rerankers: { ce: reranker } });
    const result = await rerank({ model: biencoder.rerankingModel('ce'), query: QUERY, documents: TEXTS, topN: 3 });
    const expected = await reranker.rank(QUERY, TEXTS, { topK: 3 });
    assert.deepEqual(result.ranking.map((r) => [r.originalIndex, r.score.toFixed(6)]), expected.map((e) => [e.index, e.score.toFixed(6)]));
    assert.deepEqual(result.rerankedDocuments, expected.map((e) => TEXTS[e.index]));
    const objects = TEXTS.map((text, i) => ({ id: i, text }));
    const byObject = await rerank({ model: biencoder.rerankingModel('ce'), query: QUERY, documents: objects });
    const expectedObjects = await reranker.rank(QUERY, objects.map((o) => JSON.stringify(o)));
    assert.deepEqual(byObject.ranking.map((r) => r.originalIndex), expectedObjects.map((e) => e.index));
  });

  test('models load on first use from an id (a local ONNX directory) and close with the provider', async () => {
    const biencoder = createBiencoder();
    const { embedding } = await embed({ model: biencoder.embeddingModel(modelDir), value: 'hello' });
    assert.deepEqual(embedding, rows(await encoder.encode(['hello'], { role: 'document' }))[0]);
    const r = await rerank({ model: biencoder.rerankingModel(ceDir), query: QUERY, documents: TEXTS.slice(0, 3) });
    assert.equal(r.ranking.length, 3);
    await biencoder.close();
  });

  test('errors: an aborted call, an unknown model, a bad role; no language or image models', async () => {
    const biencoder = createBiencoder({ encoders: { bi: encoder } });
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(embedMany({ model: biencoder.embeddingModel('bi'), values: TEXTS, abortSignal: controller.signal, maxRetries: 0 }), (e) => (e as Error).name === 'AbortError' || isBiencoderError(e, 'ABORTED'));
    await assert.rejects(embed({ model: biencoder.embeddingModel('/nonexistent/model'), value: 'x', maxRetries: 0 }), (e) => isBiencoderError(e, 'MODEL_NOT_FOUND'));
    await assert.rejects(embed({ model: biencoder.embeddingModel('bi'), value: 'x', providerOptions: { biencoder: { role: 'title' } }, maxRetries: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => biencoder.embeddingModel('bi', { role: 'title' as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => biencoder.languageModel('x'), (e) => NoSuchModelError.isInstance(e));
    assert.throws(() => biencoder.imageModel('x'), (e) => NoSuchModelError.isInstance(e));
    await biencoder.close();
  });
});
