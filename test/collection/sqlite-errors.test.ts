/**
 * SQLite failures of a collection database as the errors they mean (sqlite-errors.ts), from real
 * SqliteErrors: a file that is truncated under a reader (SQLITE_IOERR_SHORT_READ) is damage,
 * COLLECTION_CORRUPT like SQLITE_CORRUPT; a database file replaced under a writer
 * (SQLITE_READONLY_DBMOVED) is no permission problem; a write the file refuses is PERMISSION.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { databaseError, isCorruption } from '../../src/collection/sqlite-errors.ts';
import { BiencoderError } from '../../src/errors.ts';
import { tempDir } from '../helpers/synthetic.ts';

const tmp = tempDir('sqlite-errors');
after(() => tmp.cleanup());
let n = 0;

/** The error `fn` throws (it must throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}

function database(journal: 'WAL' | 'DELETE'): { path: string; db: Database.Database } {
  const path = join(tmp.dir, `db${n++}.db`);
  const db = new Database(path);
  db.pragma('page_size = 8192');
  db.pragma(`journal_mode = ${journal}`);
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (x TEXT)');
  const insert = db.prepare('INSERT INTO t VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < 2000; i++) insert.run(`${'x'.repeat(200)} ${i}`);
  })();
  return { path, db };
}

describe('SQLite errors of a collection database', () => {
  test('a log truncated under a reader (SQLITE_IOERR_SHORT_READ) is COLLECTION_CORRUPT', () => {
    const { path, db } = database('WAL');
    try {
      truncateSync(`${path}-wal`, Math.floor(statSync(`${path}-wal`).size / 2));
      const reader = new Database(path, { readonly: true });
      const error = thrown(() => reader.prepare('SELECT count(*) FROM t').get());
      reader.close();
      assert.equal((error as { code?: string }).code, 'SQLITE_IOERR_SHORT_READ');
      assert.equal(isCorruption(error), true);
      const mapped = databaseError(error, path);
      assert.ok(mapped instanceof BiencoderError, String(mapped));
      assert.equal(mapped.code, 'COLLECTION_CORRUPT');
      assert.match(mapped.message, /is damaged/);
    } finally {
      db.close();
    }
  });

  test('the database file replaced under a writer (SQLITE_READONLY_DBMOVED) is not PERMISSION', () => {
    const { path, db } = database('DELETE');
    try {
      copyFileSync(path, `${path}.copy`);
      renameSync(`${path}.copy`, path); // a restore from a backup, say
      const error = thrown(() => db.prepare("INSERT INTO t VALUES ('y')").run());
      assert.equal((error as { code?: string }).code, 'SQLITE_READONLY_DBMOVED');
      const mapped = databaseError(error, path);
      assert.ok(mapped instanceof BiencoderError, String(mapped));
      assert.equal(mapped.code, 'COLLECTION_CORRUPT');
      assert.match(mapped.message, /replaced or moved while this process had it open/);
      assert.doesNotMatch(mapped.message, /write access/);
    } finally {
      db.close();
    }
  });

  test('a write refused by a read-only connection (SQLITE_READONLY) is PERMISSION', () => {
    const { path, db } = database('WAL');
    db.close();
    const reader = new Database(path, { readonly: true });
    try {
      const error = thrown(() => reader.prepare("INSERT INTO t VALUES ('y')").run());
      assert.equal((error as { code?: string }).code, 'SQLITE_READONLY');
      assert.equal((databaseError(error, path) as BiencoderError).code, 'PERMISSION');
    } finally {
      reader.close();
    }
  });
});
