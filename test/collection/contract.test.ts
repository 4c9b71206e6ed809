/**
 * The collection contract: one suite, run against the embedded store (a directory: SQLite + usearch)
 * and the pgvector store (PGlite + pgvector over a real PostgreSQL wire protocol, or BIENCODER_PG_URL),
 * both reached through openCollection / createCollection.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CollectionApi } from '../../src/collection/collection-api.ts';
import type { SearchHit } from '../../src/collection/collection.ts';
import { matchesFilter, type Metadata, type MetadataFilter } from '../../src/collection/filter.ts';
import { createCollection, openCollection, readTargetManifest, type CreateTargetOptions, type OpenTargetOptions } from '../../src/collection/open-collection.ts';
import type { IndexMetric } from '../../src/index/vector-index.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { startPgServer, type PgServer } from '../helpers/pglite-server.ts';
import { scifactDocs, tempDir } from '../helpers/synthetic.ts';
import { CountingEncoder, prng, rejectsWith, textDocs, tinyEncoder, unitVector } from './helpers.ts';

const tmp = tempDir('contract');
let base: Encoder;
let other: Encoder;
let pgServer: PgServer;

before(async () => {
  [base, other, pgServer] = await Promise.all([tinyEncoder(tmp.dir, 'tiny-a', 42), tinyEncoder(tmp.dir, 'tiny-b', 7), startPgServer()]);
});
after(async () => {
  await pgServer?.stop();
  tmp.cleanup();
});

interface Store {
  readonly name: string;
  /** A fresh, unused target. */
  target(): string;
  /** Options every create() of this store adds. */
  readonly createOptions?: Partial<CreateTargetOptions>;
}

let dirN = 0;
const STORES: Store[] = [
  { name: 'embedded', target: () => join(tmp.dir, `c${dirN++}`) },
  { name: 'pgvector', target: () => pgServer.collectionUrl('contract') },
  // The whole suite again on hash-partitioned tables: keys, ON CONFLICT, filters, HNSW and postings across partitions.
  { name: 'pgvector, 3 hash partitions', target: () => pgServer.collectionUrl('contract_p'), createOptions: { partitions: 3 } },
];

const ids = (hits: SearchHit[]): string[] => hits.map((h) => h.id);

function score(metric: IndexMetric, a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let l2 = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
    l2 += (a[i] - b[i]) ** 2;
  }
  return metric === 'cosine' ? dot / Math.sqrt(na * nb) : metric === 'dot' ? dot : -Math.sqrt(l2);
}

/** Random non-unit vectors (so cosine, dot and l2 rank differently). */
function randomVector(dims: number, seed: number, i: number): Float32Array {
  const v = unitVector(dims, seed, i);
  const r = prng(seed * 31 + i);
  const scale = 0.5 + 2 * r();
  return v.map((x) => x * scale);
}

const METADATA_VALUES: Metadata[] = [
  { lang: 'en', year: 2020, tags: ['a', 'b'], author: { name: 'Ann' } },
  { lang: 'fr', year: 2018, tags: ['b'], draft: null },
  { lang: 'en', year: 2023.5, tags: [], author: { name: 'Bob', age: 41 } },
  { lang: 'de', year: '2021', rating: 4 },
  { lang: "o'brien", year: 1999, tags: ['c', 1, true] },
  { lang: 'en', flag: false, nested: { deep: { x: 1 } } },
  {},
  { lang: 'ünï', year: 2020, tags: ['a'] },
];

const FILTERS: MetadataFilter[] = [
  {},
  { lang: 'en' },
  { lang: { $ne: 'en' } },
  { lang: { $in: ['fr', 'de', "o'brien"] } },
  { lang: { $nin: ['en'] } },
  { year: { $gte: 2020 } },
  { year: { $lt: 2020 } },
  { year: { $gt: '2000' } },
  { tags: 'a' },
  { tags: { $in: [1, 'c'] } },
  { tags: true },
  { 'author.name': 'Bob' },
  { 'author.age': { $lte: 41 } },
  { draft: null },
  { draft: { $exists: true } },
  { rating: { $exists: false } },
  { flag: false },
  { 'nested.deep.x': 1 },
  { $or: [{ lang: 'fr' }, { year: { $gte: 2023 } }] },
  { $and: [{ lang: 'en' }, { tags: { $in: ['a', 'zzz'] } }] },
  { lang: 'ünï' },
  { year: 2020, lang: { $ne: 'ünï' } },
];

