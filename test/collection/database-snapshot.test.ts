/**
 * The in-memory snapshot of collection.db that a reader without write access reads
 * (database-snapshot.ts), against copies torn by a writer: the file's timestamps have a coarse tick,
 * so a checkpoint writing into the file while it is read can leave them unchanged. A copy is accepted
 * only if no -wal file appeared meanwhile and SQLite's quick_check passes; a copy that fails it is
 * read again (bounded) before the file is called damaged.
 *
 * The reads are intercepted through node:fs (mock + syncBuiltinESMExports), so root can run this.
 */
import { afterEach, after, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Collection } from '../../src/collection/collection.ts';
import { openSnapshot } from '../../src/collection/database-snapshot.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { unitVector } from './helpers.ts';

const tmp = tempDir('db-snapshot');
after(() => tmp.cleanup());
const DIMS = 16;
const DOCS = 600;
let n = 0;

async function build(): Promise<string> {
  const dir = join(tmp.dir, `c${n++}`);
  const c = await Collection.create(dir, { encoder: { modelId: 'test/random', dims: DIMS, normalized: true }, index: { kind: 'flat' } });
  await c.upsertVectors(Array.from({ length: DOCS }, (_, i) => ({ id: `doc-${i}`, text: `document ${i} `.repeat(20), vector: unitVector(DIMS, 3, i) })));
  await c.close();
  return join(dir, 'collection.db');
}

/** Calls `during(buffer)` after the first readSync of `path`'s file descriptor fills the buffer (what a torn read returns). */
function interceptFirstRead(path: string, during: (buffer: Buffer) => void): { reads: () => number } {
  let fd = -1;
  let reads = 0;
  const realOpen = fs.openSync;
  const realRead = fs.readSync;
  mock.method(fs, 'openSync', (...args: Parameters<typeof fs.openSync>) => {
    const result = realOpen(...args);
    if (args[0] === path) fd = result;
    return result;
  });
  mock.method(fs, 'readSync', (...args: Parameters<typeof fs.readSync>) => {
    const result = (realRead as (...a: unknown[]) => number)(...args);
    if (args[0] === fd && reads++ === 0) during(args[1] as Buffer);
    return result;
  });
  syncBuiltinESMExports();
  return { reads: () => reads };
}

afterEach(() => {
  mock.restoreAll();
  syncBuiltinESMExports();
});

/** SQLite's quick_check verdict ('ok'), or what it found (it throws for some damage). */
function quickCheck(db: Database.Database): string {
  try {
    return (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).join('; ');
  } catch (error) {
    return (error as Error).message;
  }
}

describe('a snapshot of collection.db', () => {
  test('a copy torn by a checkpoint (timestamps unchanged) is read again, not taken for damage', async () => {
    const path = await build();
    const size = statSync(path).size;
    // The first read sees half-written pages in the middle of the file; the file itself is sound.
    const read = interceptFirstRead(path, (buffer) => buffer.fill(0xa5, Math.floor(size / 2), Math.floor(size / 2) + 8192));
    const db = openSnapshot(path);
    assert.ok(db, 'a snapshot');
    try {
      assert.equal(quickCheck(db), 'ok');
      assert.equal((db.prepare('SELECT count(*) AS n FROM docs').get() as { n: number }).n, DOCS);
      assert.ok(read.reads() >= 2, 'the file was read again');
    } finally {
      db.close();
    }
  });

  test('a writer that opens the database while it is read: no snapshot (its log would be missing from the copy)', async () => {
    const path = await build();
    let writer: Database.Database | undefined;
    interceptFirstRead(path, () => {
      writer = new Database(path);
      writer.prepare("INSERT INTO meta (name, value) VALUES ('probe', 1)").run(); // committed to the -wal only
    });
    try {
      const db = openSnapshot(path);
      db?.close();
      assert.ok(existsSync(`${path}-wal`));
      assert.equal(db, undefined, 'a reader reads through the writer\'s -shm file instead');
    } finally {
      writer?.close();
    }
  });

  test('a file that fails quick_check in every copy is returned for the caller to report (it is damaged)', async () => {
    const path = await build();
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, Math.floor(size / 2 / 8192) * 8192);
    closeSync(fd);
    const db = openSnapshot(path);
    assert.ok(db);
    try {
      assert.notEqual(quickCheck(db), 'ok');
    } finally {
      db.close();
    }
  });
});
