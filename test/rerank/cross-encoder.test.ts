import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, cpSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { loadCrossEncoder, type CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { PairTokenizer } from '../../src/rerank/pair-tokenizer.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { VARIED_SENTENCES } from '../fixtures/sentences.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';
import { maxAbsDiff } from '../helpers/vector-math.ts';

const tmp = tempDir('cross-encoder');
after(() => tmp.cleanup());

describe('pair tokenization', () => {
  let tok: PairTokenizer;
  before(async () => {
    tok = await PairTokenizer.fromDirectory(await syntheticCrossEncoder(tmp.dir, 'tok'));
  });

  test('[CLS] query [SEP] document [SEP] with segments 0 then 1', () => {
    const q = tok.contentIds('hello');
    const d = tok.contentIds('world');
    const pair = tok.encodePair(q, d, 512);
    assert.deepEqual([...pair.ids], [101, 7592, 102, 2088, 102]);
    assert.deepEqual([...pair.typeIds], [0, 0, 0, 1, 1]);
    assert.equal(pair.truncated, false);
    assert.equal(tok.specialTokens, 3);
    assert.equal(tok.padId, 0);
  });

  test('only-second cuts the document and keeps the closing [SEP]; transformers.js cuts the whole sequence', () => {
    const q = tok.contentIds('what is a cell');
    const d = Array.from({ length: 50 }, (_, i) => 2000 + i);
    const only = tok.encodePair(q, d, 20);
    assert.equal(only.ids.length, 20);
    assert.equal(only.truncated, true);
    assert.deepEqual([...only.ids.subarray(0, 6)], [101, ...q, 102]);
    assert.deepEqual([...only.ids.subarray(6, 19)], d.slice(0, 13));
    assert.equal(only.ids[19], 102);
    assert.deepEqual([...only.typeIds], [...Array(6).fill(0), ...Array(14).fill(1)]);
    const tjs = tok.encodePair(q, d, 20, 'transformers.js');
    assert.deepEqual([...tjs.ids], [101, ...q, 102, ...d.slice(0, 14)]);
    assert.equal(tjs.truncated, true);
    // Exactly at the limit: nothing cut.
    const exact = tok.encodePair(q, d.slice(0, 13), 20);
    assert.equal(exact.truncated, false);
    assert.equal(exact.ids.length, 20);
  });

  test('a query longer than half the room is cut so that the document keeps the rest', () => {
    const q = Array.from({ length: 40 }, (_, i) => 3000 + i);
    const longDoc = Array.from({ length: 40 }, (_, i) => 4000 + i);
    const shortDoc = [5000, 5001];
    // room 17: the query keeps 8 (half), the document 9
    const both = tok.encodePair(q, longDoc, 20);
    assert.deepEqual([...both.ids], [101, ...q.slice(0, 8), 102, ...longDoc.slice(0, 9), 102]);
    // A short document stays whole; the query takes what is left
    const short = tok.encodePair(q, shortDoc, 20);
    assert.deepEqual([...short.ids], [101, ...q.slice(0, 15), 102, 5000, 5001, 102]);
    // A short query is never cut
    const small = tok.encodePair(q.slice(0, 8), longDoc, 20);
    assert.deepEqual([...small.ids.subarray(1, 9)], q.slice(0, 8));
    assert.throws(() => tok.encodePair(q, longDoc, 4), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  });
});

describe('CrossEncoder', () => {
  let dir: string;
  let ce: CrossEncoder;
  before(async () => {
    dir = await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 96, seed: 5 });
    ce = await loadCrossEncoder(dir, { batchSize: 8 });
  });
  after(() => ce.close());

  test('reads labels, activation and max length from the hub layout', () => {
    assert.equal(ce.numLabels, 1);
    assert.deepEqual(ce.labels, ['LABEL_0']);
    assert.equal(ce.activation, 'sigmoid');
    assert.equal(ce.config.activationSource, 'sentence_transformers.activation_fn');
    assert.equal(ce.maxLength, 96);
    assert.equal(ce.truncation, 'only-second');
    assert.equal(ce.modelId, dir);
    assert.equal(ce.revision, undefined);
  });

  test('a pair scores the same alone or in any batch, in input order (max abs diff <= 1e-5)', async () => {
    const docs = [...VARIED_SENTENCES.slice(0, 30), ...scifactDocs(4)];
    const query = 'What do cells do?';
    const alone = new Float32Array(docs.length);
    for (let i = 0; i < docs.length; i++) alone[i] = (await ce.score(query, [docs[i]])).logits[0];
    for (const batchSize of [1, 3, 8, 64]) {
      const batched = await ce.score(query, docs, { batchSize });
      assert.ok(maxAbsDiff(batched.logits, alone) <= 1e-5, `batchSize ${batchSize}`);
      assert.equal(batched.stats.batches, Math.ceil(docs.length / batchSize));
    }
    const reversed = await ce.score(query, [...docs].reverse());
    assert.ok(maxAbsDiff([...reversed.logits].reverse(), alone) <= 1e-5);
    // predict() with explicit pairs gives the same numbers
    const viaPairs = await ce.predict(docs.map((d) => [query, d] as const));
    assert.ok(maxAbsDiff(viaPairs.logits, alone) <= 1e-6);
  });

  test('length-sorted batching pads each batch only to its own longest pair', async () => {
    const docs = ['short one', ...scifactDocs(3), 'tiny', 'also quite short', 'a', 'b'];
    const out = await ce.score('query', docs, { batchSize: 4 });
    // Sorted: the three long pairs (96 tokens each, cut) and one short in the first batch, then four short ones.
    assert.equal(out.truncated, 3);
    assert.deepEqual(out.truncatedIndices, [1, 2, 3]);
    const lengths = ce.tokenize('query', docs).map((p) => p.ids.length).sort((a, b) => b - a);
    assert.deepEqual(lengths.slice(0, 3), [96, 96, 96]);
    assert.equal(out.stats.tokens, lengths.reduce((a, b) => a + b, 0));
    assert.equal(out.stats.paddedTokens, 4 * 96 + 4 * lengths[4]);
    assert.ok(out.stats.paddedTokens < 8 * 96);
  });

  test('rank(): best first, topK, ties keep input order, scores are the sigmoid of the logits', async () => {
    const docs = [...VARIED_SENTENCES.slice(40, 60), VARIED_SENTENCES[40]];
    const ranked = await ce.rank('a question about the weather', docs, { topK: 5 });
    assert.equal(ranked.length, 5);
    const all = await ce.rank('a question about the weather', docs);
    assert.equal(all.length, docs.length);
    assert.deepEqual(ranked, all.slice(0, 5));
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].score >= all[i].score);
    for (const r of all) assert.ok(Math.abs(r.score - 1 / (1 + Math.exp(-r.logit))) < 1e-6);
    // The duplicate of document 0 (index 20) ties with it and comes after it.
    const first = all.findIndex((r) => r.index === 0);
    const dup = all.findIndex((r) => r.index === 20);
    assert.equal(all[first].score, all[dup].score);
    assert.ok(first < dup);
    assert.deepEqual(await ce.rank('q', docs, { topK: 0 }), []);
    assert.deepEqual(await ce.rank('q', []), []);
  });

  test('the activation can be overridden per call or at load', async () => {
    const docs = VARIED_SENTENCES.slice(0, 6);
    const sig = await ce.score('q', docs);
    const raw = await ce.score('q', docs, { activation: 'identity' });
    assert.deepEqual(raw.scores, sig.logits);
    const tanh = await ce.score('q', docs, { activation: 'tanh' });
    assert.ok(maxAbsDiff(tanh.scores, Array.from(sig.logits, Math.tanh)) <= 1e-6);
    const identity = await loadCrossEncoder(dir, { activation: 'identity' });
    try {
      assert.equal(identity.activation, 'identity');
      assert.deepEqual((await identity.score('q', docs)).scores, sig.logits);
    } finally {
      await identity.close();
    }
    await assert.rejects(ce.score('q', docs, { activation: 'relu' as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  });

  test('bad inputs get clear errors', async () => {
    await assert.rejects(ce.rank('', ['doc']), (e) => isBiencoderError(e, 'EMPTY_INPUT'));
    await assert.rejects(ce.rank('q', ['doc', '  ']), (e) => isBiencoderError(e, 'EMPTY_INPUT'));
    await assert.rejects(ce.rank(3 as never, ['doc']), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(ce.rank('q', 'doc' as never), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(ce.rank('q', ['doc'], { topK: -1 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(ce.rank('q', ['doc'], { label: 1 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(ce.predict([['q']] as never), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(ce.predict([['q', 5]] as never), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(ce.score('q', ['d'], { batchSize: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(ce.scoreTokenized([{ ids: new Int32Array(500), typeIds: new Uint8Array(500), truncated: false }]), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(ce.scoreTokenized('pairs' as never), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(ce.score('q', ['d'], { signal: controller.signal }), (e) => isBiencoderError(e, 'ABORTED'));
  });
});

describe('labels and activations from config.json', () => {
  test('3 labels: identity by default, rank needs a label (index or name)', async () => {
    const ce = await loadCrossEncoder(await syntheticCrossEncoder(tmp.dir, 'ce3', { labels: 3 }));
    try {
      assert.equal(ce.numLabels, 3);
      assert.equal(ce.activation, 'identity');
      const docs = VARIED_SENTENCES.slice(0, 10);
      await assert.rejects(ce.rank('q', docs), (e) => isBiencoderError(e, 'INVALID_ARGUMENT') && /3 labels/.test(e.message));
      const byName = await ce.rank('q', docs, { label: 'LABEL_2' });
      const byIndex = await ce.rank('q', docs, { label: 2 });
      assert.deepEqual(byName, byIndex);
      const scores = await ce.score('q', docs);
      for (const r of byIndex) assert.equal(r.score, scores.scores[r.index * 3 + 2]);
      await assert.rejects(ce.rank('q', docs, { label: 'nope' }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
      const soft = await ce.score('q', docs, { activation: 'softmax' });
      for (let r = 0; r < docs.length; r++) {
        const row = soft.scores.subarray(r * 3, r * 3 + 3);
        assert.ok(Math.abs(row[0] + row[1] + row[2] - 1) < 1e-6);
      }
    } finally {
      await ce.close();
    }
  });

  const cases: Array<{ name: string; options: Parameters<typeof syntheticCrossEncoder>[2]; activation: string; source: string }> = [
    { name: 'pre-v4 key, Identity (as ms-marco-MiniLM-L-6-v2 ships)', options: { activationFn: 'torch.nn.modules.linear.Identity', activationKey: 'sbert_ce_default_activation_function' }, activation: 'identity', source: 'sbert_ce_default_activation_function' },
    { name: 'no key, 1 label: sigmoid', options: { activationFn: null }, activation: 'sigmoid', source: 'default' },
    { name: 'no key, 2 labels: identity', options: { activationFn: null, labels: 2 }, activation: 'identity', source: 'default' },
    { name: 'Tanh', options: { activationFn: 'torch.nn.modules.activation.Tanh' }, activation: 'tanh', source: 'sentence_transformers.activation_fn' },
    { name: 'custom (non-torch) code falls back to the default', options: { activationFn: 'my_pkg.MyActivation' }, activation: 'sigmoid', source: 'default' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const ce = await loadCrossEncoder(await syntheticCrossEncoder(tmp.dir, `act-${c.name.replace(/\W+/g, '-')}`, c.options));
      try {
        assert.equal(ce.activation, c.activation);
        assert.equal(ce.config.activationSource, c.source);
      } finally {
        await ce.close();
      }
    });
  }

  test('an unknown torch activation is MODEL_INVALID unless the activation option chooses one', async () => {
    const d = await syntheticCrossEncoder(tmp.dir, 'act-gelu', { activationFn: 'torch.nn.modules.activation.GELU' });
    await assert.rejects(loadCrossEncoder(d), (e) => isBiencoderError(e, 'MODEL_INVALID') && /GELU/.test(e.message));
  });
});

describe('loading', () => {
  test('a bi-encoder directory is not a cross-encoder', async () => {
    const bi = await syntheticModel(tmp.dir, 'bi', { tiny: true });
    await assert.rejects(loadCrossEncoder(bi), (e) => isBiencoderError(e, 'MODEL_INVALID') && /sequence-classification/.test(e.message));
  });

  test('missing directory, missing dtype file, bad options', async () => {
    await assert.rejects(loadCrossEncoder(join(tmp.dir, 'nope')), (e) => isBiencoderError(e, 'MODEL_NOT_FOUND'));
    const d = await syntheticCrossEncoder(tmp.dir, 'ce-load');
    await assert.rejects(loadCrossEncoder(d, { dtype: 'fp16' }), (e) => isBiencoderError(e, 'MODEL_INVALID') && /model_fp16/.test(e.message));
    await assert.rejects(loadCrossEncoder(d, { maxLength: 3 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(loadCrossEncoder(d, { truncation: 'longest' as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(loadCrossEncoder(d, { activation: 'relu' as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    const ce = await loadCrossEncoder(d, { maxLength: 10_000 });
    assert.equal(ce.maxLength, 128, 'never above model_max_length');
    await ce.close();
    await assert.rejects(ce.rank('q', ['d']), (e) => isBiencoderError(e, 'CLOSED'));
  });

  test('a hub id loads from the Hugging Face cache layout, offline', async () => {
    const source = await syntheticCrossEncoder(tmp.dir, 'hub-source');
    const cacheDir = join(tmp.dir, 'hf-cache');
    const commit = 'abcdef0123456789abcdef0123456789abcdef01';
    const snapshot = join(cacheDir, 'models--cross-encoder--tiny-reranker', 'snapshots', commit);
    mkdirSync(snapshot, { recursive: true });
    cpSync(source, snapshot, { recursive: true });
    mkdirSync(join(cacheDir, 'models--cross-encoder--tiny-reranker', 'refs'), { recursive: true });
    writeFileSync(join(cacheDir, 'models--cross-encoder--tiny-reranker', 'refs', 'main'), commit);
    const hub = await loadCrossEncoder('cross-encoder/tiny-reranker', { cacheDir, offline: true });
    const local = await loadCrossEncoder(source);
    try {
      assert.equal(hub.modelId, 'cross-encoder/tiny-reranker');
      assert.equal(hub.revision, 'main');
      const docs = VARIED_SENTENCES.slice(0, 5);
      assert.deepEqual((await hub.score('q', docs)).logits, (await local.score('q', docs)).logits);
    } finally {
      await Promise.all([hub.close(), local.close()]);
    }
    await assert.rejects(loadCrossEncoder('cross-encoder/not-cached', { cacheDir, offline: true }), (e) => isBiencoderError(e, 'MODEL_NOT_FOUND'));
  });

  test('a hub id is downloaded into the cache (the files a cross-encoder needs), then loads offline', async () => {
    const source = await syntheticCrossEncoder(tmp.dir, 'served');
    const requests: string[] = [];
    const server = createServer(async (req, res) => {
      const url = decodeURIComponent(req.url ?? '');
      requests.push(url);
      const prefix = '/acme/tiny-reranker/resolve/';
      try {
        if (!url.startsWith(prefix)) throw new Error('not found');
        const [, ...file] = url.slice(prefix.length).split('/'); // after the revision
        const body = await readFile(normalize(join(source, ...file)));
        res.writeHead(200, { 'content-length': body.length, 'x-repo-commit': 'c0ffee0000000000000000000000000000000000' }).end(body);
      } catch {
        res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cacheDir = join(tmp.dir, 'download-cache');
    try {
      const downloaded = await loadCrossEncoder('acme/tiny-reranker', { endpoint, cacheDir });
      await downloaded.close();
      for (const file of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) assert.ok(requests.some((r) => r.endsWith(`/${file}`)), file);
      assert.ok(!requests.some((r) => r.endsWith('modules.json')), 'no bi-encoder files asked for');
      const before = requests.length;
      const offline = await loadCrossEncoder('acme/tiny-reranker', { endpoint, cacheDir, offline: true });
      const local = await loadCrossEncoder(source);
      try {
        assert.equal(requests.length, before);
        assert.deepEqual((await offline.score('q', ['a document'])).logits, (await local.score('q', ['a document'])).logits);
      } finally {
        await Promise.all([offline.close(), local.close()]);
      }
    } finally {
      server.close();
    }
  });
});
