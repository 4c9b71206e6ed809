import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Collection, DEFAULT_COLLECTION_INDEX, type SearchHit } from '../../src/collection/collection.ts';
import { checkCollection } from '../../src/collection/check.ts';
import type { IndexSpec } from '../../src/collection/index-backend.ts';
import { listIndexFiles } from '../../src/collection/index-sync.ts';
import { readManifest } from '../../src/collection/manifest.ts';
import { isBiencoderError, type ErrorCode } from '../../src/errors.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { CountingEncoder, rejectsWith, textDocs, tinyEncoder, unitVector } from './helpers.ts';

const tmp = tempDir('collection');
after(() => tmp.cleanup());

let base: Encoder;
let dirN = 0;
const newDir = (): string => join(tmp.dir, `c${dirN++}`);

before(async () => {
  base = await tinyEncoder(tmp.dir);
});

const SPECS: [string, IndexSpec][] = [
  ['flat', { kind: 'flat' }],
  ['hnsw', DEFAULT_COLLECTION_INDEX],
];

const ids = (hits: SearchHit[]): string[] => hits.map((h) => h.id);

describe('upsert, get, count, delete', () => {
  test('upsert stores texts and metadata; get is aligned with the ids; count', async () => {
    const enc = new CountingEncoder(base);
    const c = await Collection.create(newDir(), { encoder: enc, index: { kind: 'flat' } });
    const r = await c.upsert(textDocs(20));
    assert.deepEqual(r, { inserted: 20, updated: 0, unchanged: 0, embedded: 20 });
    assert.equal(c.count(), 20);
    const got = await c.get(['d3', 'nope', 'd0']);
    assert.equal(got[0]?.id, 'd3');
    assert.equal(got[0]?.text, textDocs(20)[3].text);
    assert.deepEqual(got[0]?.metadata, { i: 3, even: false });
    assert.equal(got[1], undefined);
    assert.equal(got[2]?.id, 'd0');
    const [withVector] = await c.get(['d1'], { vectors: true });
    assert.equal(withVector?.vector?.length, base.dims);
    const direct = await base.encode([textDocs(20)[1].text]);
    assert.deepEqual(Array.from(withVector!.vector!), Array.from(direct.data));
    await c.close();
  });

  test('re-upsert embeds only new and changed texts; metadata-only changes are written without embedding', async () => {
    const enc = new CountingEncoder(base);
    const c = await Collection.create(newDir(), { encoder: enc, index: { kind: 'flat' } });
    await c.upsert(textDocs(10));
    assert.equal(enc.documents, 10);
    const again = textDocs(12).map((d, i) => (i === 2 ? { ...d, text: `${d.text} (edited)` } : i === 3 ? { ...d, metadata: { i: 3, even: true } } : d));
    const r = await c.upsert(again);
    assert.deepEqual(r, { inserted: 2, updated: 2, unchanged: 8, embedded: 3 });
    assert.equal(enc.documents, 13, 'only d2 (changed) and d10, d11 (new) were embedded');
    assert.equal((await c.get(['d2']))[0]?.text, `${textDocs(10)[2].text} (edited)`);
    assert.deepEqual((await c.get(['d3']))[0]?.metadata, { i: 3, even: true });
    const unchanged = await c.upsert(again);
    assert.deepEqual(unchanged, { inserted: 0, updated: 0, unchanged: 12, embedded: 0 });
    assert.equal(enc.documents, 13);
    // The changed text is searchable under its new vector, with the same key (no duplicate).
    const hits = await c.search(`${textDocs(10)[2].text} (edited)`, { k: 1 });
    assert.equal(hits[0].id, 'd2');
    assert.ok(hits[0].score > 0.999);
    assert.equal(c.count(), 12);
    assert.equal(c.info().indexSize, 12);
    await c.close();
    // Reopening never re-embeds.
    const enc2 = new CountingEncoder(base);
    const c2 = await Collection.open(c.dir, { encoder: enc2 });
    assert.equal(c2.count(), 12);
    assert.equal(enc2.documents, 0);
    await c2.close();
  });

  test('delete removes documents from storage and search; unknown ids are ignored', async () => {
    const c = await Collection.create(newDir(), { encoder: base, index: DEFAULT_COLLECTION_INDEX });
    await c.upsert(textDocs(30));
    assert.equal(await c.delete(['d5', 'd6', 'missing', 'd5']), 2);
    assert.equal(c.count(), 28);
    assert.deepEqual(await c.get(['d5', 'd6', 'd7']).then((g) => g.map((d) => d?.id)), [undefined, undefined, 'd7']);
    const hits = await c.search(textDocs(30)[5].text, { k: 30 });
    assert.equal(hits.length, 28);
    assert.ok(!ids(hits).includes('d5') && !ids(hits).includes('d6'));
    assert.equal(await c.delete([]), 0);
    // Re-inserting a deleted id gives it a new key and it is searchable again.
    await c.upsert([textDocs(30)[5]]);
    assert.equal((await c.search(textDocs(30)[5].text, { k: 1 }))[0].id, 'd5');
    await c.close();
    assert.equal((await checkCollection(c.dir)).ok, true);
  });

  test('upsertVectors stores vectors as given; an identical re-upsert is unchanged', async () => {
    const c = await Collection.create(newDir(), { encoder: { modelId: 'test/random', dims: 16, normalized: true }, index: { kind: 'flat' } });
    const docs = Array.from({ length: 50 }, (_, i) => ({ id: `v${i}`, vector: unitVector(16, 1, i), text: `t${i}`, metadata: { i } }));
    assert.deepEqual(await c.upsertVectors(docs), { inserted: 50, updated: 0, unchanged: 0, embedded: 0 });
    assert.deepEqual(await c.upsertVectors(docs), { inserted: 0, updated: 0, unchanged: 50, embedded: 0 });
    const moved = docs.slice(0, 2).map((d, i) => ({ ...d, vector: unitVector(16, 2, i) }));
    assert.deepEqual(await c.upsertVectors(moved), { inserted: 0, updated: 2, unchanged: 0, embedded: 0 });
    const [hit] = await c.search(unitVector(16, 2, 1), { k: 1 });
    assert.equal(hit.id, 'v1');
    assert.ok(Math.abs(hit.score - 1) < 1e-5);
    assert.deepEqual(Array.from((await c.get(['v1'], { vectors: true }))[0]!.vector!), Array.from(unitVector(16, 2, 1)));
    // Text search needs an encoder.
    await rejectsWith(c.search('hello'), 'ENCODER_REQUIRED');
    await rejectsWith(c.upsert([{ id: 'x', text: 'hello' }]), 'ENCODER_REQUIRED');
    await c.close();
  });
});

