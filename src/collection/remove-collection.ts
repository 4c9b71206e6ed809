/**
 * Removing a whole collection directory. Refused for a directory that is not a collection (no valid
 * manifest: NOT_FOUND or COLLECTION_CORRUPT) and for one a live writer holds (COLLECTION_LOCKED);
 * PERMISSION when it or its parent directory is not writable. The directory is renamed aside
 * (atomic) under the writer lock before it is removed, so a crash never leaves half a collection.
 *
 * A collection created in an empty directory replaced that directory (Collection.create renames its
 * files into place); taking such a collection back puts an empty directory with the same permission
 * bits and owner there again (EmptyDirectory).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BiencoderError } from '../errors.ts';
import { acquireWriterLock } from './lock.ts';
import { DATABASE_FILE, readManifest, type Manifest } from './manifest.ts';
import { assertWritable, isPermissionDenied, permissionError } from './permissions.ts';
import { openDatabase, readMetaState } from './store.ts';

/** An empty directory as it was found: what is put back when a collection created in it is taken back. */
export interface EmptyDirectory {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** The empty directory at `path`, or undefined when there is none (nothing there, a file, or a non-empty directory). */
export function emptyDirectoryAt(path: string): EmptyDirectory | undefined {
  try {
    const s = statSync(path);
    if (!s.isDirectory() || readdirSync(path).length > 0) return undefined;
    return { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
  } catch {
    return undefined;
  }
}

export interface RemoveCollectionOptions {
  /**
   * Remove it only if nothing was ever written into it (write sequence 0): how a run that created a
   * collection and then failed takes it back without touching one another process wrote to meanwhile.
   * Default false.
   */
  readonly onlyIfUnwritten?: boolean;
  /** The collection was created in this empty directory: put it back, empty, once the collection is gone. */
  readonly restore?: EmptyDirectory;
}

function unwritten(target: string, manifest: Manifest): boolean {
  const db = openDatabase(join(target, DATABASE_FILE), { readOnly: true, dims: manifest.dims });
  try {
    return readMetaState(db).seq === 0;
  } finally {
    db.close();
  }
}

function putBack(target: string, dir: EmptyDirectory): void {
  mkdirSync(target);
  chmodSync(target, dir.mode); // mkdir's mode is masked by the umask
  const s = statSync(target);
  if (s.uid !== dir.uid || s.gid !== dir.gid) {
    try {
      chownSync(target, dir.uid, dir.gid);
    } catch {
      // only root may give a directory away: it stays this process's
    }
  }
}

/** Removes the collection at `dir`; false when `onlyIfUnwritten` kept it. */
export function removeCollectionDirectory(dir: string, options: RemoveCollectionOptions = {}): boolean {
  const target = resolve(dir);
  if (!existsSync(target) || !statSync(target).isDirectory()) throw new BiencoderError('NOT_FOUND', `no collection at ${target}`, { details: { dir: target } });
  const manifest = readManifest(target);
  const action = `remove the collection ${target}`;
  assertWritable([dirname(target), target], action);
  const lock = acquireWriterLock(target);
  const aside = join(dirname(target), `.${basename(target)}.deleting-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    if (options.onlyIfUnwritten && !unwritten(target, manifest)) {
      lock.release();
      return false;
    }
    renameSync(target, aside); // the lock file goes with it
  } catch (error) {
    lock.release();
    if (isPermissionDenied(error)) throw permissionError(dirname(target), action, error);
    throw error;
  }
  try {
    if (options.restore !== undefined) putBack(target, options.restore);
  } finally {
    rmSync(aside, { recursive: true, force: true });
  }
  return true;
}
