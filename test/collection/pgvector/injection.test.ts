/**
 * SQL injection through filter keys and values, ids, texts, metadata and collection names: rejected
 * (with a clear error) or neutralized (stored and matched as data), and the tables survive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PgvectorCollection } from '../../../src/collection/pgvector/pgvector-collection.ts';
import { SqlParams, compileFilterToSql } from '../../../src/collection/pgvector/filter-sql.ts';
import type { VectorDocumentInput } from '../../../src/collection/collection.ts';
import { matchesFilter, parseFilter, type Metadata, type MetadataFilter } from '../../../src/collection/filter.ts';
import { isBiencoderError } from '../../../src/errors.ts';
import { pgServerForFile } from '../../helpers/pglite-server.ts';
import { unitVector } from '../helpers.ts';

const server = pgServerForFile();

const HOSTILE_STRINGS = [
  "'; DROP TABLE biencoder_collections; --",
  "' OR '1'='1",
  '"; DELETE FROM pg_class; --',
  'back\\slash\\',
  "quote''doubled",
  '$1',
  "') OR true --",
  '{"a": 1}',
  '[1, 2]',
  'null',
  '%_*',
  'ünïcödé 🚀 中文',
  '\u202Eright-to-left',
];
const HOSTILE_KEYS = ["o'neil", 'k; DROP TABLE x; --', 'a)b(c', 'sp ace', '🚀', 'x--y', "a'||'b"];

test('the compiled SQL holds placeholders only: no key or value reaches the SQL text', () => {
  for (const s of [...HOSTILE_STRINGS, ...HOSTILE_KEYS]) {
    const filters: MetadataFilter[] = [
      { field: s },
      { field: { $in: [s, 'x'] } },
      { field: { $nin: [s] } },
      { field: { $gt: s } },
      { $or: [{ field: s }, { field: { $lte: s } }] },
    ];
    if (!HOSTILE_STRINGS.includes(s) || !s.includes('"')) filters.push({ [`${s}`]: 'v' }, { [`${s}.inner`]: { $exists: true } });
    for (const f of filters) {
      let node;
      try {
        node = parseFilter(f);
      } catch (error) {
        assert.ok(isBiencoderError(error, 'INVALID_ARGUMENT'));
        continue;
      }
      const params = new SqlParams();
      const sql = compileFilterToSql(node, params);
      if (!/^\$\d+$/.test(s)) assert.ok(!sql.includes(s), `${JSON.stringify(s)} appears in ${sql}`); // ('$1' is also a placeholder)
      const flat = params.values.flatMap((v) => (Array.isArray(v) ? v : [v])).map(String);
      assert.ok(flat.some((v) => v === s || v === JSON.stringify(s) || v === s.split('.')[0]), `${JSON.stringify(s)} is not among the parameters`);
      assert.ok(params.values.length > 0);
      const literals = sql.match(/'[^']*'/g) ?? [];
      for (const l of literals) assert.ok(["'array'", "'string'", "'number'", "'{}'"].includes(l), `unexpected literal ${l} in ${sql}`);
    }
  }
});

test('hostile keys and values match exactly what matchesFilter matches; the tables survive', async () => {
  const c = await PgvectorCollection.create(server.collectionUrl('inject'), { encoder: { modelId: 'vectors', dims: 4 } });
  try {
    const metadata: Metadata[] = [];
    HOSTILE_STRINGS.forEach((s, i) => {
      metadata.push({ field: s, n: i, [HOSTILE_KEYS[i % HOSTILE_KEYS.length]]: s, list: [s, i] });
    });
    metadata.push({ field: 'plain', nested: { [HOSTILE_KEYS[0]]: HOSTILE_STRINGS[0] } });
    await c.upsertVectors(metadata.map((m, i) => ({ id: HOSTILE_STRINGS[i % HOSTILE_STRINGS.length] + i, text: HOSTILE_STRINGS[(i + 3) % HOSTILE_STRINGS.length], vector: unitVector(4, 8, i), metadata: m })));
    const all = metadata.length;
    const filters: MetadataFilter[] = [
      ...HOSTILE_STRINGS.map((s) => ({ field: s })),
      ...HOSTILE_STRINGS.map((s) => ({ list: s })),
      ...HOSTILE_STRINGS.map((s) => ({ field: { $gte: s } })),
      ...HOSTILE_STRINGS.map((s) => ({ field: { $nin: [s, 'plain'] } })),
      ...HOSTILE_KEYS.map((k) => ({ [k]: { $exists: true } })),
      ...HOSTILE_KEYS.map((k, i) => ({ [k]: HOSTILE_STRINGS[i] })),
      { [`nested.${HOSTILE_KEYS[0]}`]: HOSTILE_STRINGS[0] },
    ];
    const q = unitVector(4, 9, 0);
    for (const filter of filters) {
      const hits = await c.search(q, { k: all, filter });
      const expected = metadata.map((m, i) => (matchesFilter(m, filter) ? HOSTILE_STRINGS[i % HOSTILE_STRINGS.length] + i : undefined)).filter((x) => x !== undefined).sort();
      assert.deepEqual(hits.map((h) => h.id).sort(), expected, JSON.stringify(filter));
    }
    // Keys with quotes, backslashes or control characters, and NUL in values: rejected with a clear error.
    for (const filter of [{ 'a"b': 1 }, { 'a\\b': 1 }, { 'a\u0000b': 1 }, { field: 'x\u0000y' }, { field: { $in: ['ok', 'nul\u0000'] } }, { field: { $lt: '\u0000' } }]) {
      await assert.rejects(c.search(q, { filter }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT') && /quote|NUL/.test((e as Error).message), JSON.stringify(filter));
    }
    // NUL in ids, texts and metadata: PostgreSQL cannot store it; rejected before anything is written.
    const nulDocs: VectorDocumentInput[] = [{ id: 'a\u0000', vector: q }, { id: 'ok', text: 'a\u0000b', vector: q }, { id: 'ok', vector: q, metadata: { k: 'v\u0000' } }, { id: 'ok', vector: q, metadata: { 'k\u0000': 1 } }];
    for (const doc of nulDocs) {
      await assert.rejects(c.upsertVectors([doc]), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT') && /NUL/.test((e as Error).message));
    }
    // Hostile ids and texts round-trip verbatim.
    const stored = await c.get(HOSTILE_STRINGS.map((s, i) => s + i));
    stored.forEach((d, i) => {
      assert.equal(d?.id, HOSTILE_STRINGS[i] + i);
      assert.equal(d?.text, HOSTILE_STRINGS[(i + 3) % HOSTILE_STRINGS.length]);
      assert.deepEqual(d?.metadata, metadata[i]);
    });
    assert.equal(await c.delete(["' OR '1'='1"]), 0, 'an id that looks like SQL deletes nothing');
    assert.equal(await c.count(), all);
    const tables = await server.query<{ n: string }>(`SELECT count(*)::text AS n FROM biencoder_collections`);
    assert.ok(Number(tables.rows[0].n) >= 1);
    assert.ok((await server.query(`SELECT to_regclass('pg_class') AS t`)).rows[0].t);
  } finally {
    await c.close();
  }
});

test('collection names are identifiers from a strict alphabet: anything else is rejected before connecting', async () => {
  for (const name of ['x"; DROP TABLE biencoder_collections; --', "a'b", 'UPPER', '1abc', 'a-b', '', 'x'.repeat(49), 'a b']) {
    const url = `${server.url}?collection=${encodeURIComponent(name)}`;
    await assert.rejects(PgvectorCollection.create(url, { encoder: { modelId: 'm', dims: 4 } }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT') && /collection name/.test((e as Error).message));
    await assert.rejects(PgvectorCollection.open(server.url, { collection: name }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  }
});
