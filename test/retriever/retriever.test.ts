import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { loadCrossEncoder, type CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { Retriever } from '../../src/retriever/retriever.ts';
import { RerankCostModel } from '../../src/retriever/cost-model.ts';
import { runQueries } from '../../src/retriever/run-queries.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';

const tmp = tempDir('retriever');
const QUERY = 'cells and proteins in cancer';
let encoder: Encoder;
let reranker: CrossEncoder;
let collection: Collection;
const docs = scifactDocs(60).map((text, i) => ({ id: `d${i}`, text, metadata: { even: i % 2 === 0 } }));

before(async () => {
  encoder = await loadOnnxEncoder(await syntheticModel(tmp.dir, 'bi', { tiny: true }));
  reranker = await loadCrossEncoder(await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 64 }), { batchSize: 8 });
  collection = await Collection.create(join(tmp.dir, 'col'), { encoder, index: { kind: 'flat' } });
  await collection.upsert(docs);
  await collection.upsertVectors([{ id: 'no-text', vector: (await encoder.encode([QUERY], { role: 'query' })).data }]);
});
after(async () => {
  await collection.close();
  await Promise.all([encoder.close(), reranker.close()]);
  tmp.cleanup();
});

describe('Retriever', () => {
  test('bi-encoder top-N -> cross-encoder -> top-k, with both scores and per-stage timings', async () => {
    const retriever = new Retriever({ collection, mode: 'dense', reranker, candidates: 20 });
    const result = await retriever.search(QUERY, { k: 5 });
    const firstStage = await collection.search(QUERY, { k: 20 });
    assert.equal(result.candidates, 20);
    // The stored document without text is the query's own vector: first in retrieval, never reranked.
    assert.equal(firstStage[0].id, 'no-text');
    assert.equal(result.reranked, 19);
    const ranked = await reranker.rank(QUERY, firstStage.slice(1).map((h) => h.text), { topK: 5 });
    assert.deepEqual(result.hits.map((h) => h.id), ranked.map((r) => firstStage[r.index + 1].id));
    for (const [i, hit] of result.hits.entries()) {
      assert.equal(hit.rerankScore, ranked[i].score);
      assert.equal(hit.score, hit.rerankScore);
      assert.equal(hit.retrievalScore, firstStage[hit.retrievalRank].score);
      assert.equal(hit.id, firstStage[hit.retrievalRank].id);
      assert.equal(typeof hit.text, 'string');
      assert.deepEqual(Object.keys(hit.metadata), ['even']);
    }
    const t = result.timings;
    for (const ms of [t.embedMs, t.searchMs, t.rerankMs, t.totalMs]) assert.ok(Number.isFinite(ms) && ms >= 0);
    assert.ok(t.totalMs >= t.embedMs + t.searchMs + t.rerankMs - 1e-6);
    assert.ok(t.rerankMs > 0);
    assert.equal(result.budgetMs, null);
  });

  test('k larger than the reranked set: only the top N are reranked; the rest follow in retrieval order', async () => {
    const retriever = new Retriever({ collection, mode: 'dense', reranker, candidates: 5 });
    const result = await retriever.search(QUERY, { k: 8 });
    const firstStage = await collection.search(QUERY, { k: 8 });
    // max(k, N) = 8 retrieved; of the top 5, 'no-text' (retrieval rank 0) cannot be reranked: 4 are.
    assert.equal(result.candidates, 8);
    assert.equal(result.reranked, 4);
    assert.deepEqual(new Set(result.hits.slice(0, 4).map((h) => h.retrievalRank)), new Set([1, 2, 3, 4]));
    for (let i = 1; i < 4; i++) assert.ok(result.hits[i - 1].rerankScore! >= result.hits[i].rerankScore!);
    const rest = result.hits.slice(4);
    assert.deepEqual(rest.map((h) => h.id), [firstStage[0], ...firstStage.slice(5)].map((h) => h.id));
    assert.equal(rest[0].id, 'no-text');
    for (const h of rest) {
      assert.equal(h.rerankScore, null);
      assert.equal(h.score, h.retrievalScore);
    }
  });

  test('keyword and hybrid first stages search the text in that mode, then rerank', async () => {
    for (const mode of ['keyword', 'hybrid'] as const) {
      const hybrid = { fusion: 'rrf', candidates: 40 } as const;
      const retriever = new Retriever({ collection, reranker, candidates: 6, mode, hybrid, keyword: { stopwords: 'none' } });
      assert.equal(retriever.mode, mode);
      const firstStage = await collection.search(QUERY, { k: 6, mode, hybrid, keyword: { stopwords: 'none' } });
      assert.ok(firstStage.length > 0, mode);
      const result = await retriever.search(QUERY, { k: 3 });
      assert.equal(result.mode, mode);
      assert.equal(result.candidates, firstStage.length);
      // The reranked hits are exactly the first stage's top 6 with a text, ordered by the cross-encoder.
      const withText = firstStage.filter((h) => h.text !== '');
      assert.equal(result.reranked, withText.length);
      const ranked = await reranker.rank(QUERY, withText.map((h) => h.text), { topK: 3 });
      assert.deepEqual(result.hits.map((h) => h.id), ranked.map((r) => withText[r.index].id), mode);
      for (const h of result.hits) assert.equal(h.retrievalScore, firstStage[h.retrievalRank].score);
      assert.equal(result.timings.embedMs, 0, 'the collection embeds the query (hybrid) or nothing does (keyword)');
    }
    // A per-call mode overrides the retriever's; without a reranker, dense is the plain collection search.
    const dense = await new Retriever({ collection, mode: 'keyword' }).search(QUERY, { k: 4, mode: 'dense' });
    assert.equal(dense.mode, 'dense');
    assert.deepEqual(dense.hits.map((h) => h.id), (await collection.search(QUERY, { k: 4 })).map((h) => h.id));
    assert.throws(() => new Retriever({ collection, mode: 'fuzzy' as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new Retriever({ collection, hybrid: { weight: 2 } }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(new Retriever({ collection }).search(QUERY, { mode: 'sparse' as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    // Keyword mode needs no encoder: a reader opened without one can still rerank BM25 candidates.
    const reader = await Collection.open(join(tmp.dir, 'col'), { readOnly: true });
    try {
      const bm25 = await new Retriever({ collection: reader, reranker, candidates: 4, mode: 'keyword' }).search(QUERY, { k: 2 });
      assert.equal(bm25.hits.length, 2);
      assert.ok(bm25.reranked > 0);
      await assert.rejects(new Retriever({ collection: reader, mode: 'hybrid' }).search(QUERY), (e) => isBiencoderError(e, 'ENCODER_REQUIRED'));
    } finally {
      await reader.close();
    }
  });

  test('filters reach the bi-encoder stage; without a reranker it is the collection search', async () => {
    const retriever = new Retriever({ collection, mode: 'dense', reranker, candidates: 10 });
    const result = await retriever.search(QUERY, { k: 4, filter: { even: true } });
    assert.equal(result.hits.length, 4);
    for (const h of result.hits) assert.equal(h.metadata.even, true);
    const plain = await new Retriever({ collection, mode: 'dense' }).search(QUERY, { k: 4 });
    const direct = await collection.search(QUERY, { k: 4 });
    assert.deepEqual(plain.hits.map((h) => [h.id, h.score]), direct.map((h) => [h.id, h.score]));
    assert.equal(plain.reranked, 0);
    const skipped = await retriever.search(QUERY, { k: 4, rerank: false });
    assert.deepEqual(skipped.hits.map((h) => h.id), direct.map((h) => h.id));
    assert.equal(skipped.reranked, 0);
  });

  test('a latency budget reranks only the candidates that fit the measured cost', async () => {
    // A seeded cost of 1 s per token: with a budget of the first 3 pairs' cost plus half the 4th's, exactly 3 fit
    // (embedding and searching take milliseconds, far less than the half pair of margin).
    const retriever = new Retriever({ collection, mode: 'dense', reranker, candidates: 12, initialMsPerToken: 1000 });
    const firstStage = (await collection.search(QUERY, { k: 12 })).filter((h) => h.text !== '');
    const tokens = reranker.tokenize(QUERY, firstStage.map((h) => h.text)).map((p) => p.ids.length);
    const budgetMs = 1000 * (tokens[0] + tokens[1] + tokens[2]) + 500 * tokens[3];
    const result = await retriever.search(QUERY, { k: 12, budgetMs });
    assert.equal(result.reranked, 3);
    assert.equal(result.budgetMs, budgetMs);
    assert.deepEqual(new Set(result.hits.slice(0, 3).map((h) => h.id)), new Set(firstStage.slice(0, 3).map((h) => h.id)));
    for (const h of result.hits.slice(3)) assert.equal(h.rerankScore, null);
    // The rest keep retrieval order.
    const rest = result.hits.slice(3).map((h) => h.retrievalRank);
    assert.deepEqual(rest, [...rest].sort((a, b) => a - b));
    // The measurement replaced most of the seed (running average): the estimate fell far below 1000 ms/token.
    assert.equal(retriever.costModel.samples, 1);
    assert.ok(retriever.costModel.msPerToken! < 1000);
  });

  test('first budgeted search with no estimate measures a probe batch; a generous budget then reranks everything', async () => {
    const retriever = new Retriever({ collection, mode: 'dense', reranker, candidates: 30, budgetMs: 60_000 });
    assert.equal(retriever.costModel.msPerToken, undefined);
    const first = await retriever.search(QUERY, { k: 10 });
    assert.equal(first.reranked, 29);
    assert.equal(retriever.costModel.samples, 2, 'a probe of 8 pairs, then the rest');
    const perToken = retriever.costModel.msPerToken!;
    assert.ok(perToken > 0 && perToken < 60_000);
    const second = await retriever.search(QUERY, { k: 10 });
    assert.equal(second.reranked, 29);
    assert.equal(retriever.costModel.samples, 3, 'one call once the cost is known');
    // A budget already spent by embedding and searching reranks nothing and returns the retrieval order.
    const none = await retriever.search(QUERY, { k: 5, budgetMs: 1e-6 });
    assert.equal(none.reranked, 0);
    assert.deepEqual(none.hits.map((h) => h.id), (await collection.search(QUERY, { k: 5 })).map((h) => h.id));
    // null lifts the retriever's budget for one call.
    assert.equal((await retriever.search(QUERY, { k: 5, budgetMs: null })).budgetMs, null);
  });

  test('bad options and inputs', async () => {
    assert.throws(() => new Retriever({ collection, candidates: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new Retriever({ collection, budgetMs: -1 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new Retriever({ collection, initialMsPerToken: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new Retriever({ collection: {} as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new Retriever({ collection, reranker: {} as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new Retriever({ collection, reranker, rerankLabel: 3 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    const retriever = new Retriever({ collection, reranker });
    await assert.rejects(retriever.search(''), (e) => isBiencoderError(e, 'EMPTY_INPUT'));
    await assert.rejects(retriever.search(42 as never), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(retriever.search(QUERY, { k: -1 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(retriever.search(QUERY, { filter: { $bogus: 1 } as never }), (e) => isBiencoderError(e));
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(retriever.search(QUERY, { signal: controller.signal }), (e) => isBiencoderError(e, 'ABORTED'));
    const reader = await Collection.open(join(tmp.dir, 'col'), { readOnly: true });
    try {
      await assert.rejects(new Retriever({ collection: reader }).search(QUERY), (e) => isBiencoderError(e, 'ENCODER_REQUIRED'));
    } finally {
      await reader.close();
    }
  });
});

describe('runQueries', () => {
  test('collects a run in the final order, with mean stage timings', async () => {
    const retriever = new Retriever({ collection, mode: 'dense', reranker, candidates: 10 });
    const queries = [{ id: 'q1', text: QUERY }, { id: 'q2', text: 'heart disease risk' }];
    const progress: number[] = [];
    const summary = await runQueries(retriever, queries, { k: 4, onQuery: (done) => progress.push(done) });
    assert.deepEqual(progress, [1, 2]);
    assert.equal(summary.queries, 2);
    assert.deepEqual([...summary.run.keys()], ['q1', 'q2']);
    const direct = await retriever.search(QUERY, { k: 4 });
    assert.deepEqual(summary.run.get('q1'), direct.hits.map((h) => ({ id: h.id, score: h.score })));
    let withText = 0;
    for (const q of queries) withText += (await collection.search(q.text, { k: 10 })).filter((h) => h.text !== '').length;
    assert.equal(summary.reranked, withText);
    assert.ok(summary.meanMs.total >= summary.meanMs.rerank && summary.meanMs.rerank > 0);
  });
});

describe('RerankCostModel', () => {
  test('running average, estimate and fit', () => {
    const m = new RerankCostModel();
    assert.equal(m.msPerToken, undefined);
    assert.equal(m.fits([10, 10], 1e9), 0, 'nothing fits an unknown cost');
    m.observe(100, 50); // 0.5 ms/token
    assert.equal(m.msPerToken, 0.5);
    m.observe(100, 150); // 1.5 ms/token: 0.3 * 1.5 + 0.7 * 0.5 = 0.8
    assert.ok(Math.abs(m.msPerToken! - 0.8) < 1e-12);
    assert.equal(m.samples, 2);
    assert.ok(Math.abs(m.estimate([10, 20]) - 24) < 1e-9);
    assert.equal(m.fits([10, 20, 30], 24), 2);
    assert.equal(m.fits([10, 20, 30], 23.9), 1);
    assert.equal(m.fits([10, 20, 30], 1000), 3);
    assert.equal(m.fits([10], 0), 0);
    m.observe(0, 10); // ignored
    assert.equal(m.samples, 2);
  });
});
