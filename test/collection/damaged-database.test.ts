/**
 * A collection whose collection.db has a garbled 4 KB block (issue #15): check reports it, open
 * refuses it with COLLECTION_CORRUPT (reader and writer), and damage met later by a handle opened
 * before it is COLLECTION_CORRUPT too, never a raw SqliteError, and nothing more is written.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Collection } from '../../src/collection/collection.ts';
import { checkCollection } from '../../src/collection/check.ts';
import { PAGE_SIZE } from '../../src/collection/store.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { prng, rejectsWith, unitVector } from './helpers.ts';

const tmp = tempDir('damaged-db');
after(() => tmp.cleanup());
const DIMS = 32;
const DOCS = 1500;
let n = 0;

const docs = Array.from({ length: DOCS }, (_, i) => ({
  id: `doc-${i}`,
  text: `document ${i} `.repeat(25),
  metadata: { i, even: i % 2 === 0 },
  vector: unitVector(DIMS, 5, i),
}));

/** A healthy collection whose database spans a couple of hundred pages. */
async function build(): Promise<string> {
  const dir = join(tmp.dir, `c${n++}`);
  const c = await Collection.create(dir, { encoder: { modelId: 'test/random', dims: DIMS, normalized: true }, index: { kind: 'flat' } });
  await c.upsertVectors(docs);
  await c.close();
  return dir;
}

/** Overwrites the 4 KB block at `offset` of collection.db with pseudo-random bytes. */
function garble(dir: string, offset: number, seed = 7): void {
  const r = prng(seed);
  const block = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(r() * 256)));
  const fd = openSync(join(dir, 'collection.db'), 'r+');
  try {
    writeSync(fd, block, 0, block.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** The offset of the 4 KB block in the middle of the file. */
function middleBlock(dir: string): number {
  const size = statSync(join(dir, 'collection.db')).size;
  assert.ok(size / PAGE_SIZE > 100, `the database should span many pages, it has ${size / PAGE_SIZE}`);
  return Math.floor(size / 2 / 4096) * 4096;
}

/** A page of the docs table near the middle of the file (dbstat), as a byte offset. */
function docsPageOffset(dir: string): number {
  const db = new Database(join(dir, 'collection.db'), { readonly: true });
  try {
    const pages = db.prepare("SELECT pageno FROM dbstat WHERE name = 'docs' AND pagetype = 'leaf' ORDER BY pageno").pluck().all() as number[];
    return (pages[Math.floor(pages.length / 2)] - 1) * PAGE_SIZE;
  } finally {
    db.close();
  }
}

const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('a damaged collection database', () => {
  test('a 4 KB block garbled mid-file: check reports INTEGRITY; open (reader or writer) is COLLECTION_CORRUPT and writes nothing', async () => {
    const dir = await build();
    garble(dir, middleBlock(dir));
    const dbPath = join(dir, 'collection.db');
    const before = digest(dbPath);

    const report = await checkCollection(dir);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.code === 'INTEGRITY'), JSON.stringify(report.problems));

    await rejectsWith(Collection.open(dir, { readOnly: true }), 'COLLECTION_CORRUPT', /collection\.db is damaged .*biencoder check/);
    await rejectsWith(Collection.open(dir), 'COLLECTION_CORRUPT', /collection\.db is damaged/);
    assert.equal(existsSync(join(dir, 'writer.lock')), false, 'the writer lock is released');
    assert.equal(digest(dbPath), before, 'nothing was written into the damaged file');
  });

  test('a damaged database in rollback-journal mode: a writer refuses it before switching it to WAL (no byte written)', async () => {
    const dir = await build();
    const dbPath = join(dir, 'collection.db');
    const raw = new Database(dbPath);
    raw.pragma('journal_mode = DELETE'); // as a copy made with another tool may be
    raw.close();
    garble(dir, middleBlock(dir));
    const before = digest(dbPath);
    await rejectsWith(Collection.open(dir), 'COLLECTION_CORRUPT', /collection\.db is damaged/);
    assert.equal(digest(dbPath), before, 'the header still says rollback journal: nothing was written');
    assert.equal(existsSync(`${dbPath}-wal`), false);
  });

  test('damage met later by open handles: search and upsert fail with COLLECTION_CORRUPT', async () => {
    const dir = await build();
    const reader = await Collection.open(dir, { readOnly: true });
    const writer = await Collection.open(dir);
    try {
      garble(dir, docsPageOffset(dir));
      // Another connection commits, so both handles drop their page caches and read the file again.
      const raw = new Database(join(dir, 'collection.db'));
      raw.prepare("INSERT INTO meta (name, value) VALUES ('probe', 1)").run(); // (an update to the same value writes no page)
      raw.prepare("DELETE FROM meta WHERE name = 'probe'").run();
      raw.close();

      // A filter reads every row of docs; upsertVectors looks every id up.
      await rejectsWith(reader.search(unitVector(DIMS, 5, 1), { k: 5, filter: { even: true } }), 'COLLECTION_CORRUPT', /is damaged/);
      await rejectsWith(writer.upsertVectors(docs.map((d) => ({ ...d, metadata: { ...d.metadata, v: 2 } }))), 'COLLECTION_CORRUPT', /is damaged/);
    } finally {
      await reader.close();
      await writer.close().catch(() => undefined);
    }
  });
});
