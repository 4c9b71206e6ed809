/**
 * Reading a collection database without write access to its directory.
 *
 * SQLite reads a WAL-mode database through its -shm file. When no -wal file exists (no connection
 * has the database open, or the last one closed cleanly) and this process may not create the -shm
 * file (another user's directory, a read-only mount), SQLite refuses to read at all
 * (SQLITE_READONLY_DIRECTORY; https://www.sqlite.org/wal.html#readonly). SQLite's answer for that
 * case, the `immutable=1` URI parameter, is out of reach: better-sqlite3 opens no URIs (it is built
 * with SQLITE_USE_URI=0 and does not pass SQLITE_OPEN_URI).
 *
 * Without a -wal file the database file holds every committed transaction, so its bytes, read while
 * the file does not change, are a consistent snapshot: they are read into memory, the header is
 * switched to rollback mode (sqlite3_deserialize cannot open a WAL-mode image) and opened
 * read-only. Cost: the file's size in memory and one read of the file per open. A snapshot does not
 * follow later writes: snapshotChanged() tells its holder when the file changed or a writer
 * appeared, so that it reopens.
 *
 * A writer may open the database and checkpoint into the file while it is read. The file's
 * timestamps tick coarsely (a few ms), so an unchanged stamp does not prove an untorn copy: a copy is
 * accepted only if no -wal file exists after the read either and SQLite's quick_check finds every
 * page sound; one that fails quick_check is read again (a checkpoint ends within milliseconds) before
 * the file is taken for damaged.
 */
import { closeSync, constants as fsConstants, existsSync, fstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import Database from 'better-sqlite3';
import { BiencoderError } from '../errors.ts';
import { isPermissionDenied } from './permissions.ts';

type Db = Database.Database;

/** What identifies one version of a file: a checkpoint rewrites pages, so it changes mtime/ctime (and maybe the size). */
interface FileStamp {
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/** Reads of a file that keeps changing (or keeps failing quick_check) before giving up. */
const ATTEMPTS = 5;
/** The pause before reading again a copy that failed quick_check: a checkpoint in progress finishes meanwhile. */
const RETRY_PAUSE_MS = 20;

/** Every snapshot: the stamp of the file it was read from, and whether it passed quick_check. */
const snapshots = new WeakMap<Db, { readonly stamp: FileStamp; readonly verified: boolean }>();

function stampOf(s: BigIntStats): FileStamp {
  return { ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** True when a -wal file sits beside the database: a writer has it open (or did not close), and the file alone may be behind. */
export function hasWal(path: string): boolean {
  return existsSync(`${path}-wal`);
}

function readWhole(path: string): { bytes: Buffer; stamp: FileStamp } {
  const fd = openSync(path, fsConstants.O_RDONLY);
  try {
    const stamp = stampOf(fstatSync(fd, { bigint: true }));
    const size = Number(stamp.size);
    if (size > bufferConstants.MAX_LENGTH) {
      throw new BiencoderError('PERMISSION', `${path} (${size} bytes) is too large to read as a snapshot; reading it needs write access to its directory (for SQLite's -shm file)`, { details: { path } });
    }
    const bytes = Buffer.allocUnsafe(size);
    for (let off = 0; off < size;) {
      const n = readSync(fd, bytes, off, Math.min(size - off, 1 << 30), off);
      if (n === 0) break; // truncated meanwhile: the stamp comparison below rejects this copy
      off += n;
    }
    return { bytes, stamp };
  } finally {
    closeSync(fd);
  }
}

function passesQuickCheck(db: Db): boolean {
  try {
    const result = db.pragma('quick_check') as { quick_check: string }[];
    return result.length === 1 && result[0].quick_check === 'ok';
  } catch {
    return false; // SQLITE_CORRUPT and kin
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Opens a read-only in-memory snapshot of the WAL-mode database at `path`, which must have no -wal
 * file. Undefined when a -wal file appeared while the file was read: a writer opened it, so the
 * file alone may be behind; read it through the writer's -shm file instead. When every copy fails
 * quick_check the file is damaged: the last copy is returned for the caller's checks to report
 * (verifyDatabase: COLLECTION_CORRUPT; `biencoder check`: what integrity_check finds). Throws
 * PERMISSION when the file cannot be read, or keeps changing while it is read.
 */
export function openSnapshot(path: string): Db | undefined {
  let damaged: Db | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    let copy: { bytes: Buffer; stamp: FileStamp };
    try {
      copy = readWhole(path);
    } catch (error) {
      damaged?.close();
      if (isPermissionDenied(error)) throw new BiencoderError('PERMISSION', `${path} is not readable by this process`, { details: { path }, cause: error });
      throw error;
    }
    if (hasWal(path)) {
      damaged?.close();
      return undefined;
    }
    // Changed while it was read (a checkpoint wrote into it): read it again.
    if (!sameStamp(copy.stamp, stampOf(statSync(path, { bigint: true })))) continue;
    if (copy.bytes.length >= 20 && copy.bytes[18] === 2 && copy.bytes[19] === 2) {
      copy.bytes[18] = 1; // file format write/read versions: 2 = WAL, 1 = rollback journal
      copy.bytes[19] = 1;
    }
    const db = new Database(copy.bytes, { readonly: true });
    const verified = passesQuickCheck(db);
    snapshots.set(db, { stamp: copy.stamp, verified });
    damaged?.close();
    if (verified) return db;
    damaged = db; // torn within one timestamp tick, or damaged: read it again after a pause
    if (attempt + 1 < ATTEMPTS) pause(RETRY_PAUSE_MS);
  }
  if (damaged !== undefined) return damaged;
  throw new BiencoderError('PERMISSION', `${path} kept changing while it was read; without write access to its directory it can only be read while no writer checkpoints it`, { details: { path } });
}

/** True for a snapshot that passed quick_check when it was read (its verification need not be repeated). */
export function isVerifiedSnapshot(db: Db): boolean {
  return snapshots.get(db)?.verified === true;
}

/** For a snapshot: true once the file changed or a writer opened it (the snapshot no longer shows the latest commits). */
export function snapshotChanged(db: Db, path: string): boolean {
  const snapshot = snapshots.get(db);
  if (snapshot === undefined) return false;
  if (hasWal(path)) return true;
  try {
    return !sameStamp(snapshot.stamp, stampOf(statSync(path, { bigint: true })));
  } catch {
    return true;
  }
}
