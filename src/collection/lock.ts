/**
 * The writer lock: one writer per collection, across processes and within one.
 *
 * The lock is a file `writer.lock` holding JSON { pid, hostname, startTime, token, createdAt }.
 * It is taken by writing the content to a private temporary file and hard-linking it to
 * `writer.lock`: link() fails with EEXIST exactly like an O_EXCL create, but the lock is never
 * visible half-written (a crash between an O_EXCL create and its write would leave an empty lock).
 *
 * A lock whose holder is on this host and is dead (no such pid, or the pid was reused by a process
 * that started later) is stale and is taken over: renamed away atomically, re-checked, removed.
 * Locks from another host cannot be checked and are respected.
 */
import { linkSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BiencoderError } from '../errors.ts';
import { fsyncDir } from './fs-util.ts';
import { LOCK_FILE } from './manifest.ts';
import { isPermissionDenied, permissionError } from './permissions.ts';

export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** The holder's start time (Linux /proc/PID/stat field 22), to tell a reused pid from the holder. */
  readonly startTime: string | null;
  readonly token: string;
  readonly createdAt: string;
}

/** How long an unreadable lock file must be left untouched before it is considered debris. */
const UNREADABLE_GRACE_MS = 10_000;

export function lockPath(dir: string): string {
  return join(dir, LOCK_FILE);
}

/** The start time of a process on Linux, or null where unknown. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 overall; fields here start at field 3 (state)
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** 'alive', 'dead', or 'unknown' (another host: cannot be checked). */
export function holderState(holder: LockHolder): 'alive' | 'dead' | 'unknown' {
  if (holder.hostname !== osHostname()) return 'unknown';
  if (!pidAlive(holder.pid)) return 'dead';
  if (holder.startTime !== null) {
    const now = processStartTime(holder.pid);
    if (now !== null && now !== holder.startTime) return 'dead'; // the pid was reused
  }
  return 'alive';
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.hostname === 'string' && typeof v.token === 'string') {
      return { pid: v.pid, hostname: v.hostname, startTime: typeof v.startTime === 'string' ? v.startTime : null, token: v.token, createdAt: String(v.createdAt ?? '') };
    }
  } catch {
    // fall through
  }
  return undefined;
}

/** The current holder of a collection's writer lock, or undefined when unlocked (or unreadable). */
export function readLockHolder(dir: string): LockHolder | undefined {
  try {
    return parseHolder(readFileSync(lockPath(dir), 'utf8'));
  } catch {
    return undefined;
  }
}

function lockedError(dir: string, holder: LockHolder, why: string): BiencoderError {
  const self = holder.pid === process.pid && holder.hostname === osHostname();
  const who = self ? `this process (pid ${holder.pid})` : `pid ${holder.pid} on ${holder.hostname}`;
  return new BiencoderError(
    'COLLECTION_LOCKED',
    `the collection at ${dir} is locked by another writer: ${who}, since ${holder.createdAt}${why}; open it with readOnly: true to read concurrently`,
    { details: { dir, pid: holder.pid, hostname: holder.hostname, createdAt: holder.createdAt, lockFile: lockPath(dir), reason: 'held' } },
  );
}

/** A held writer lock. release() removes the lock file if it is still ours. */
export class WriterLock {
  readonly dir: string;
  readonly holder: LockHolder;
  #released = false;

  constructor(dir: string, holder: LockHolder) {
    this.dir = dir;
    this.holder = holder;
  }

  /** True while the lock file on disk is still this lock. */
  stillHeld(): boolean {
    return !this.#released && readLockHolder(this.dir)?.token === this.holder.token;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (readLockHolder(this.dir)?.token === this.holder.token) {
      rmSync(lockPath(this.dir), { force: true });
    }
  }
}

/** Removes lock temporaries (writer.lock.PID.*) left by dead processes of this host. */
function removeDebris(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^writer\.lock\.(\d+)\./.exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) rmSync(join(dir, name), { force: true });
  }
}

/**
 * Takes the writer lock or throws COLLECTION_LOCKED: details.reason is 'held' (by details.pid on
 * details.hostname), 'unreadable' (a lock file not written by this code, younger than the grace
 * period) or 'contention' (it kept changing hands). Stale locks of dead processes are recovered.
 * PERMISSION when the directory is not writable (only writers need it to be).
 */
export function acquireWriterLock(dir: string): WriterLock {
  try {
    return takeLock(dir);
  } catch (error) {
    if (isPermissionDenied(error)) throw permissionError(dir, `create the writer lock ${lockPath(dir)} (writing to a collection needs write access to its directory)`, error);
    throw error;
  }
}

function takeLock(dir: string): WriterLock {
  removeDebris(dir);
  const holder: LockHolder = {
    pid: process.pid,
    hostname: osHostname(),
    startTime: processStartTime(process.pid),
    token: randomBytes(12).toString('hex'),
    createdAt: new Date().toISOString(),
  };
  const path = lockPath(dir);
  const tmp = join(dir, `${LOCK_FILE}.${process.pid}.${holder.token}`);
  writeFileSync(tmp, `${JSON.stringify(holder)}\n`, { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        linkSync(tmp, path);
        fsyncDir(dir);
        return new WriterLock(dir, holder);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: retry
        throw error;
      }
      const current = parseHolder(text);
      if (current === undefined) {
        // Not written by this code (link() never shows a partial lock): debris after a grace period.
        let age = 0;
        try {
          age = Date.now() - statSync(path).mtimeMs;
        } catch {
          continue;
        }
        if (age < UNREADABLE_GRACE_MS) {
          throw new BiencoderError('COLLECTION_LOCKED', `the collection at ${dir} has an unreadable lock file ${path}; retry later or remove it`, { details: { dir, lockFile: path, reason: 'unreadable' } });
        }
      } else {
        const state = holderState(current);
        if (state === 'alive') throw lockedError(dir, current, '');
        if (state === 'unknown') throw lockedError(dir, current, ' (on another host, so it cannot be checked; if that process is gone, delete the lock file)');
      }
      // Stale: move it aside atomically, then make sure what we moved is what we judged stale.
      const aside = join(dir, `${LOCK_FILE}.${process.pid}.stale-${randomBytes(6).toString('hex')}`);
      try {
        renameSync(path, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      let moved = '';
      try {
        moved = readFileSync(aside, 'utf8');
      } catch {
        // ignore
      }
      if (moved !== text) {
        // Another process replaced the stale lock with its live one between our read and rename: put it back.
        try {
          linkSync(aside, path);
        } catch {
          // someone holds the lock again; the next attempt reports them
        }
      }
      rmSync(aside, { force: true });
    }
    const current = readLockHolder(dir);
    if (current) throw lockedError(dir, current, '');
    throw new BiencoderError('COLLECTION_LOCKED', `could not take the writer lock of ${dir} (contention: other writers kept taking and releasing it); retry`, { details: { dir, lockFile: path, reason: 'contention' } });
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}
