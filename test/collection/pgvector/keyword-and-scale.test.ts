/**
 * pgvector: keyword postings of collections made before keyword search (built on a writable open),
 * statements per search (one round trip), concurrent index builds (plain and partitioned tables, an
 * invalid index left by a failed build), and selective filters read through the GIN index.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { citusDistributionStatements, distributeWithCitus } from '../../../src/collection/pgvector/citus.ts';
import { PgvectorCollection } from '../../../src/collection/pgvector/pgvector-collection.ts';
import { pgServerForFile } from '../../helpers/pglite-server.ts';
import { scifactDocs } from '../../helpers/synthetic.ts';
import { rejectsWith, unitVector } from '../helpers.ts';

const server = pgServerForFile();
const nameOf = (url: string): string => new URL(url).searchParams.get('collection')!;
const TEXTS = scifactDocs(60);
const textDocs = (dims: number) => TEXTS.map((text, i) => ({ id: `t${i}`, text, vector: unitVector(dims, 5, i), metadata: { i } }));

/** The SQL statements the pg client sends while fn runs (each is one round trip). */
async function statementsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0];
    sent.push(typeof first === 'string' ? first : String((first as { text?: string }).text));
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    await fn();
  } finally {
    pg.Client.prototype.query = original;
  }
  return sent;
}

test('a collection made before keyword search: dense only when opened read-only; a writable open builds its postings once, with the same results as a new collection', async () => {
  const dims = 8;
  const oldUrl = server.collectionUrl('old');
  const freshUrl = server.collectionUrl('fresh');
  for (const url of [oldUrl, freshUrl]) {
    const c = await PgvectorCollection.create(url, { encoder: { modelId: 'm', dims } });
    await c.upsertVectors(textDocs(dims));
    await c.close();
  }
  // What a collection of the version before keyword search holds: no postings, no metadata index, no statistics, no analyzer.
  const name = nameOf(oldUrl);
  await server.query(`DROP TABLE "biencoder_${name}$t"`);
  await server.query(`DROP INDEX "biencoder_${name}$m"`);
  await server.query(`UPDATE biencoder_collections SET doc_count = NULL, term_count = NULL, manifest = manifest - 'keyword' WHERE name = $1`, [name]);

  const reader = await PgvectorCollection.open(oldUrl, { readOnly: true });
  assert.deepEqual([...reader.searchModes], ['dense']);
  assert.equal(await reader.count(), TEXTS.length, 'counted with count(*) until the statistics exist');
  assert.equal((await reader.info()).keyword, false);
  await rejectsWith(reader.search('protein', { mode: 'keyword' }), 'UNSUPPORTED', /open it once for writing/);
  await reader.close();

  const writer = await PgvectorCollection.open(oldUrl);
  assert.deepEqual([...writer.searchModes], ['dense', 'keyword', 'hybrid']);
  assert.equal(writer.manifest.keyword?.analyzer.language, 'en');
  const fresh = await PgvectorCollection.open(freshUrl);
  for (const q of ['protein structure', 'cancer risk in women', 'vitamin D']) {
    assert.deepEqual(await writer.search(q, { mode: 'keyword' }), await fresh.search(q, { mode: 'keyword' }), q);
  }
  const reg = await server.query<{ doc_count: string; manifest: { keyword?: unknown } }>('SELECT doc_count::text, manifest FROM biencoder_collections WHERE name = $1', [name]);
  assert.equal(Number(reg.rows[0].doc_count), TEXTS.length);
  assert.ok(reg.rows[0].manifest.keyword !== undefined, 'the analyzer is recorded');
  await writer.close();
  await fresh.close();
  // A second writable open finds them built: nothing rebuilt (the sequence does not move).
  const seq = async (): Promise<string> => (await server.query<{ seq: string }>('SELECT seq::text FROM biencoder_collections WHERE name = $1', [name])).rows[0].seq;
  const before = await seq();
  await (await PgvectorCollection.open(oldUrl)).close();
  assert.equal(await seq(), before);
});