for (const store of STORES) {
  describe(`collection contract: ${store.name}`, () => {
    const opened: CollectionApi[] = [];
    const create = async (options: CreateTargetOptions, target = store.target()): Promise<CollectionApi> => {
      const c = await createCollection(target, { ...store.createOptions, ...options });
      opened.push(c);
      return c;
    };
    const open = async (target: string, options: OpenTargetOptions = {}): Promise<CollectionApi> => {
      const c = await openCollection(target, options);
      opened.push(c);
      return c;
    };
    after(async () => {
      for (const c of opened) await c.close();
    });

    test('upsert embeds only new and changed texts; metadata-only changes; get; count; delete', async () => {
      const enc = new CountingEncoder(base);
      const c = await create({ encoder: enc });
      assert.deepEqual(await c.upsert(textDocs(12)), { inserted: 12, updated: 0, unchanged: 0, embedded: 12 });
      assert.equal(await c.count(), 12);
      assert.deepEqual(await c.upsert(textDocs(12)), { inserted: 0, updated: 0, unchanged: 12, embedded: 0 });
      assert.equal(enc.documents, 12);
      const next = textDocs(14);
      next[2] = { ...next[2], text: 'a changed text about owls' };
      next[3] = { ...next[3], metadata: { i: 3, even: true } };
      assert.deepEqual(await c.upsert(next), { inserted: 2, updated: 2, unchanged: 10, embedded: 3 });
      assert.equal(enc.documents, 15);
      const got = await c.get(['d2', 'missing', 'd3'], { vectors: true });
      assert.equal(got[0]?.text, 'a changed text about owls');
      assert.deepEqual(Array.from(got[0]!.vector!), Array.from((await base.encode(['a changed text about owls'])).data));
      assert.equal(got[1], undefined);
      assert.deepEqual(got[2]?.metadata, { i: 3, even: true });
      assert.equal((await c.get(['d0']))[0]?.vector, undefined);
      assert.equal(await c.delete(['d0', 'd1', 'nope', 'd0']), 2);
      assert.equal(await c.count(), 12);
      assert.deepEqual(await c.get(['d0']), [undefined]);
      assert.equal(await c.delete([]), 0);
      const info = await c.info();
      assert.equal(info.count, 12);
      assert.ok(info.seq >= 3, `seq ${info.seq}`);
    });

    test('upsertVectors: stored exactly; unchanged, updated (vector, text or metadata)', async () => {
      const c = await create({ encoder: { modelId: 'vectors', dims: 8 }, metric: 'l2' });
      const v = (i: number): Float32Array => randomVector(8, 5, i);
      const rows = Array.from({ length: 5 }, (_, i) => ({ id: `v${i}`, vector: v(i), text: `t${i}`, metadata: { i } }));
      assert.deepEqual(await c.upsertVectors(rows), { inserted: 5, updated: 0, unchanged: 0, embedded: 0 });
      assert.deepEqual(await c.upsertVectors(rows), { inserted: 0, updated: 0, unchanged: 5, embedded: 0 });
      const changed = [
        { ...rows[0], vector: v(10) },
        { ...rows[1], text: 'other' },
        { ...rows[2], metadata: { i: 99 } },
        rows[3],
        { id: 'plain', vector: Array.from(v(11)) },
      ];
      assert.deepEqual(await c.upsertVectors(changed), { inserted: 1, updated: 3, unchanged: 1, embedded: 0 });
      const got = await c.get(['v0', 'v1', 'v2', 'plain'], { vectors: true });
      assert.deepEqual(Array.from(got[0]!.vector!), Array.from(v(10)));
      assert.equal(got[1]?.text, 'other');
      assert.deepEqual(got[2]?.metadata, { i: 99 });
      assert.deepEqual(got[3], { id: 'plain', text: '', metadata: {}, vector: v(11) });
    });

    for (const metric of ['cosine', 'dot', 'l2'] as const) {
      test(`search (${metric}): exact top-k order and scores, higher is better; searchBatch; k edge cases`, async () => {
        const dims = 16;
        const n = 80;
        const c = await create({ encoder: { modelId: 'vectors', dims }, metric });
        const vectors = Array.from({ length: n }, (_, i) => randomVector(dims, 11, i));
        await c.upsertVectors(vectors.map((vector, i) => ({ id: `x${i}`, vector, text: `text ${i}`, metadata: { i } })));
        const queries = Array.from({ length: 5 }, (_, i) => randomVector(dims, 99, i));
        const batch = await c.searchBatch(queries, { k: 10, ef: 200 });
        assert.equal(batch.length, 5);
        queries.forEach((q, qi) => {
          const expected = vectors.map((v, i) => ({ id: `x${i}`, s: score(metric, q, v) })).sort((a, b) => b.s - a.s).slice(0, 10);
          assert.deepEqual(ids(batch[qi]), expected.map((e) => e.id), `query ${qi}`);
          batch[qi].forEach((h, j) => {
            assert.ok(Math.abs(h.score - expected[j].s) < 1e-4 * Math.max(1, Math.abs(expected[j].s)), `${metric} score ${h.score} vs ${expected[j].s}`);
            assert.equal(h.text, `text ${h.id.slice(1)}`);
            assert.deepEqual(h.metadata, { i: Number(h.id.slice(1)) });
          });
        });
        const single = await c.search(queries[0], { k: 10, ef: 200 });
        assert.deepEqual(ids(single), ids(batch[0]));
        const matrix = { data: new Float32Array(queries.flatMap((q) => Array.from(q))), rows: 5, dims };
        assert.deepEqual((await c.searchBatch(matrix, { k: 10, ef: 200 })).map(ids), batch.map(ids));
        assert.deepEqual(await c.search(queries[0], { k: 0 }), []);
        assert.equal((await c.search(queries[0], { k: 500 })).length, n, 'k above the count returns every document');
        assert.deepEqual(await c.searchBatch([], { k: 3 }), []);
        await rejectsWith(c.search(queries[0], { k: -1 }), 'INVALID_ARGUMENT', /k must be/);
        await rejectsWith(c.search(queries[0], { k: 1.5 }), 'INVALID_ARGUMENT');
        await rejectsWith(c.search(queries[0], { ef: 0 }), 'INVALID_ARGUMENT', /ef/);
        await rejectsWith(c.search(new Float32Array(dims + 1)), 'DIMENSION_MISMATCH');
        await rejectsWith(c.search(new Float32Array(dims).fill(Number.NaN)), 'INVALID_ARGUMENT');
      });
    }

    test('text search with the encoder; the same neighbours as the embedded vectors', async () => {
      const c = await create({ encoder: base });
      await c.upsert(textDocs(30));
      const hits = await c.search('document 7: birds', { k: 5 });
      assert.equal(hits.length, 5);
      const [q] = [(await base.encode(['document 7: birds'], { role: 'query' })).data];
      const byVector = await c.search(q, { k: 5 });
      assert.deepEqual(ids(hits), ids(byVector));
      for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score);
    });

    test('metadata filters select exactly the documents matchesFilter selects, with k results whenever k match', async () => {
      const dims = 8;
      const c = await create({ encoder: { modelId: 'vectors', dims } });
      const n = 64;
      const metas = Array.from({ length: n }, (_, i) => METADATA_VALUES[i % METADATA_VALUES.length]);
      await c.upsertVectors(metas.map((metadata, i) => ({ id: `m${i}`, vector: unitVector(dims, 3, i), metadata })));
      const q = unitVector(dims, 4, 0);
      for (const filter of FILTERS) {
        const expected = metas.map((m, i) => (matchesFilter(m, filter) ? `m${i}` : undefined)).filter((x) => x !== undefined).sort();
        const all = await c.search(q, { k: n, filter });
        assert.deepEqual(ids(all).sort(), expected, `filter ${JSON.stringify(filter)}`);
        const top3 = await c.search(q, { k: 3, filter });
        assert.equal(top3.length, Math.min(3, expected.length), `k=3 with filter ${JSON.stringify(filter)}`);
        assert.deepEqual(ids(top3), ids(all).slice(0, top3.length));
      }
      await rejectsWith(c.search(q, { filter: { $where: 'x' } as MetadataFilter }), 'INVALID_ARGUMENT', /unknown operator/);
      await rejectsWith(c.search(q, { filter: { a: { $gt: [1] } } as unknown as MetadataFilter }), 'INVALID_ARGUMENT');
      await rejectsWith(c.search(q, { filter: 'lang = en' as unknown as MetadataFilter }), 'INVALID_ARGUMENT');
    });

    test('deleteWhere deletes exactly the documents matchesFilter selects, atomically; bad filters write nothing', async () => {
      const dims = 8;
      const c = await create({ encoder: { modelId: 'vectors', dims } });
      const n = 64;
      const metas = Array.from({ length: n }, (_, i) => METADATA_VALUES[i % METADATA_VALUES.length]);
      const docs = metas.map((metadata, i) => ({ id: `m${i}`, vector: unitVector(dims, 3, i), metadata }));
      const seqBefore = async (): Promise<number> => (await c.info()).seq;
      for (const filter of FILTERS.filter((f) => Object.keys(f).length > 0)) { // {} is refused: see below
        await c.upsertVectors(docs);
        const expected = metas.map((m, i) => (matchesFilter(m, filter) ? `m${i}` : undefined)).filter((x): x is string => x !== undefined);
        assert.equal(await c.deleteWhere(filter), expected.length, `filter ${JSON.stringify(filter)}`);
        const left = await c.get(docs.map((d) => d.id));
        assert.deepEqual(docs.filter((_, i) => left[i] === undefined).map((d) => d.id).sort(), [...expected].sort(), `filter ${JSON.stringify(filter)}`);
        assert.deepEqual(ids(await c.search(unitVector(dims, 4, 0), { k: n, filter })), [], 'nothing matching is found afterwards');
      }
      const seq = await seqBefore();
      await rejectsWith(c.deleteWhere({ $where: 'x' } as MetadataFilter), 'INVALID_ARGUMENT', /unknown operator/);
      await rejectsWith(c.deleteWhere('lang = en' as unknown as MetadataFilter), 'INVALID_ARGUMENT');
      assert.equal(await seqBefore(), seq, 'a refused deleteWhere writes nothing');
      assert.equal(await c.deleteWhere({ lang: 'nowhere' }), 0);
      await c.upsertVectors(docs);
      await rejectsWith(c.deleteWhere({}), 'INVALID_ARGUMENT', /empty filter/);
      assert.equal(await c.count(), n, 'the empty filter deletes nothing');
    });

    test('bad inputs are rejected with their codes and write nothing', async () => {
      const c = await create({ encoder: base });
      await c.upsert(textDocs(3));
      const before = await c.get(['d0', 'd1', 'd2']);
      await rejectsWith(c.upsert([{ id: 'd0', text: 'x' }, { id: 'd0', text: 'y' }]), 'INVALID_ARGUMENT', /twice/);
      await rejectsWith(c.upsert([{ id: 'd0', text: 'new text' }, { id: 'e', text: '   ' }]), 'EMPTY_INPUT');
      await rejectsWith(c.upsert([{ id: '', text: 'x' }]), 'INVALID_ARGUMENT', /id is empty/);
      await rejectsWith(c.upsert([{ id: 'x'.repeat(1025), text: 'x' }]), 'INVALID_ARGUMENT', /longer than 1024/);
      await rejectsWith(c.upsert([{ id: 'd1', text: 'x', metadata: [] as unknown as Metadata }]), 'INVALID_ARGUMENT', /plain object/);
      await rejectsWith(c.upsert([{ id: 'd1', text: 'x', metadata: { n: Number.NaN } }]), 'INVALID_ARGUMENT', /finite/);
      await rejectsWith(c.upsert('nope' as unknown as []), 'INVALID_ARGUMENT');
      await rejectsWith(c.upsertVectors([{ id: 'v', vector: new Float32Array(base.dims + 1) }]), 'DIMENSION_MISMATCH');
      await rejectsWith(c.upsertVectors([{ id: 'v', vector: new Float32Array(base.dims) }]), 'INVALID_ARGUMENT', /zero vector/);
      await rejectsWith(c.upsertVectors([{ id: 'v', vector: new Float32Array(base.dims).fill(Number.POSITIVE_INFINITY) }]), 'INVALID_ARGUMENT');
      await rejectsWith(c.delete([1 as unknown as string]), 'INVALID_ARGUMENT');
      await rejectsWith(c.get('d0' as unknown as string[]), 'INVALID_ARGUMENT');
      assert.deepEqual(await c.get(['d0', 'd1', 'd2']), before);
      assert.equal(await c.count(), 3);
      assert.equal((await c.get(['e', 'v'])).filter(Boolean).length, 0);
    });

    test('the encoder guard, encoder-less handles, reopen persistence, read-only, closed, exists / missing', async () => {
      const target = store.target();
      const c = await create({ encoder: base }, target);
      await c.upsert(textDocs(10));
      const q = (await base.encode(['cats and things'], { role: 'query' })).data;
      const hitsBefore = await c.search(q, { k: 4 });
      await c.close();
      await rejectsWith(() => c.count(), 'CLOSED');
      await rejectsWith(createCollection(target, { encoder: base }), 'ALREADY_EXISTS');
      await rejectsWith(openCollection(target, { encoder: other }), 'ENCODER_MISMATCH', /never mixed/);
      const again = await open(target, { encoder: base });
      assert.equal(await again.count(), 10);
      assert.deepEqual(ids(await again.search(q, { k: 4 })), ids(hitsBefore));
      assert.equal(again.manifest.encoder.modelId, base.modelId);
      assert.equal(again.dims, base.dims);
      assert.equal(again.metric, 'cosine');
      assert.deepEqual(await readTargetManifest(target), again.manifest);
      await again.close();
      const bare = await open(target, { readOnly: true });
      assert.equal(bare.readOnly, true);
      assert.deepEqual(ids(await bare.search(q, { k: 4 })), ids(hitsBefore));
      await rejectsWith(bare.search('cats'), 'ENCODER_REQUIRED');
      await rejectsWith(bare.upsertVectors([{ id: 'z', vector: q }]), 'READ_ONLY');
      await rejectsWith(bare.delete(['d0']), 'READ_ONLY');
      await bare.close();
      const writer = await open(target);
      await rejectsWith(writer.upsert([{ id: 'new', text: 'needs embedding' }]), 'ENCODER_REQUIRED');
      assert.deepEqual(await writer.upsertVectors([{ id: 'new', vector: q }]), { inserted: 1, updated: 0, unchanged: 0, embedded: 0 });
      await writer.close();
      await rejectsWith(openCollection(store.target()), 'NOT_FOUND');
    });
  });
}