describe('concurrent calls', () => {
  test('writes issued without awaiting are applied one at a time, in call order', async () => {
    const enc = new CountingEncoder(base);
    const c = await Collection.create(newDir(), { encoder: enc, index: DEFAULT_COLLECTION_INDEX });
    const v1 = textDocs(10);
    const v2 = textDocs(10).map((d) => ({ ...d, text: `${d.text} v2` }));
    const results = await Promise.all([c.upsert(v1), c.upsert(v2), c.delete(['d0']), c.search('cats', { k: 3 }), c.upsert([v1[0]])]);
    assert.deepEqual(results[0], { inserted: 10, updated: 0, unchanged: 0, embedded: 10 });
    assert.deepEqual(results[1], { inserted: 0, updated: 10, unchanged: 0, embedded: 10 });
    assert.equal(results[2], 1);
    assert.deepEqual(results[4], { inserted: 1, updated: 0, unchanged: 0, embedded: 1 });
    const got = await c.get(['d0', 'd1']);
    assert.equal(got[0]?.text, v1[0].text);
    assert.equal(got[1]?.text, v2[1].text);
    assert.equal(c.count(), 10);
    assert.equal(c.info().indexSize, 10);
    await c.close();
  });

  test('searchBatch takes a query matrix', async () => {
    const c = await Collection.create(newDir(), { encoder: { modelId: 'm', dims: 4 }, index: { kind: 'flat' } });
    await c.upsertVectors([{ id: 'x', vector: [1, 0, 0, 0] }, { id: 'y', vector: [0, 1, 0, 0] }]);
    const res = await c.searchBatch({ data: Float32Array.from([0, 2, 0, 0, 3, 0, 0, 0]), rows: 2, dims: 4 }, { k: 1 });
    assert.deepEqual(res.map((r) => r[0].id), ['y', 'x']);
    await rejectsWith(c.searchBatch({ data: new Float32Array(6), rows: 2, dims: 3 }), 'DIMENSION_MISMATCH');
    await c.close();
  });
});

