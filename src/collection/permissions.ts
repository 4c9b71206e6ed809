/**
 * File-system permissions of a collection: writes need write access to the directory (lock file,
 * index files, manifest, SQLite's -wal and -shm) and to collection.db; reads need only read access
 * (see database-snapshot.ts for how a reader that cannot create the -shm file reads). A write that
 * the file system refuses is a PERMISSION error naming the path, before anything is changed.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { BiencoderError } from '../errors.ts';
import { DATABASE_FILE } from './manifest.ts';

/** The errno codes of a refusal by the file system (as opposed to a missing file or an I/O error). */
const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);

/** True for a Node.js file-system error that means "not allowed" (EACCES, EPERM, EROFS). */
export function isPermissionDenied(error: unknown): boolean {
  return DENIED.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

function who(): string {
  try {
    return `user ${userInfo().username} (uid ${process.getuid?.() ?? '?'})`;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** PERMISSION: `path` may not be written, so `action` cannot be done. */
export function permissionError(path: string, action: string, cause?: unknown): BiencoderError {
  const why = (cause as NodeJS.ErrnoException | undefined)?.code === 'EROFS' ? 'is on a read-only file system' : `is not writable by ${who()}`;
  return new BiencoderError('PERMISSION', `${path} ${why}: cannot ${action}`, { details: { path }, ...(cause === undefined ? {} : { cause }) });
}

/**
 * The refusal (EACCES, EPERM, EROFS) of access to `path` in `mode` (fs.constants R_OK, W_OK...), or
 * undefined when access is allowed or fails for another reason (a missing file is no permission problem).
 */
export function accessDenied(path: string, mode: number): NodeJS.ErrnoException | undefined {
  try {
    accessSync(path, mode);
    return undefined;
  } catch (error) {
    return isPermissionDenied(error) ? (error as NodeJS.ErrnoException) : undefined;
  }
}

/** Throws PERMISSION naming the first of `paths` (those that exist) this process may not write. */
export function assertWritable(paths: readonly string[], action: string): void {
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const denied = accessDenied(path, constants.W_OK);
    if (denied !== undefined) throw permissionError(path, action, denied);
  }
}

/**
 * Checks that a writer can work on the collection at `dir`: the directory, collection.db and the
 * -wal/-shm files that exist. Read-only access still searches, shows info and checks.
 */
export function assertCollectionWritable(dir: string): void {
  const db = join(dir, DATABASE_FILE);
  assertWritable(
    [dir, db, `${db}-wal`, `${db}-shm`],
    `write to the collection at ${dir} (index, upsert and delete need write access to the directory and its files; search, info and check work without it)`,
  );
}
