/**
 * Collection.create failing after its files were renamed into place (the directory fsync, or opening
 * the new collection): it takes the collection back (nothing is left at DIR, no writer lock of this
 * live process in particular, which would refuse every later writer) and an empty directory given as
 * DIR is put back empty, with its permissions. The failures are injected through node:fs.
 */
import { after, afterEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import { tempDir } from '../helpers/synthetic.ts';

const tmp = tempDir('create-failure');
after(() => tmp.cleanup());
const encoder = { modelId: 'test/random', dims: 8, normalized: true };
let n = 0;

const eio = (): Error => Object.assign(new Error('EIO: i/o error (injected)'), { code: 'EIO' });
const leftovers = (): string[] => readdirSync(tmp.dir).filter((f) => f.includes('.creating-') || f.includes('.deleting-'));

/** The close of the first descriptor opened on `path` fails (as fsyncDir's can, after the rename). */
function failClosingDirectory(path: string): void {
  let fd = -1;
  const realOpen = fs.openSync;
  const realClose = fs.closeSync;
  mock.method(fs, 'openSync', (...args: Parameters<typeof fs.openSync>) => {
    const result = realOpen(...args);
    if (args[0] === path && fd === -1) fd = result;
    return result;
  });
  mock.method(fs, 'closeSync', (d: number) => {
    realClose(d);
    if (d === fd) {
      fd = -2;
      throw eio();
    }
  });
  syncBuiltinESMExports();
}

/** Listing `dir` fails once it holds a collection (what opening the new collection does first). */
function failListingCollection(dir: string): void {
  const realReaddir = fs.readdirSync;
  let failed = false;
  mock.method(fs, 'readdirSync', (...args: Parameters<typeof fs.readdirSync>) => {
    if (!failed && args[0] === dir && existsSync(join(dir, 'manifest.json'))) {
      failed = true;
      throw eio();
    }
    return (realReaddir as (...a: unknown[]) => unknown)(...args);
  });
  syncBuiltinESMExports();
}

afterEach(() => {
  mock.restoreAll();
  syncBuiltinESMExports();
});

describe('Collection.create failing after the rename', () => {
  test('the fsync of the parent directory: no collection and no writer lock is left behind', async () => {
    const dir = join(tmp.dir, `c${n++}`);
    failClosingDirectory(dirname(dir));
    await assert.rejects(Collection.create(dir, { encoder }), /EIO/);
    mock.restoreAll();
    syncBuiltinESMExports();
    assert.equal(existsSync(join(dir, 'writer.lock')), false, 'the lock of this live process is not left behind');
    assert.equal(existsSync(dir), false, 'the collection was taken back');
    assert.deepEqual(leftovers(), []);
    await (await Collection.create(dir, { encoder })).close(); // and it can be created again
  });

  test('opening the new collection: nothing is left at DIR', async () => {
    const dir = join(tmp.dir, `c${n++}`);
    failListingCollection(dir);
    await assert.rejects(Collection.create(dir, { encoder }), /EIO/);
    assert.equal(existsSync(dir), false, 'the collection was taken back');
    assert.deepEqual(leftovers(), []);
  });

  test('an empty directory given as DIR is left an empty directory, with its permissions', async () => {
    const dir = join(tmp.dir, `c${n++}`);
    mkdirSync(dir, { mode: 0o750 });
    failListingCollection(dir);
    await assert.rejects(Collection.create(dir, { encoder }), /EIO/);
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(statSync(dir).mode & 0o777, 0o750);
    assert.deepEqual(leftovers(), []);
  });
});