describe('bad input: clear errors, nothing written', () => {
  test('ids, texts, metadata, vectors and duplicates are validated before anything is written', async () => {
    const enc = new CountingEncoder(base);
    const c = await Collection.create(newDir(), { encoder: enc, index: { kind: 'flat' } });
    await c.upsert(textDocs(3));
    const before = enc.documents;
    const cases: [unknown, ErrorCode, RegExp][] = [
      [[{ id: '', text: 'x' }], 'INVALID_ARGUMENT', /id is empty/],
      [[{ id: 7, text: 'x' }], 'INVALID_ARGUMENT', /id must be a string, got number/],
      [[{ id: 'a'.repeat(1025), text: 'x' }], 'INVALID_ARGUMENT', /longer than 1024/],
      [[{ id: 'a\ud800', text: 'x' }], 'INVALID_ARGUMENT', /lone surrogate/],
      [[{ id: 'ok', text: 'x' }, { id: 'ok', text: 'y' }], 'INVALID_ARGUMENT', /appears twice in one batch \(positions 1 and 2\)/],
      [[{ id: 'ok', text: '   ' }], 'EMPTY_INPUT', /docs\[1\] \(id "ok"\): text is empty/],
      [[{ id: 'ok', text: 42 }], 'INVALID_ARGUMENT', /text must be a string/],
      [[{ id: 'ok', text: 'x', metadata: [1] }], 'INVALID_ARGUMENT', /metadata must be a plain object, got an array/],
      [[{ id: 'ok', text: 'x', metadata: { n: Number.NaN } }], 'INVALID_ARGUMENT', /metadata\.n: NaN is not a finite number/],
      [[{ id: 'ok', text: 'x', metadata: { d: new Date() } }], 'INVALID_ARGUMENT', /Date is not a plain JSON object/],
      [[{ id: 'ok', text: 'x', metadata: { u: undefined } }], 'INVALID_ARGUMENT', /undefined is not a JSON value/],
      ['not an array', 'INVALID_ARGUMENT', /expects an array/],
      [[null], 'INVALID_ARGUMENT', /docs\[1\] must be an object/],
    ];
    for (const [docs, code, message] of cases) {
      // A valid document first: it must not be written either.
      const batch = Array.isArray(docs) ? [{ id: 'fresh', text: 'a fresh text' }, ...docs] : docs;
      await rejectsWith(c.upsert(batch as never), code, message);
    }
    assert.equal(enc.documents, before, 'nothing was embedded');
    assert.equal(c.count(), 3);
    assert.equal((await c.get(['fresh']))[0], undefined);
    await rejectsWith(c.upsertVectors([{ id: 'v', vector: new Float32Array(5) }]), 'DIMENSION_MISMATCH');
    await rejectsWith(c.upsertVectors([{ id: 'v', vector: new Float32Array(base.dims) }]), 'INVALID_ARGUMENT', /zero vector/);
    await rejectsWith(c.upsertVectors([{ id: 'v', vector: Array.from({ length: base.dims }, () => Number.POSITIVE_INFINITY) }]), 'INVALID_ARGUMENT', /not a finite/);
    await rejectsWith(c.delete([''] as string[]), 'INVALID_ARGUMENT');
    await rejectsWith(c.get([null] as unknown as string[]), 'INVALID_ARGUMENT');
    await rejectsWith(c.search('x', { k: -1 }), 'INVALID_ARGUMENT', /k must be an integer/);
    await rejectsWith(c.search('x', { k: 1.5 }), 'INVALID_ARGUMENT');
    await rejectsWith(c.search('x', { ef: 0 }), 'INVALID_ARGUMENT', /ef/);
    await rejectsWith(c.search(new Float32Array(3)), 'DIMENSION_MISMATCH');
    await rejectsWith(c.search('x', { filter: { a: { $regex: 'x' } } as never }), 'INVALID_ARGUMENT', /unknown operator \$regex/);
    assert.equal(c.count(), 3);
    await c.close();
  });

  test('a text that fails to embed fails the whole batch atomically', async () => {
    const enc = new CountingEncoder(base);
    const c = await Collection.create(newDir(), { encoder: enc, index: DEFAULT_COLLECTION_INDEX });
    await c.upsert(textDocs(5));
    enc.failOn = 'POISON';
    const batch = [...textDocs(8).map((d) => ({ ...d, text: `${d.text} v2` })), { id: 'p', text: 'a POISON text' }];
    await assert.rejects(c.upsert(batch), /refusing to embed/);
    enc.failOn = undefined;
    assert.equal(c.count(), 5);
    assert.deepEqual((await c.get(['d0']))[0]?.text, textDocs(5)[0].text, 'existing texts are untouched');
    assert.equal(c.info().indexSize, 5);
    // The collection is still writable afterwards.
    await c.upsert([{ id: 'after', text: 'after the failure' }]);
    assert.equal(c.count(), 6);
    await c.close();
    assert.equal((await checkCollection(c.dir)).ok, true);
  });

  test('an aborted upsert writes nothing', async () => {
    const c = await Collection.create(newDir(), { encoder: base, index: { kind: 'flat' } });
    const ac = new AbortController();
    ac.abort();
    await rejectsWith(c.upsert(textDocs(3), { signal: ac.signal }), 'ABORTED');
    assert.equal(c.count(), 0);
    await c.close();
  });

  test('create refuses an existing collection and a non-empty directory; open a missing one is NOT_FOUND', async () => {
    const dir = newDir();
    const c = await Collection.create(dir, { encoder: base });
    await c.close();
    await rejectsWith(Collection.create(dir, { encoder: base }), 'ALREADY_EXISTS');
    const other = newDir();
    await Collection.create(other, { encoder: base }).then((x) => x.close());
    rmSync(join(other, 'manifest.json'));
    await rejectsWith(Collection.create(other, { encoder: base }), 'INVALID_ARGUMENT', /not empty/);
    await rejectsWith(Collection.open(join(tmp.dir, 'nothing-here')), 'NOT_FOUND');
    await rejectsWith(Collection.create(newDir(), { encoder: base, index: { kind: 'nope' } as never }), 'INVALID_ARGUMENT');
    assert.ok(!readdirSync(tmp.dir).some((n) => n.includes('.creating-')), 'no temporary directories are left behind');
  });

  test('the default index: HNSW i8 + f32 rescoring for cosine, f32 HNSW for dot and l2', async () => {
    const cosine = newDir();
    await Collection.create(cosine, { encoder: base }).then((c) => c.close());
    assert.deepEqual(readManifest(cosine).index, { kind: 'hnsw', connectivity: 16, expansionAdd: 128, expansionSearch: 128, quantization: 'i8', rescore: 4 });
    for (const metric of ['dot', 'l2'] as const) {
      const dir = newDir();
      await Collection.create(dir, { encoder: base, metric }).then((c) => c.close());
      assert.deepEqual(readManifest(dir).index, { kind: 'hnsw', connectivity: 16, expansionAdd: 128, expansionSearch: 64, quantization: 'f32', rescore: 1 });
    }
  });

  test('operations after close fail with CLOSED', async () => {
    const c = await Collection.create(newDir(), { encoder: base });
    await c.close();
    await c.close(); // idempotent
    await rejectsWith(c.upsert(textDocs(1)), 'CLOSED');
    await rejectsWith(c.search('x'), 'CLOSED');
    assert.throws(() => c.count(), (e: unknown) => isBiencoderError(e, 'CLOSED'));
  });
});

