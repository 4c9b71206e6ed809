/**
 * COLLECTION_LOCKED as writing commands report it (locked-collection.ts), for each way lock.ts
 * refuses the lock: a live holder (named by pid), an unreadable lock file, and contention (the lock
 * kept changing hands while this run tried to take it: no holder to name, and no unreadable file).
 * Contention is provoked through node:fs: every link() finds a lock that is gone when read.
 */
import { after, afterEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdirSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { acquireWriterLock } from '../../src/collection/lock.ts';
import { lockedForCommandLine } from '../../src/cli/locked-collection.ts';
import { isBiencoderError, type BiencoderError } from '../../src/errors.ts';
import { tempDir } from '../helpers/synthetic.ts';

const tmp = tempDir('locked-collection');
after(() => tmp.cleanup());
let n = 0;

/** The error acquireWriterLock(dir) throws, as a writing command reports it. */
function reported(dir: string): BiencoderError {
  let error: unknown;
  try {
    acquireWriterLock(dir).release();
  } catch (e) {
    error = e;
  }
  assert.ok(isBiencoderError(error, 'COLLECTION_LOCKED'), String(error));
  const out = lockedForCommandLine(error, dir);
  assert.ok(isBiencoderError(out, 'COLLECTION_LOCKED'));
  return out;
}

function collectionDir(): string {
  const dir = join(tmp.dir, `c${n++}`);
  mkdirSync(dir);
  return dir;
}

afterEach(() => {
  mock.restoreAll();
  syncBuiltinESMExports();
});

describe('COLLECTION_LOCKED on the command line', () => {
  test('a live holder is named by its pid', () => {
    const dir = collectionDir();
    const held = acquireWriterLock(dir);
    try {
      assert.match(reported(dir).message, new RegExp(`is being written by another process \\(pid ${process.pid}, since `));
    } finally {
      held.release();
    }
  });

  test('an unreadable lock file is named as such', () => {
    const dir = collectionDir();
    writeFileSync(join(dir, 'writer.lock'), 'not json');
    assert.match(reported(dir).message, /its lock file .*writer\.lock is unreadable; if no writer is running, remove it/);
  });

  test('contention: reported as writers starting at once, not as an unreadable lock file', () => {
    const dir = collectionDir();
    const lockFile = join(dir, 'writer.lock');
    const realRead = fs.readFileSync;
    mock.method(fs, 'linkSync', () => {
      throw Object.assign(new Error('EEXIST: file already exists (injected)'), { code: 'EEXIST' });
    });
    mock.method(fs, 'readFileSync', (...args: Parameters<typeof fs.readFileSync>) => {
      if (args[0] === lockFile) throw Object.assign(new Error('ENOENT (injected)'), { code: 'ENOENT' });
      return (realRead as (...a: unknown[]) => unknown)(...args);
    });
    syncBuiltinESMExports();
    const message = reported(dir).message;
    assert.doesNotMatch(message, /unreadable/);
    assert.match(message, /other writers were taking and releasing its lock at the same time/);
  });
});
