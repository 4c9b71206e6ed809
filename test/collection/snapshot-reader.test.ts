/**
 * A long-lived reader without write access to the collection (it reads in-memory snapshots of
 * collection.db, see database-snapshot.ts) keeps answering concurrent calls while the owner writes:
 * concurrent searches after a write share one reload of the snapshot and the index (each reloading
 * on the same connection failed with "cannot start a transaction within a transaction"), and a
 * count() or get() that reads a newer snapshot while a search reloads the index neither closes the
 * connection under that reload nor leaves the index behind the database.
 *
 * The reader runs as uid 65534 through setpriv (root bypasses file permissions); skipped otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Collection } from '../../src/collection/collection.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { unitVector } from './helpers.ts';

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const canSwitchUser = process.getuid?.() === 0 && spawnSync('setpriv', [...NOBODY, process.execPath, '-e', 'process.exit(process.getuid() === 65534 ? 0 : 1)']).status === 0;
const skip = canSwitchUser ? false : 'needs root and setpriv to run a reader as another user';
const CHILD = fileURLToPath(new URL('./fixtures/snapshot-reader.ts', import.meta.url));

const DIMS = 16;
const tmp = tempDir('snapshot-reader');
after(() => tmp.cleanup());
const dir = join(tmp.dir, 'col');
const query = unitVector(DIMS, 1, 1);
let documents = 0;

/** The owner writes documents with these ids, and closes (the reader's snapshot is then out of date). */
async function write(...ids: string[]): Promise<void> {
  const w = await Collection.open(dir);
  try {
    await w.upsertVectors(ids.map((id) => ({ id, text: `document ${id}`, vector: unitVector(DIMS, 9, documents++) })));
  } finally {
    await w.close();
  }
}

interface Answer { count: number; hits: string[][]; got: (string | null)[]; error?: string }

class Reader {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  #stderr = '';

  constructor() {
    this.#child = spawn('setpriv', [...NOBODY, process.execPath, '--import', 'tsx', CHILD, dir, JSON.stringify([...query])]);
    this.#child.stderr.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    this.#lines = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
  }

  async line(): Promise<string> {
    const { value, done } = await this.#lines.next();
    assert.ok(!done, `the reader stopped: ${this.#stderr}`);
    return value as string;
  }

  async ask(command: object, onWrite?: () => Promise<void>): Promise<Answer> {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
    let line = await this.line();
    if (line === 'write') {
      assert.ok(onWrite, 'the reader waits for a write');
      await onWrite();
      line = await this.line();
    }
    return JSON.parse(line) as Answer;
  }

  async close(): Promise<string> {
    this.#child.stdin.end();
    await new Promise((resolve) => this.#child.on('close', resolve));
    return this.#stderr;
  }
}

describe('a snapshot reader under concurrent calls', { skip }, () => {
  before(async () => {
    chmodSync(tmp.dir, 0o755); // mkdtemp makes it 0700: let the other user in
    const c = await Collection.create(dir, { encoder: { modelId: 'test/random', dims: DIMS, normalized: true }, index: { kind: 'flat' } });
    await c.close();
    await write(...Array.from({ length: 20 }, (_, i) => `d${i}`));
  });

  /** Runs `fn` with a new reader (opened on the collection as it is now), and checks it reported no error. */
  async function withReader(fn: (reader: Reader) => Promise<void>): Promise<void> {
    const reader = new Reader();
    try {
      assert.deepEqual(JSON.parse(await reader.line()), { count: documents });
      await fn(reader);
    } finally {
      const stderr = await reader.close();
      assert.doesNotMatch(stderr, /Error/, stderr);
    }
  }

  test('after a write: 3 searches, count() and get() at once all see it', () => withReader(async (reader) => {
    await write('late-1');
    const a = await reader.ask({ command: 'concurrent', get: ['late-1', 'd3'] });
    assert.equal(a.error, undefined, a.error);
    assert.equal(a.count, documents);
    assert.deepEqual(a.got, ['late-1', 'd3']);
    for (const hits of a.hits) {
      assert.equal(hits.length, documents);
      assert.ok(hits.includes('late-1'));
    }
  }));

  test('a write landing while a search reloads the index: count() and get() see it, the next search too, nothing fails', () => withReader(async (reader) => {
    // The wait is placed at every microtask tick in turn: some of them fall while the search reloads
    // the index from the snapshot it read after the write before.
    for (let ticks = 0; ticks < 24; ticks++) {
      await write(`a-${ticks}`);
      const a = await reader.ask({ command: 'interleaved', ticks, get: [`a-${ticks}`, `b-${ticks}`] }, () => write(`b-${ticks}`));
      assert.equal(a.error, undefined, `ticks ${ticks}: ${a.error}`);
      assert.equal(a.count, documents, `ticks ${ticks}`);
      assert.deepEqual(a.got, [`a-${ticks}`, `b-${ticks}`], `ticks ${ticks}`);
      const [first, second] = a.hits;
      assert.ok(first.includes(`a-${ticks}`), `ticks ${ticks}: the first search sees the write before it`);
      assert.equal(second.length, documents, `ticks ${ticks}: the next search sees every document`);
      assert.ok(second.includes(`b-${ticks}`), `ticks ${ticks}`);
    }
  }));
});
