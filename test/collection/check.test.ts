import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Collection, DEFAULT_COLLECTION_INDEX } from '../../src/collection/collection.ts';
import { checkCollection, type CheckProblemCode } from '../../src/collection/check.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { unitVector } from './helpers.ts';

const tmp = tempDir('check');
after(() => tmp.cleanup());
let n = 0;
const DIMS = 8;

async function healthy(): Promise<string> {
  const dir = join(tmp.dir, `c${n++}`);
  const c = await Collection.create(dir, { encoder: { modelId: 'test/random', dims: DIMS, normalized: true }, index: DEFAULT_COLLECTION_INDEX });
  await c.upsertVectors(Array.from({ length: 40 }, (_, i) => ({ id: `d${i}`, text: `text ${i}`, vector: unitVector(DIMS, 1, i), metadata: { i } })));
  await c.delete(['d39']);
  await c.close();
  return dir;
}

function tamper(dir: string, sql: string, ...params: unknown[]): void {
  const db = new Database(join(dir, 'collection.db'));
  db.prepare(sql).run(...params);
  db.close();
}

async function expectProblem(dir: string, code: CheckProblemCode, message?: RegExp): Promise<void> {
  const report = await checkCollection(dir);
  assert.equal(report.ok, false);
  const p = report.problems.find((x) => x.code === code);
  assert.ok(p, `expected a ${code} problem, got ${JSON.stringify(report.problems)}`);
  if (message) assert.match(p.message, message);
}

describe('checkCollection', () => {
  test('a healthy collection is ok, with its statistics', async () => {
    const dir = await healthy();
    const r = await checkCollection(dir);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.stats.documents, 39);
    assert.equal(r.stats.vectors, 39);
    assert.equal(r.stats.indexSize, 39);
    assert.equal(r.stats.indexLag, 0);
    assert.deepEqual(r.warnings, []);
  });

  test('invalid manifest', async () => {
    const dir = await healthy();
    writeFileSync(join(dir, 'manifest.json'), '{"format": "biencoder-collection"');
    await expectProblem(dir, 'MANIFEST', /not valid JSON/);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'biencoder-collection', formatVersion: 1 }));
    await expectProblem(dir, 'MANIFEST', /encoder is missing/);
    await assert.rejects(Collection.open(dir), (e: unknown) => isBiencoderError(e, 'COLLECTION_CORRUPT'));
  });

  test('a document without a vector; open refuses to index it', async () => {
    const dir = await healthy();
    tamper(dir, 'DELETE FROM vectors WHERE key = (SELECT key FROM docs WHERE id = ?)', 'd3');
    await expectProblem(dir, 'MISSING_VECTOR', /1 documents have no vector: "d3"/);
    // The index file still holds d3; remove it so open must rebuild from the stored vectors.
    for (const f of readdirSync(dir)) if (f.startsWith('index-')) rmSync(join(dir, f));
    await assert.rejects(Collection.open(dir), (e: unknown) => isBiencoderError(e, 'COLLECTION_CORRUPT') && /no stored vector/.test((e as Error).message));
  });

  test('an orphan vector', async () => {
    const dir = await healthy();
    tamper(dir, 'INSERT INTO vectors (key, vector) VALUES (9999, ?)', Buffer.alloc(DIMS * 4, 1));
    await expectProblem(dir, 'ORPHAN_VECTOR', /keys 9999/);
  });

  test('a vector of the wrong size, and one with NaN', async () => {
    const dir = await healthy();
    tamper(dir, "UPDATE vectors SET vector = ? WHERE key = (SELECT key FROM docs WHERE id = 'd1')", Buffer.alloc(12));
    const nan = new Float32Array(DIMS).fill(Number.NaN);
    tamper(dir, "UPDATE vectors SET vector = ? WHERE key = (SELECT key FROM docs WHERE id = 'd2')", Buffer.from(nan.buffer));
    await expectProblem(dir, 'VECTOR_DIMS', /not 8-d f32/);
    await expectProblem(dir, 'VECTOR_VALUES', /NaN/);
  });

  test('a text that does not match its content hash; invalid metadata', async () => {
    const dir = await healthy();
    tamper(dir, "UPDATE docs SET text = 'edited behind our back' WHERE id = 'd4'");
    tamper(dir, "UPDATE docs SET metadata = '[1,2]' WHERE id = 'd5'");
    await expectProblem(dir, 'CONTENT_HASH', /"d4"/);
    await expectProblem(dir, 'METADATA', /"d5"/);
  });

  test('the index does not hold exactly the document keys', async () => {
    const dir = await healthy();
    // A document slipped in with an old sequence: no replay would ever add it to the index.
    tamper(dir, "INSERT INTO docs (key, id, text, hash, metadata, seq) VALUES (5000, 'ghost', '', x'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', '{}', 0)");
    tamper(dir, 'INSERT INTO vectors (key, vector) VALUES (5000, ?)', Buffer.from(unitVector(DIMS, 9, 9).buffer));
    await expectProblem(dir, 'INDEX_SIZE', /40 documents/);
    await expectProblem(dir, 'INDEX_MEMBERSHIP', /5000/);
  });

  test('a deleted key that still holds a document; sequences out of order', async () => {
    const dir = await healthy();
    tamper(dir, "INSERT INTO tombstones (key, seq) SELECT key, 0 FROM docs WHERE id = 'd6'");
    tamper(dir, "UPDATE meta SET value = 999 WHERE name = 'index_seq'");
    await expectProblem(dir, 'TOMBSTONE');
    await expectProblem(dir, 'SEQUENCE', /ahead of the last write/);
  });

  test('a damaged database file is reported, not thrown', async () => {
    const dir = await healthy();
    const path = join(dir, 'collection.db');
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    for (let off = 8192; off < size; off += 8192) writeSync(fd, Buffer.alloc(16, 0xa5), 0, 16, off);
    closeSync(fd);
    const r = await checkCollection(dir);
    assert.equal(r.ok, false);
    assert.ok(r.problems.some((p) => p.code === 'INTEGRITY' || p.code === 'SCHEMA' || p.code === 'DATABASE'), JSON.stringify(r.problems));
  });

  test('a missing directory or manifest is a MANIFEST problem', async () => {
    const r = await checkCollection(join(tmp.dir, 'does-not-exist'));
    assert.equal(r.ok, false);
    assert.match(r.problems[0].message, /no collection/);
  });
});
