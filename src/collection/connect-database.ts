/**
 * Connecting to collection.db: a SQLite connection whose first read is done (SQLite opens the -wal
 * and -shm files then), so that whatever stops this process from reading is known at once:
 *
 * - a file this process may not read (or, for a writer, write) is PERMISSION naming it;
 * - a reader that may not create the -shm file (no write access to the directory) reads a snapshot
 *   (database-snapshot.ts) while no -wal file exists, and gets PERMISSION while one does (reading
 *   the writer's log needs the -shm file);
 * - a damaged file is COLLECTION_CORRUPT (sqlite-errors.ts).
 */
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BiencoderError } from '../errors.ts';
import { hasWal, openSnapshot } from './database-snapshot.ts';
import { accessDenied } from './permissions.ts';
import { databaseError, sqliteCode } from './sqlite-errors.ts';

type Db = Database.Database;

/** SQLite codes of a reader that cannot create or use the -wal/-shm files (no write access to the directory). */
const NEEDS_SHM = /^SQLITE_(CANTOPEN|READONLY_(DIRECTORY|CANTINIT|RECOVERY|CANTLOCK))/;

/** Connections tried when a writer opens the database while a snapshot of it is read. */
const ATTEMPTS = 3;

/** A connection to the database at `path`, its first read done (see above). */
export function connectDatabase(path: string, options: { readOnly: boolean }): Db {
  let writerAppeared: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const db = open(path, options.readOnly);
    try {
      db.pragma('busy_timeout = 10000');
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      return db;
    } catch (error) {
      db.close();
      if (!options.readOnly || !NEEDS_SHM.test(sqliteCode(error) ?? '')) throw databaseError(error, path);
      if (hasWal(path)) throw needsShm(path, error);
      const snapshot = openSnapshot(path);
      if (snapshot !== undefined) return snapshot;
      writerAppeared = error; // while the file was read: connect again, through the writer's -shm file if it lets us
    }
  }
  throw needsShm(path, writerAppeared);
}

function open(path: string, readOnly: boolean): Db {
  try {
    return new Database(path, { readonly: readOnly, fileMustExist: true });
  } catch (error) {
    const denied = sqliteCode(error)?.startsWith('SQLITE_CANTOPEN') ? accessDenied(path, constants.R_OK | (readOnly ? 0 : constants.W_OK)) : undefined;
    if (denied !== undefined) {
      throw new BiencoderError('PERMISSION', `${path} is not ${readOnly ? 'readable' : 'readable and writable'} by this process`, { details: { path }, cause: error });
    }
    throw new BiencoderError('COLLECTION_CORRUPT', `cannot open the collection database ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** PERMISSION: a writer's log is to be read, which takes a -shm file this process cannot create or use. */
function needsShm(path: string, cause: unknown): BiencoderError {
  return new BiencoderError(
    'PERMISSION',
    `cannot read ${path}: a writer is running or did not close (${path}-wal exists), and reading its log needs the shared-memory file ${path}-shm, which this process cannot create or use in ${dirname(path)} (${(cause as Error).message}); read it once the writer has closed, or with write access to the directory`,
    { details: { path }, cause },
  );
}
