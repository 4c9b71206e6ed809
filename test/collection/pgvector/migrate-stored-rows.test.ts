/**
 * migrate copies the rows a collection stored as they are, including rows written before today's
 * input rules (document ids of 1001-1024 characters, ids ending in `#<n>` that are not chunks, a
 * `_chunk` or `__proto__` metadata key): they were accepted when written, and a copy is not new
 * input. Only their shape is checked (and what PostgreSQL cannot store, as before), so such a
 * collection migrates completely instead of failing halfway with a partial target.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Collection, type Metadata } from '../../../src/collection/collection.ts';
import { migrateCollection } from '../../../src/collection/pgvector/migrate.ts';
import { PgvectorCollection } from '../../../src/collection/pgvector/pgvector-collection.ts';
import { pgServerForFile } from '../../helpers/pglite-server.ts';
import { tempDir } from '../../helpers/synthetic.ts';
import { unitVector } from '../helpers.ts';

const tmp = tempDir('migrate-stored');
const server = pgServerForFile();
after(() => tmp.cleanup());

const DIMS = 8;
const LONG_ID = `z-${'x'.repeat(1018)}`; // 1020 characters: a document id before the 1000-character limit
/** Rows of an older biencoder: id -> metadata JSON as stored. */
const OLD_ROWS: Record<string, string> = {
  'z#1': '{"n":1}', // a document id ending in #<n>, not a chunk
  [LONG_ID]: '{"n":2}',
  'zz-chunk-key': '{"_chunk":"mine","n":3}', // a user's own _chunk key
  'zz-proto': '{"__proto__":{"polluted":true},"n":4}',
};

test('rows stored before the reserved-name rules are copied as they are, and verify', async () => {
  const dir = join(tmp.dir, 'old');
  const c = await Collection.create(dir, { encoder: { modelId: 'test/model', dims: DIMS, normalized: true }, index: { kind: 'flat' } });
  const olds = Object.keys(OLD_ROWS);
  await c.upsertVectors([
    ...Array.from({ length: 30 }, (_, i) => ({ id: `a-${String(i).padStart(2, '0')}`, text: `text ${i}`, vector: unitVector(DIMS, 5, i) })),
    ...olds.map((_, i) => ({ id: `old-${i}`, text: `old ${i}`, vector: unitVector(DIMS, 6, i) })),
  ]);
  await c.close();
  // What an older biencoder wrote (today's upsert refuses these ids and keys): edited in place.
  const raw = new Database(join(dir, 'collection.db'));
  const rename = raw.prepare('UPDATE docs SET id = ?, metadata = ? WHERE id = ?');
  olds.forEach((id, i) => rename.run(id, OLD_ROWS[id], `old-${i}`));
  raw.close();

  const url = server.collectionUrl('old');
  const report = await migrateCollection(dir, url, { batchSize: 10 }); // the old rows sort after three batches of a-*
  assert.deepEqual([report.inserted, report.updated, report.unchanged], [34, 0, 0]);
  assert.equal(report.verification.ok, true, JSON.stringify(report.verification));
  const dst = await PgvectorCollection.open(url);
  try {
    assert.equal(await dst.count(), 34);
    const got = await dst.get(olds);
    olds.forEach((id, i) => {
      assert.equal(got[i]?.id, id);
      assert.deepEqual(got[i]?.metadata, JSON.parse(OLD_ROWS[id]), id); // (jsonb orders keys its own way)
    });
    assert.ok(Object.hasOwn(got[3]!.metadata, '__proto__'), 'an own key, as stored; no prototype was set');
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  } finally {
    await dst.close();
  }
  const again = await migrateCollection(dir, url, { batchSize: 10 });
  assert.deepEqual([again.inserted, again.updated, again.unchanged], [0, 0, 34], 'a rerun finds every row in place');
});

test('the embedded store copies such rows too with storedRows, and refuses them without it', async () => {
  const dir = join(tmp.dir, 'copy');
  const c = await Collection.create(dir, { encoder: { modelId: 'test/model', dims: DIMS, normalized: true }, index: { kind: 'flat' } });
  try {
    const rows = Object.entries(OLD_ROWS).map(([id, metadata], i) => ({ id, text: `old ${i}`, metadata: JSON.parse(metadata) as Metadata, vector: unitVector(DIMS, 6, i) }));
    await assert.rejects(c.upsertVectors(rows), /reserved for the ids of chunks/);
    await assert.rejects(c.upsertVectors(rows, { chunkRows: true }), /reserved for the ids of chunks/);
    assert.deepEqual(await c.upsertVectors(rows, { storedRows: true }), { inserted: 4, updated: 0, unchanged: 0, embedded: 0 });
    const got = await c.get(Object.keys(OLD_ROWS));
    assert.deepEqual(got.map((d) => JSON.stringify(d?.metadata)), Object.values(OLD_ROWS));
  } finally {
    await c.close();
  }
});