/**
 * Keyword and hybrid search give the same results on both stores: the same analyzer, the same BM25
 * formula (computed in SQL on pgvector), the same fusion. Exact dense sides (flat indexes) so that the
 * fused scores can be compared; after updates and deletes, so that the BM25 statistics (N, the total
 * length, document frequencies) are kept by writes, not only by a fresh load.
 */
describe('keyword and hybrid parity between stores', () => {
  const TEXTS = scifactDocs(120);
  const QUERIES = [
    'protein folding in the cell membrane',
    'risk of cancer in women after pregnancy',
    'tuberculosis treatment regimen',
    'the effect of the vaccine on children',
    'DNA repair mechanisms mice',
    'antibiotic resistance bacteria',
    'the of and', // stopwords only: nothing to match (no results) unless stopwords are kept
  ];
  const opened: CollectionApi[] = [];
  after(async () => {
    for (const c of opened) await c.close();
  });
  const load = async (target: string, options: Partial<CreateTargetOptions> = {}): Promise<CollectionApi> => {
    const c = await createCollection(target, { encoder: base, index: { kind: 'flat' }, ...options });
    opened.push(c);
    await c.upsert(TEXTS.slice(0, 100).map((text, i) => ({ id: `d${String(i).padStart(3, '0')}`, text, metadata: { i, even: i % 2 === 0 } })));
    // texts changed, documents added and deleted: the statistics must follow
    await c.upsert(TEXTS.slice(100, 120).map((text, i) => ({ id: `d${String(i * 3).padStart(3, '0')}`, text, metadata: { i: i * 3, even: i % 2 === 0 } })));
    await c.upsert([{ id: 'extra', text: 'tuberculosis tuberculosis protein vaccine', metadata: { i: 1000, even: true } }]);
    await c.delete(['d001', 'd002', 'd050']);
    await c.deleteWhere({ i: { $gte: 90, $lt: 95 } });
    return c;
  };

  const compare = (a: SearchHit[], b: SearchHit[], what: string): void => {
    assert.deepEqual(ids(a), ids(b), what);
    a.forEach((h, i) => assert.ok(Math.abs(h.score - b[i].score) <= 1e-4, `${what}: ${h.id} ${h.score} vs ${b[i].score}`));
    assert.deepEqual(a.map((h) => [h.text, h.metadata]), b.map((h) => [h.text, h.metadata]), what);
  };

  for (const partitions of [0, 3]) {
    test(`the same top 10 ids and scores (to 1e-4) on both stores: keyword, hybrid (convex, rrf), filters, stopwords${partitions ? `; ${partitions} partitions` : ''}`, async () => {
      const dir = await load(join(tmp.dir, `parity${partitions}`));
      const pg = await load(pgServer.collectionUrl('parity'), { partitions });
      assert.deepEqual([...pg.searchModes], ['dense', 'keyword', 'hybrid']);
      assert.equal(await pg.count(), await dir.count());
      let nonEmpty = 0;
      for (const q of QUERIES) {
        for (const options of [
          { mode: 'keyword' as const },
          { mode: 'keyword' as const, keyword: { stopwords: 'none' as const } },
          { mode: 'keyword' as const, filter: { even: true } },
          { mode: 'hybrid' as const },
          { mode: 'hybrid' as const, hybrid: { fusion: 'rrf' as const } },
          { mode: 'hybrid' as const, hybrid: { normalization: 'zscore' as const, weight: 0.3 } },
          { mode: 'hybrid' as const, filter: { i: { $lt: 60 } } },
        ]) {
          const [a, b] = [await pg.search(q, { k: 10, ...options }), await dir.search(q, { k: 10, ...options })];
          compare(a, b, `${q} ${JSON.stringify(options)}`);
          if (a.length > 0) nonEmpty++;
        }
      }
      assert.ok(nonEmpty >= 40, `${nonEmpty} non-empty lists compared`);
      // batches, and { text, vector } queries (the vector given instead of embedded)
      const vectors = await base.encode(QUERIES.slice(0, 3), { role: 'query' });
      const withVectors = QUERIES.slice(0, 3).map((text, i) => ({ text, vector: vectors.data.slice(i * base.dims, (i + 1) * base.dims) }));
      const [pa, da] = [await pg.searchBatch(withVectors, { k: 10, mode: 'hybrid' }), await dir.searchBatch(withVectors, { k: 10, mode: 'hybrid' })];
      pa.forEach((list, i) => compare(list, da[i], `batch ${i}`));
      compare(pa[0], await pg.search(QUERIES[0], { k: 10, mode: 'hybrid' }), 'the given vector is the embedded query');
    });
  }

  test('keyword and hybrid inputs are checked alike on both stores', async () => {
    const dir = await load(join(tmp.dir, 'parity-inputs'));
    const pg = await load(pgServer.collectionUrl('parity_inputs'));
    for (const c of [dir, pg]) {
      await rejectsWith(c.search(new Float32Array(base.dims).fill(1), { mode: 'keyword' }), 'INVALID_ARGUMENT', /text queries/);
      await rejectsWith(c.search('x', { mode: 'keyword', keyword: { stopwords: 'all' as 'none' } }), 'INVALID_ARGUMENT', /stopwords/);
      await rejectsWith(c.search('x', { mode: 'hybrid', hybrid: { weight: 2 } }), 'INVALID_ARGUMENT');
      await rejectsWith(c.search({ text: 'x', vector: new Float32Array(3) }, { mode: 'hybrid' }), 'DIMENSION_MISMATCH');
      await rejectsWith(c.search({ text: 'x', vector: new Float32Array(base.dims).fill(1) }), 'INVALID_ARGUMENT', /keyword and hybrid/);
      await rejectsWith(c.search('', { mode: 'keyword' }), 'EMPTY_INPUT');
      assert.deepEqual(await c.search('zzzqqq unknownword', { mode: 'keyword' }), []);
      assert.deepEqual(await c.search('tuberculosis', { mode: 'keyword', k: 0 }), []);
    }
  });
});