test('a registry made before the statistics\' columns gains them when a collection is created (PGlite: the registry is this file\'s own)', { skip: process.env.BIENCODER_PG_URL !== undefined && 'alters the shared registry table' }, async () => {
  const dims = 4;
  const url = server.collectionUrl('reg');
  const c = await PgvectorCollection.create(url, { encoder: { modelId: 'm', dims } });
  await c.close();
  await server.query('ALTER TABLE biencoder_collections DROP COLUMN doc_count, DROP COLUMN term_count');
  const reader = await PgvectorCollection.open(url, { readOnly: true });
  assert.deepEqual([...reader.searchModes], ['dense'], 'no statistics: dense only when read-only');
  await reader.close();
  const other = await PgvectorCollection.create(server.collectionUrl('reg2'), { encoder: { modelId: 'm', dims } });
  assert.deepEqual([...other.searchModes], ['dense', 'keyword', 'hybrid']);
  await other.upsertVectors([{ id: 'a', text: 'alpha beta', vector: unitVector(dims, 1, 1) }]);
  assert.equal(await other.count(), 1);
  await other.close();
  const writer = await PgvectorCollection.open(url);
  assert.deepEqual([...writer.searchModes], ['dense', 'keyword', 'hybrid']);
  await writer.close();
});

test('one statement per search: dense (filtered too, once its selectivity is known), keyword; hybrid two (candidates, then the winners\' rows)', async () => {
  const dims = 8;
  const c = await PgvectorCollection.create(server.collectionUrl('trips'), { encoder: { modelId: 'm', dims } });
  await c.upsertVectors(textDocs(dims));
  const q = unitVector(dims, 6, 1);
  const text = { text: 'protein folding in cells', vector: q };
  const filter = { i: { $lt: 30 } };
  // warm-up: the connections' session settings, the filter's selectivity estimate
  for (let i = 0; i < 4; i++) {
    await c.search(q);
    await c.search(q, { filter });
    await c.search(text, { mode: 'hybrid' });
  }
  for (const [what, run, expected] of [
    ['dense', () => c.search(q, { k: 5 }), 1],
    ['dense, filtered', () => c.search(q, { k: 5, filter }), 1],
    ['keyword', () => c.search('protein folding', { mode: 'keyword' }), 1],
    ['keyword, filtered', () => c.search('protein folding', { mode: 'keyword', filter }), 1],
    ['hybrid', () => c.search(text, { mode: 'hybrid' }), 2],
  ] as const) {
    const sent = await statementsDuring(run);
    assert.equal(sent.length, expected, `${what}: ${sent.join(' | ')}`);
  }
  // The query vector travels in binary: no '[x,y,...]' literal among the parameters of a search.
  const sent = await statementsDuring(() => c.search(q));
  assert.doesNotMatch(sent[0], /set_config|BEGIN/);
  await c.close();
});

test('buildIndex: CONCURRENTLY on a plain table; on a partitioned one, each partition\'s index attached to the parent\'s; an invalid index is built again', async () => {
  const dims = 8;
  for (const partitions of [0, 3]) {
    const url = server.collectionUrl('build');
    const name = nameOf(url);
    const c = await PgvectorCollection.create(url, { encoder: { modelId: 'm', dims }, deferIndex: true, partitions });
    await c.upsertVectors(Array.from({ length: 300 }, (_, i) => ({ id: `v${i}`, vector: unitVector(dims, 9, i) })));
    const exactBefore = await c.search(unitVector(dims, 10, 0), { k: 10 });
    assert.equal((await c.info()).indexBuilt, false);
    const sent = await statementsDuring(() => c.buildIndex());
    assert.ok(sent.some((s) => /CREATE INDEX CONCURRENTLY/.test(s)), sent.join(' | '));
    assert.equal(sent.some((s) => /^BEGIN/.test(s)), false, 'not inside a transaction');
    const info = await c.info();
    assert.equal(info.indexBuilt, true);
    assert.equal(info.partitions, partitions);
    const valid = await server.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_am a ON a.oid = (SELECT relam FROM pg_class WHERE oid = i.indexrelid)
       WHERE a.amname = 'hnsw' AND i.indisvalid AND t.relname LIKE $1`, [`biencoder_${name}%`],
    );
    assert.equal(valid.rows[0].n, partitions + 1, 'the parent\'s index and one per partition, all valid');
    assert.equal(await c.buildIndex(), false, 'a second build is a no-op');
    assert.deepEqual((await c.search(unitVector(dims, 10, 0), { k: 10 })).map((h) => h.id), exactBefore.map((h) => h.id));
    if (partitions === 0) {
      // A build that failed midway leaves an invalid index: the next buildIndex() drops and builds it.
      await server.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = $1::regclass`, [`"biencoder_${name}_hnsw"`]);
      assert.equal((await c.info()).indexBuilt, false);
      assert.equal(await c.buildIndex(), true);
      assert.equal((await c.info()).indexBuilt, true);
    }
    await c.close();
  }
});