for (const [name, spec] of SPECS) {
  describe(`search (${name})`, () => {
    test('a stored text is its own nearest neighbour; searchBatch mixes texts and vectors; k bounds', async () => {
      const c = await Collection.create(newDir(), { encoder: base, index: spec });
      const docs = textDocs(200);
      await c.upsert(docs);
      for (const i of [0, 17, 199]) {
        const [hit] = await c.search(docs[i].text, { k: 1 });
        assert.equal(hit.id, docs[i].id);
        assert.equal(hit.text, docs[i].text);
        assert.deepEqual(hit.metadata, docs[i].metadata);
        assert.ok(hit.score > 0.999, `score ${hit.score}`);
      }
      const v = (await c.get(['d42'], { vectors: true }))[0]!.vector!;
      // ef 200 (every document): these texts' vectors from the tiny model sit within cosine ~0.99 of each
      // other, where a multi-threaded (nondeterministic) HNSW build at the default ef sometimes misses the exact row.
      const batch = await c.searchBatch([docs[3].text, v], { k: 5, ef: 200 });
      assert.equal(batch.length, 2);
      assert.equal(batch[0][0].id, 'd3');
      assert.equal(batch[1][0].id, 'd42');
      assert.equal(batch[0].length, 5);
      for (const hits of batch) for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score, 'best first');
      assert.deepEqual(await c.search(docs[0].text, { k: 0 }), []);
      assert.equal((await c.search(docs[0].text, { k: 1000 })).length, 200);
      assert.deepEqual(await c.searchBatch([]), []);
      await c.close();
    });

    test('a filter matching 1% of the documents still returns k results', async () => {
      const dims = 24;
      const c = await Collection.create(newDir(), { encoder: { modelId: 'test/random', dims, normalized: true }, index: spec });
      const n = 3000;
      await c.upsertVectors(Array.from({ length: n }, (_, i) => ({ id: `v${i}`, vector: unitVector(dims, 7, i), metadata: { bucket: i % 100, i } })));
      for (let q = 0; q < 5; q++) {
        const query = unitVector(dims, 99, q);
        const hits = await c.search(query, { k: 10, filter: { bucket: 42 } });
        assert.equal(hits.length, 10, 'k results whenever k documents match');
        assert.ok(hits.every((h) => h.metadata.bucket === 42));
        const all = await c.search(query, { k: 100, filter: { bucket: 42 } });
        assert.equal(all.length, 30, 'every match when fewer than k match');
        // The filtered top-10 is the exact top-10 among the matches.
        assert.deepEqual(ids(hits), ids(all).slice(0, 10));
      }
      assert.deepEqual(await c.search(unitVector(dims, 99, 0), { k: 10, filter: { bucket: 1000 } }), []);
      await c.close();
    });

    test('reopening after close gives identical search results, without re-embedding', async () => {
      const enc = new CountingEncoder(base);
      const dir = newDir();
      const c = await Collection.create(dir, { encoder: enc, index: spec });
      await c.upsert(textDocs(300));
      await c.delete(['d1', 'd2']);
      const queries = ['cats and dogs', 'fish 12', textDocs(300)[77].text, 'nothing like the rest'];
      const beforeHits = await c.searchBatch(queries, { k: 10 });
      const filtered = await c.search('birds', { k: 5, filter: { even: true } });
      await c.close();
      const embedded = enc.documents;
      const c2 = await Collection.open(dir, { encoder: enc });
      assert.equal(c2.indexStatus.action, 'loaded');
      assert.equal(enc.documents, embedded);
      assert.deepEqual(await c2.searchBatch(queries, { k: 10 }), beforeHits);
      assert.deepEqual(await c2.search('birds', { k: 5, filter: { even: true } }), filtered);
      await c2.close();
    });

    test('the index is rebuilt from the stored vectors when its file is deleted or damaged', async () => {
      const enc = new CountingEncoder(base);
      const dir = newDir();
      const c = await Collection.create(dir, { encoder: enc, index: spec });
      await c.upsert(textDocs(150));
      // ef 150 (every document): two HNSW builds of these tightly clustered tiny-model vectors (cosine ~0.99)
      // are not the same graph, and at the default ef their approximate top 10 can differ.
      const expected = await c.search('dogs', { k: 10, ef: 150 });
      await c.close();
      const embedded = enc.documents;
      for (const f of readdirSync(dir)) if (f.startsWith('index-')) rmSync(join(dir, f)); // the index and its companions
      const check = await checkCollection(dir);
      assert.equal(check.ok, true);
      assert.match(check.warnings.join('\n'), /rebuilt from the stored vectors/);
      const c2 = await Collection.open(dir, { encoder: enc });
      assert.equal(c2.indexStatus.action, 'rebuilt');
      assert.match(c2.indexStatus.reason ?? '', /no index file/);
      assert.equal(c2.indexStatus.replayed, 150);
      assert.deepEqual(ids(await c2.search('dogs', { k: 10, ef: 150 })), ids(expected));
      assert.equal(enc.documents, embedded, 'no re-embedding');
      assert.equal(listIndexFiles(dir).length, 1, 'the rebuilt index was saved right away');
      await c2.close();
      // A damaged file: rebuilt too, and checkCollection reports it until then.
      const [file] = listIndexFiles(dir);
      writeFileSync(join(dir, file.name), 'garbage');
      const bad = await checkCollection(dir);
      assert.equal(bad.ok, false);
      assert.equal(bad.problems[0].code, 'INDEX_UNREADABLE');
      const c3 = await Collection.open(dir, { encoder: enc });
      assert.equal(c3.indexStatus.action, 'rebuilt');
      assert.deepEqual(ids(await c3.search('dogs', { k: 10, ef: 150 })), ids(expected));
      await c3.close();
      assert.equal((await checkCollection(dir)).ok, true);
    });
  });
}

