/**
 * SQLite failures of a collection database as BiencoderErrors: a damaged file (SQLITE_CORRUPT*,
 * SQLITE_NOTADB, and SQLITE_IOERR_SHORT_READ: a file or log shorter than SQLite knows it to be) is
 * COLLECTION_CORRUPT, whichever statement met the damage, so that no caller ever sees a raw
 * SqliteError for it; so is a database file replaced or moved under a writer
 * (SQLITE_READONLY_DBMOVED: no permission problem, and nothing more can be written through that
 * connection); a write the file system refuses (the other SQLITE_READONLY*) is PERMISSION. Other
 * errors are returned as they are.
 */
import { dirname } from 'node:path';
import { BiencoderError } from '../errors.ts';

/** The extended result code of a better-sqlite3 SqliteError ('SQLITE_CORRUPT_INDEX', ...), else undefined. */
export function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return error instanceof Error && error.name === 'SqliteError' && typeof code === 'string' ? code : undefined;
}

/** True when SQLite found the file damaged (or not a database at all, or shorter than it should be). */
export function isCorruption(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code === 'SQLITE_IOERR_SHORT_READ');
}

/** The SQLite error behind `error`: the cause of a BiencoderError that has one, else `error` itself. */
export function sqliteErrorOf(error: unknown): unknown {
  return error instanceof BiencoderError && error.cause !== undefined ? error.cause : error;
}

/** COLLECTION_CORRUPT for SQLite's "database disk image is malformed" and kin. */
export function corruptDatabaseError(path: string, detail: string, cause?: unknown): BiencoderError {
  return new BiencoderError(
    'COLLECTION_CORRUPT',
    `the collection database ${path} is damaged (${detail}): \`biencoder check ${dirname(path)}\` lists what SQLite finds; restore the collection from a backup or index the sources again`,
    { details: { path }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** The BiencoderError for a SqliteError raised on the collection database at `path`, or `error` itself. */
export function databaseError(error: unknown, path: string): unknown {
  if (error instanceof BiencoderError) return error;
  const code = sqliteCode(error);
  if (code === undefined) return error;
  if (isCorruption(error)) return corruptDatabaseError(path, (error as Error).message, error);
  if (code === 'SQLITE_READONLY_DBMOVED') {
    return new BiencoderError(
      'COLLECTION_CORRUPT',
      `the collection database ${path} was replaced or moved while this process had it open (restored from a backup, or copied over?), so nothing more is written through it: close the collection and open it again`,
      { details: { path }, cause: error },
    );
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new BiencoderError('PERMISSION', `SQLite cannot write ${path} (${(error as Error).message}): this process has no write access to it or to ${dirname(path)}`, { details: { path }, cause: error });
  }
  return error;
}
