/** pgvector-specific behaviour: schema, HNSW use and recall, filtered HNSW, halfvec, limits, concurrency, URLs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PgvectorCollection } from '../../../src/collection/pgvector/pgvector-collection.ts';
import { parsePgTarget } from '../../../src/collection/pgvector/target.ts';
import { roundToF16, toVectorLiteral } from '../../../src/collection/pgvector/vector-codec.ts';
import { pgServerForFile } from '../../helpers/pglite-server.ts';
import { rejectsWith, unitVector } from '../helpers.ts';

const server = pgServerForFile();

const nameOf = (url: string): string => new URL(url).searchParams.get('collection')!;

test('schema: the table, the HNSW index with m / ef_construction and the metric\'s operator class, the manifest row', async () => {
  for (const [metric, opclass] of [['cosine', 'vector_cosine_ops'], ['dot', 'vector_ip_ops'], ['l2', 'vector_l2_ops']] as const) {
    const url = server.collectionUrl('schema');
    const c = await PgvectorCollection.create(url, { encoder: { modelId: 'm', dims: 8 }, metric, index: { kind: 'hnsw', connectivity: 12, expansionAdd: 48, expansionSearch: 30 } });
    const name = nameOf(url);
    const { rows } = await server.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname = $2', [`biencoder_${name}`, `biencoder_${name}_hnsw`]);
    assert.equal(rows.length, 1);
    assert.match(rows[0].indexdef, new RegExp(`USING hnsw \\(embedding ${opclass}\\) WITH \\(m='?12'?, ef_construction='?48'?\\)`));
    const reg = await server.query<{ manifest: { metric: string; index: unknown; encoder: { modelId: string } } }>('SELECT manifest FROM biencoder_collections WHERE name = $1', [name]);
    assert.equal(reg.rows[0].manifest.metric, metric);
    assert.deepEqual(reg.rows[0].manifest.index, c.manifest.index);
    assert.equal(reg.rows[0].manifest.encoder.modelId, 'm');
    const info = await c.info();
    assert.equal(info.vectorType, 'vector');
    assert.match(info.pgvectorVersion, /^\d+\.\d+/);
    await c.close();
  }
  const flat = await PgvectorCollection.create(server.collectionUrl('flat'), { encoder: { modelId: 'm', dims: 3000 }, index: { kind: 'flat' } });
  const idx = await server.query('SELECT 1 FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE $2', [`biencoder_${flat.collectionName}`, '%hnsw%']);
  assert.equal(idx.rows.length, 0, 'a flat collection has no HNSW index');
  await flat.upsertVectors([{ id: 'a', vector: new Float32Array(3000).fill(0.5) }]);
  assert.equal((await flat.search(new Float32Array(3000).fill(1), { k: 3 })).length, 1);
  await flat.close();
});

test('what pgvector cannot do is refused before anything is created', async () => {
  await rejectsWith(PgvectorCollection.create(server.collectionUrl('lim'), { encoder: { modelId: 'm', dims: 8 }, index: { kind: 'hnsw', quantization: 'i8' } }), 'UNSUPPORTED', /i8/);
  await rejectsWith(PgvectorCollection.create(server.collectionUrl('lim'), { encoder: { modelId: 'm', dims: 2001 } }), 'INVALID_ARGUMENT', /2000/);
  await rejectsWith(PgvectorCollection.create(server.collectionUrl('lim'), { encoder: { modelId: 'm', dims: 8 }, index: { kind: 'hnsw', connectivity: 101 } }), 'INVALID_ARGUMENT', /m \(connectivity\)/);
  await rejectsWith(PgvectorCollection.create(server.collectionUrl('lim'), { encoder: { modelId: 'm', dims: 8 }, metric: 'manhattan' as 'l2' }), 'INVALID_ARGUMENT');
  const { rows } = await server.query(`SELECT 1 FROM biencoder_collections WHERE name LIKE 'lim_%'`).catch(() => ({ rows: [] }));
  assert.equal(rows.length, 0);
  const c = await PgvectorCollection.create(server.collectionUrl('mode'), { encoder: { modelId: 'm', dims: 4 } });
  await rejectsWith(c.search(unitVector(4, 1, 1), { mode: 'keyword' }), 'INVALID_ARGUMENT', /text queries/);
  for (const partitions of [1, -2, 65, 2.5, '4']) {
    await rejectsWith(PgvectorCollection.create(server.collectionUrl('lim'), { encoder: { modelId: 'm', dims: 4 }, partitions: partitions as number }), 'INVALID_ARGUMENT', /partitions/);
  }
  await c.close();
});

test('HNSW: the index serves the search; recall@10 against exact; selective filters still return k (iterative scan / exact fallback)', async () => {
  const dims = 16;
  const n = 2000;
  const url = server.collectionUrl('hnsw');
  const c = await PgvectorCollection.create(url, { encoder: { modelId: 'm', dims } });
  const vectors = Array.from({ length: n }, (_, i) => unitVector(dims, 21, i));
  for (let i = 0; i < n; i += 1000) {
    await c.upsertVectors(vectors.slice(i, i + 1000).map((vector, j) => ({ id: `v${i + j}`, vector, metadata: { bucket: (i + j) % 100, rare: (i + j) % 1000 === 7 } })));
  }
  const q = unitVector(dims, 22, 0);
  const plan = await server.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT id FROM biencoder_${nameOf(url)} ORDER BY embedding <=> '${toVectorLiteral(q)}' LIMIT 10`);
  assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /Index Scan using biencoder_\w+_hnsw/);
  const exact = (query: Float32Array, keep: (i: number) => boolean, k: number): string[] =>
    vectors.map((v, i) => ({ i, s: v.reduce((a, x, j) => a + x * query[j], 0) })).filter((e) => keep(e.i)).sort((a, b) => b.s - a.s).slice(0, k).map((e) => `v${e.i}`);
  let found = 0;
  const queries = Array.from({ length: 20 }, (_, i) => unitVector(dims, 23, i));
  const results = await c.searchBatch(queries, { k: 10, ef: 100 });
  queries.forEach((query, qi) => {
    const truth = new Set(exact(query, () => true, 10));
    found += results[qi].filter((h) => truth.has(h.id)).length;
  });
  assert.ok(found / 200 >= 0.9, `recall@10 ${found / 200}`);
  // 2 documents match (a selective filter: searched exactly): both come back.
  const rare = await c.search(q, { k: 10, filter: { rare: true } });
  assert.deepEqual(rare.map((h) => h.id).sort(), exact(q, (i) => i % 1000 === 7, 10).sort());
  // 20 documents match (1%, selective: exact): the top 10 of them, exactly.
  const bucket = await c.search(q, { k: 10, filter: { bucket: 42 }, ef: 200 });
  assert.deepEqual(bucket.map((h) => h.id), exact(q, (i) => i % 100 === 42, 10));
  // Half the documents match: the HNSW path with an iterative scan.
  const half = await c.search(q, { k: 10, filter: { bucket: { $lt: 50 } }, ef: 200 });
  const halfTruth = new Set(exact(q, (i) => i % 100 < 50, 10));
  assert.equal(half.length, 10);
  assert.ok(half.filter((h) => halfTruth.has(h.id)).length >= 8, 'filtered HNSW recall');
  assert.ok(half.every((h) => (h.metadata.bucket as number) < 50));
  // k above ef_search's 1000 cap: every document.
  assert.equal((await c.search(q, { k: 1500 })).length, 1500);
  await c.close();
});

test('halfvec (f16): stored as f16 values, searched with halfvec operators', async () => {
  const dims = 8;
  const c = await PgvectorCollection.create(server.collectionUrl('half'), { encoder: { modelId: 'm', dims }, index: { kind: 'hnsw', quantization: 'f16' } });
  assert.equal(c.vectorType, 'halfvec');
  const v = Float32Array.from([1 / 3, -0.1, 1e-5, 100.7, 0.5, -2, 3.14159, 7e-8]);
  await c.upsertVectors([{ id: 'a', vector: v }, { id: 'b', vector: unitVector(dims, 1, 1) }]);
  const [got] = await c.get(['a'], { vectors: true });
  assert.deepEqual(Array.from(got!.vector!), Array.from(v, roundToF16));
  const hits = await c.search(v, { k: 2 });
  assert.equal(hits[0].id, 'a');
  assert.ok(Math.abs(hits[0].score - 1) < 1e-3);
  assert.deepEqual(await c.upsertVectors([{ id: 'a', vector: v }]), { inserted: 0, updated: 0, unchanged: 1, embedded: 0 }, 'the same f32 input rounds to the same f16 row');
  await c.close();
});

test('two handles (as two processes): the manifest guard is shared; concurrent writers keep every write', async () => {
  const url = server.collectionUrl('two');
  const a = await PgvectorCollection.create(url, { encoder: { modelId: 'model-a', revision: 'r1', dims: 4 } });
  await rejectsWith(PgvectorCollection.open(url, { encoder: { modelId: 'model-b', dims: 4, encode: async () => ({ data: new Float32Array(), rows: 0, dims: 4, truncated: 0, truncatedIndices: [] }) } as never }), 'ENCODER_MISMATCH', /model-a@r1/);
  const b = await PgvectorCollection.open(url);
  assert.deepEqual(b.manifest, a.manifest);
  const rows = (prefix: string, seed: number) => Array.from({ length: 50 }, (_, i) => ({ id: `${prefix}${i}`, vector: unitVector(4, seed, i) }));
  const results = await Promise.all([a.upsertVectors(rows('a', 1)), b.upsertVectors(rows('b', 2)), a.upsertVectors(rows('s', 3)), b.upsertVectors(rows('s', 3))]);
  assert.equal(results[0].inserted + results[1].inserted, 100);
  assert.equal(results[2].inserted + results[3].inserted, 50, 'the shared ids are inserted once');
  assert.equal(results[2].unchanged + results[3].unchanged, 50);
  assert.equal(await a.count(), 150);
  assert.equal(await b.count(), 150);
  await a.close();
  await b.close();
});

test('URLs: the collection parameter (default "default"), the password hidden; unreachable servers are STORE_FAILED', async () => {
  const t = parsePgTarget('postgres://u:secret@db.example:5433/app?sslmode=disable&collection=docs');
  assert.equal(t.collection, 'docs');
  assert.equal(t.connectionString, 'postgres://u:secret@db.example:5433/app?sslmode=disable');
  assert.doesNotMatch(t.display, /secret/);
  assert.equal(parsePgTarget('postgresql://localhost/db').collection, 'default');
  assert.equal(parsePgTarget('postgresql://localhost/db?collection=a', 'b').collection, 'b');
  assert.throws(() => parsePgTarget('postgres://h/db?collection=a&collection=b'), /more than one/);
  assert.throws(() => parsePgTarget('mysql://h/db'), /postgres/);
  await rejectsWith(PgvectorCollection.open('postgres://nobody:pw@127.0.0.1:1/none?collection=x'), 'STORE_FAILED', /127\.0\.0\.1:1/);
});

test('roundToF16: ties to even, subnormals, the f16 grid', () => {
  assert.equal(roundToF16(1 / 3), 0.333251953125);
  assert.equal(roundToF16(1 + 2 ** -11), 1, 'a tie rounds to even (down)');
  assert.equal(roundToF16(1 + 3 * 2 ** -11), 1 + 2 ** -9, 'a tie rounds to even (up)');
  assert.equal(roundToF16(65504), 65504);
  assert.equal(roundToF16(-(2 ** -24)), -(2 ** -24));
  assert.equal(roundToF16(2 ** -25), 0);
  assert.equal(roundToF16(3 * 2 ** -26), 2 ** -24);
  assert.equal(roundToF16(0.1), 0.0999755859375);
});

test('deferIndex: a bulk load without the index (exact search meanwhile), then buildIndex() once', async () => {
  const c = await PgvectorCollection.create(server.collectionUrl('defer'), { encoder: { modelId: 'm', dims: 8 }, deferIndex: true });
  await c.upsertVectors(Array.from({ length: 200 }, (_, i) => ({ id: `d${i}`, vector: unitVector(8, 31, i) })));
  assert.equal((await c.info()).indexBuilt, false);
  const q = unitVector(8, 32, 0);
  const before = await c.search(q, { k: 5 });
  assert.equal(await c.buildIndex(), true);
  assert.equal(await c.buildIndex(), false, 'a second build is a no-op');
  assert.equal((await c.info()).indexBuilt, true);
  assert.deepEqual((await c.search(q, { k: 5, ef: 100 })).map((h) => h.id), before.map((h) => h.id));
  await rejectsWith(c.buildIndex({ maintenanceWorkMem: "1GB'; DROP TABLE x; --" }), 'INVALID_ARGUMENT');
  await c.close();
});