describe('the index catches up with writes after its last save', () => {
  test('writes after a flush are replayed on open (caught-up), with deletes', async () => {
    const dir = newDir();
    const c = await Collection.create(dir, { encoder: base, index: { kind: 'flat' }, autoFlushChanges: Infinity });
    await c.upsert(textDocs(40));
    await c.flush();
    const savedSeq = c.info().savedIndexSeq;
    await c.upsert(textDocs(50).slice(40));
    await c.delete(['d0', 'd41']);
    assert.equal(c.info().unsavedChanges, 12);
    // Simulate a crash: copy the files as they are now (the index file is behind), then open the copy.
    const { cpSync } = await import('node:fs');
    const copy = newDir();
    cpSync(dir, copy, { recursive: true, filter: (src) => !src.endsWith('writer.lock') });
    await c.close();
    const check = await checkCollection(copy);
    assert.equal(check.ok, true, JSON.stringify(check.problems));
    assert.equal(check.stats.indexLag, 2);
    assert.equal(check.stats.indexSeq, savedSeq);
    const c2 = await Collection.open(copy, { encoder: base });
    assert.equal(c2.indexStatus.action, 'caught-up');
    assert.equal(c2.indexStatus.replayed, 11, '2 deletions + 9 surviving inserts (d41 was inserted and deleted)');
    assert.equal(c2.count(), 48);
    assert.equal(c2.info().indexSize, 48);
    assert.equal((await c2.search(textDocs(50)[45].text, { k: 1 }))[0].id, 'd45');
    await c2.close();
  });

  test('autoFlushChanges persists the index during ingest', async () => {
    const dir = newDir();
    const c = await Collection.create(dir, { encoder: { modelId: 'm', dims: 8 }, index: { kind: 'flat' }, autoFlushChanges: 100 });
    for (let b = 0; b < 5; b++) await c.upsertVectors(Array.from({ length: 60 }, (_, i) => ({ id: `${b}-${i}`, vector: unitVector(8, b, i) })));
    const info = c.info();
    assert.ok(info.savedIndexSeq >= 4, `saved at ${info.savedIndexSeq}`);
    assert.ok(info.unsavedChanges < 100);
    await c.close();
  });
});