test('a selective equality filter reads its rows through the GIN index on metadata: no sequential scan of the documents', async () => {
  const dims = 4;
  const url = server.collectionUrl('gin');
  const name = nameOf(url);
  // flat: every search is an exact scan, the route a selective filter takes on an HNSW collection (no graph to maintain while loading)
  const c = await PgvectorCollection.create(url, { encoder: { modelId: 'm', dims }, index: { kind: 'flat' } });
  const n = 8000;
  for (let i = 0; i < n; i += 4000) {
    await c.upsertVectors(Array.from({ length: 4000 }, (_, j) => ({ id: `g${i + j}`, vector: unitVector(dims, 11, i + j), metadata: { bucket: (i + j) % 200, tags: [`t${(i + j) % 400}`] } })));
  }
  await server.query(`ANALYZE "biencoder_${name}"`);
  const q = unitVector(dims, 12, 0);
  for (const filter of [{ bucket: 7 }, { tags: 't9' }, { bucket: { $in: [3, 4] } }, { $or: [{ bucket: 5 }, { tags: 't11' }] }]) {
    let captured: { text: string; values: unknown[] } | undefined;
    const original = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      if (typeof args[0] === 'string' && /ORDER BY/.test(args[0])) captured = { text: args[0], values: args[1] as unknown[] };
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    let hits;
    try {
      hits = await c.search(q, { k: 10, filter });
    } finally {
      pg.Client.prototype.query = original;
    }
    assert.equal(hits.length, 10, JSON.stringify(filter));
    assert.ok(captured !== undefined);
    const plan = (await server.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${captured.text}`, captured.values)).rows.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(plan, new RegExp(`Bitmap Index Scan on "?biencoder_${name}\\$m"?`), `${JSON.stringify(filter)}:\n${plan}`);
    assert.doesNotMatch(plan, /Seq Scan/, plan);
  }
  await c.close();
});

test('Citus: the statements distribute the documents and their postings by id, colocated, the registry as a reference table; refused without the extension, nothing changed', async () => {
  assert.deepEqual(citusDistributionStatements('notes', false), [
    `SELECT create_reference_table('"biencoder_collections"')`,
    `SELECT create_distributed_table('"biencoder_notes"', 'id')`,
    `SELECT create_distributed_table('"biencoder_notes$t"', 'id', colocate_with => '"biencoder_notes"')`,
  ]);
  assert.equal(citusDistributionStatements('notes', true).length, 2, 'the registry is distributed once');
  const url = server.collectionUrl('citus');
  const c = await PgvectorCollection.create(url, { encoder: { modelId: 'm', dims: 4 } });
  await c.upsertVectors([{ id: 'a', text: 'alpha', vector: unitVector(4, 1, 1) }]);
  await rejectsWith(distributeWithCitus(url), 'UNSUPPORTED', /citus/);
  assert.deepEqual((await c.search('alpha', { mode: 'keyword' })).map((h) => h.id), ['a']);
  await c.close();
});

test('two handles build the index at once: one builds it, the other waits and finds it built (real server: sessions of their own)', { skip: process.env.BIENCODER_PG_URL === undefined && 'PGlite runs every connection in one session, where the builds cannot overlap' }, async () => {
  const dims = 16;
  const url = server.collectionUrl('build2');
  const a = await PgvectorCollection.create(url, { encoder: { modelId: 'm', dims }, deferIndex: true });
  await a.upsertVectors(Array.from({ length: 3000 }, (_, i) => ({ id: `v${i}`, vector: unitVector(dims, 13, i) })));
  const b = await PgvectorCollection.open(url);
  try {
    const built = await Promise.all([a.buildIndex(), b.buildIndex()]);
    assert.deepEqual([...built].sort(), [false, true]);
    assert.equal((await a.info()).indexBuilt, true);
  } finally {
    await b.close();
    await a.close();
  }
});
