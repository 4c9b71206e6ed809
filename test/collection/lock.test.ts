import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection } from '../../src/collection/collection.ts';
import { acquireWriterLock, processStartTime, readLockHolder } from '../../src/collection/lock.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { unitVector } from './helpers.ts';

const tmp = tempDir('lock');
after(() => tmp.cleanup());
const FIXTURE = fileURLToPath(new URL('./fixtures/open.ts', import.meta.url));
let n = 0;

async function newCollection(): Promise<string> {
  const dir = join(tmp.dir, `c${n++}`);
  const c = await Collection.create(dir, { encoder: { modelId: 'test/random', dims: 8, normalized: true }, index: { kind: 'flat' } });
  await c.upsertVectors(Array.from({ length: 20 }, (_, i) => ({ id: `d${i}`, vector: unitVector(8, 3, i) })));
  await c.close();
  return dir;
}

function startHolder(dir: string): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, 'hold', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) resolve({ child, pid: Number(m[1]) });
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => reject(new Error(`holder exited (${code}): ${err}`)));
  });
}

function killAndWait(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

const isLocked = (pid: number) => (e: unknown): boolean => {
  assert.ok(isBiencoderError(e, 'COLLECTION_LOCKED'), String(e));
  assert.match((e as Error).message, new RegExp(`pid ${pid}\\b`));
  assert.equal(e.details?.pid, pid);
  return true;
};

describe('writer lock across processes', () => {
  test('a live writer in another process blocks writers (naming its pid) but not readers; its lock is recovered after SIGKILL', async () => {
    const dir = await newCollection();
    const { child, pid } = await startHolder(dir);
    try {
      await assert.rejects(Collection.open(dir), isLocked(pid));
      const reader = await Collection.open(dir, { readOnly: true });
      assert.equal(reader.count(), 20);
      await reader.close();
    } finally {
      await killAndWait(child);
    }
    assert.equal(readLockHolder(dir)?.pid, pid, 'the dead holder left its lock behind');
    const c = await Collection.open(dir);
    assert.equal(readLockHolder(dir)?.pid, process.pid);
    await c.close();
    assert.ok(!existsSync(join(dir, 'writer.lock')));
  });

  test('a reader in another process runs while this process writes', async () => {
    const dir = await newCollection();
    const w = await Collection.open(dir);
    await w.upsertVectors([{ id: 'near-d0', vector: unitVector(8, 3, 0).map((x, i) => x + (i === 0 ? 0.01 : 0)) }]);
    const r = spawnSync(process.execPath, ['--import', 'tsx', FIXTURE, 'read', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { count: number; ids: string[] };
    assert.equal(out.count, 21);
    assert.deepEqual(out.ids.slice(0, 2).sort(), ['d0', 'near-d0']);
    await w.close();
  });

  test('a lock of a dead pid is stale and recovered', async () => {
    const dir = await newCollection();
    const pid = deadPid();
    writeFileSync(join(dir, 'writer.lock'), JSON.stringify({ pid, hostname: hostname(), startTime: null, token: 'x', createdAt: new Date().toISOString() }));
    const c = await Collection.open(dir);
    assert.equal(readLockHolder(dir)?.pid, process.pid);
    await c.close();
  });

  test('a lock whose pid was reused by a later process is stale', async () => {
    const dir = await newCollection();
    const start = processStartTime(process.pid);
    assert.ok(start !== null, 'Linux /proc is available');
    writeFileSync(join(dir, 'writer.lock'), JSON.stringify({ pid: process.pid, hostname: hostname(), startTime: String(Number(start) - 5), token: 'x', createdAt: '' }));
    const c = await Collection.open(dir);
    await c.close();
  });

  test('a lock from another host is respected, and says so', async () => {
    const dir = await newCollection();
    writeFileSync(join(dir, 'writer.lock'), JSON.stringify({ pid: 12345, hostname: 'elsewhere.example', startTime: null, token: 'x', createdAt: '' }));
    await assert.rejects(Collection.open(dir), (e: unknown) => isLocked(12345)(e) && /elsewhere\.example.*another host/.test((e as Error).message));
    assert.equal(readLockHolder(dir)?.hostname, 'elsewhere.example', 'the foreign lock is left alone');
  });

  test('an unreadable lock file blocks for a grace period, then is treated as debris', async () => {
    const dir = await newCollection();
    const path = join(dir, 'writer.lock');
    writeFileSync(path, '');
    await assert.rejects(Collection.open(dir), (e: unknown) => isBiencoderError(e, 'COLLECTION_LOCKED') && /unreadable lock file/.test((e as Error).message));
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const c = await Collection.open(dir);
    await c.close();
  });

  test('the lock content is complete the moment it exists (written, then linked into place)', async () => {
    const dir = await newCollection();
    const lock = acquireWriterLock(dir);
    const onDisk = JSON.parse(readFileSync(join(dir, 'writer.lock'), 'utf8')) as { pid: number; hostname: string; token: string };
    assert.equal(onDisk.pid, process.pid);
    assert.equal(onDisk.hostname, hostname());
    assert.equal(onDisk.token, lock.holder.token);
    assert.throws(() => acquireWriterLock(dir), isLocked(process.pid));
    lock.release();
    assert.ok(!existsSync(join(dir, 'writer.lock')));
  });
});