describe('encoders', () => {
  test('opening with another model is ENCODER_MISMATCH naming both models', async () => {
    const dir = newDir();
    await Collection.create(dir, { encoder: base }).then((c) => c.close());
    const other = await tinyEncoder(tmp.dir, 'other-tiny', 7);
    await rejectsWith(Collection.open(dir, { encoder: other }), 'ENCODER_MISMATCH', new RegExp(`${base.modelId}.*other-tiny.*model id`));
    const fake = (patch: Partial<Encoder>): Encoder => Object.assign(Object.create(base) as Encoder, patch);
    await rejectsWith(Collection.open(dir, { encoder: fake({ revision: 'abc123' }) }), 'ENCODER_MISMATCH', /\(no revision\).*abc123.*revision/);
    await rejectsWith(Collection.open(dir, { encoder: fake({ dims: 64 }) }), 'ENCODER_MISMATCH', /32-d.*64-d.*dims/);
    await rejectsWith(Collection.open(dir, { encoder: fake({ prompts: { document: 'passage: ' } }) }), 'ENCODER_MISMATCH', /document prompt/);
    // A query prompt does not touch stored vectors.
    const c = await Collection.open(dir, { encoder: fake({ prompts: { query: 'query: ' } }) });
    await c.close();
    const m = readManifest(dir);
    assert.equal(m.encoder.modelId, base.modelId);
    assert.equal(m.dims, 32);
    assert.equal(m.metric, 'cosine');
    assert.equal(m.formatVersion, 1);
    await other.close();
  });
});

describe('locking and readers', () => {
  test('a second writer gets COLLECTION_LOCKED naming the holder; close releases the lock', async () => {
    const dir = newDir();
    const c = await Collection.create(dir, { encoder: base });
    await assert.rejects(Collection.open(dir), (e: unknown) => {
      assert.ok(isBiencoderError(e, 'COLLECTION_LOCKED'));
      assert.match((e as Error).message, new RegExp(`pid ${process.pid}`));
      assert.equal(e.details?.pid, process.pid);
      return true;
    });
    await c.close();
    assert.ok(!existsSync(join(dir, 'writer.lock')));
    const again = await Collection.open(dir);
    await again.close();
  });

  test('readers open alongside the writer, without the lock, and see its commits', async () => {
    const dir = newDir();
    const w = await Collection.create(dir, { encoder: base, index: DEFAULT_COLLECTION_INDEX, autoFlushChanges: Infinity });
    await w.upsert(textDocs(10));
    await w.flush();
    await w.upsert(textDocs(20).slice(10));
    const r1 = await Collection.open(dir, { readOnly: true, encoder: base });
    const r2 = await Collection.open(dir, { readOnly: true });
    assert.equal(r1.count(), 20);
    assert.equal(r1.indexStatus.action, 'caught-up');
    await rejectsWith(r1.upsert(textDocs(1)), 'READ_ONLY');
    await rejectsWith(r2.delete(['d0']), 'READ_ONLY');
    await w.upsert([{ id: 'new', text: 'a brand new document about whales' }]);
    await w.delete(['d3']);
    const hits = await r1.search('a brand new document about whales', { k: 25 });
    assert.equal(hits[0].id, 'new');
    assert.ok(!ids(hits).includes('d3'));
    assert.equal(hits.length, 20);
    // After a flush the writer prunes tombstones; a reader that has not caught up reloads instead.
    await w.delete(['d4']);
    await w.flush();
    const v = (await w.get(['d5'], { vectors: true }))[0]!.vector!;
    const rh = await r2.search(v, { k: 30 });
    assert.equal(rh[0].id, 'd5');
    assert.ok(!ids(rh).includes('d4') && !ids(rh).includes('d3'));
    assert.equal(rh.length, 19);
    await Promise.all([r1.close(), r2.close()]);
    await w.close();
    assert.equal((await checkCollection(dir)).ok, true);
  });
});
