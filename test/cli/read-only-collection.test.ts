/**
 * A healthy collection read by a user without write access to it (issue #15): search, info and
 * check work and create no file; writes fail with PERMISSION naming the path and change nothing;
 * a long-lived reader follows what the owner writes later.
 *
 * The other user is real: the commands run as uid 65534 (nobody) through setpriv, since root, which
 * runs these tests here and in CI, bypasses file permissions. Skipped when that is not possible.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Collection } from '../../src/collection/collection.ts';
import { checkCollection } from '../../src/collection/check.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { STATUS_OF_CODE } from '../../src/server/errors.ts';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { CLI } from '../helpers/cli-bin.ts';
import { textDocs, unitVector } from '../collection/helpers.ts';

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const canSwitchUser = process.getuid?.() === 0 && spawnSync('setpriv', [...NOBODY, process.execPath, '-e', 'process.exit(process.getuid() === 65534 ? 0 : 1)']).status === 0;
const skip = canSwitchUser ? false : 'needs root and setpriv to run commands as another user';

const tmp = tempDir('cli-read-only');
after(() => tmp.cleanup());
const dir = join(tmp.dir, 'col');
const more = join(tmp.dir, 'more.jsonl');
let modelDir: string;

/** Runs the CLI as uid 65534. */
function asNobody(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('setpriv', [...NOBODY, process.execPath, ...CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const files = (): string[] => readdirSync(dir).sort();
const noStack = (stderr: string): void => assert.doesNotMatch(stderr, /unexpected error|\n\s+at /, stderr);

describe('a collection without write access', { skip }, () => {
  before(async () => {
    chmodSync(tmp.dir, 0o755); // mkdtemp makes it 0700: let the other user in
    modelDir = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
    const encoder = await loadOnnxEncoder(modelDir);
    const c = await Collection.create(dir, { encoder, index: { kind: 'flat' } });
    await c.upsert(textDocs(40));
    await c.close();
    await encoder.close();
    writeFileSync(more, '{"id": "new", "text": "one more document"}\n');
  });

  test('check, info and search work, and leave no file behind', () => {
    const before = files();
    const check = asNobody(['check', dir]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /^ok: .*\n {2}documents 40, vectors 40, index 40/);
    const info = asNobody(['info', dir, '--json']);
    assert.equal(info.code, 0, info.stderr);
    assert.equal((JSON.parse(info.stdout) as { rows: { documents: number } }).rows.documents, 40);
    const search = asNobody(['search', 'document 3: birds', '--collection', dir, '-k', '3', '--json']);
    assert.equal(search.code, 0, search.stderr);
    assert.equal((JSON.parse(search.stdout) as { hits: unknown[] }).hits.length, 3);
    assert.deepEqual(files(), before, 'no -wal, -shm or lock file was created');
  });

  test('writes fail with PERMISSION naming the path, and change nothing', async () => {
    const before = files();
    for (const [args, path] of [
      [['index', more, '--collection', dir, '--no-progress'], dir],
      [['delete', '--collection', dir, '--id', 'd1'], dir],
      [['delete', '--collection', dir, '--all', '--yes'], tmp.dir], // removing it takes write access to its parent
    ] as const) {
      const r = asNobody(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`error \\[PERMISSION\\]: ${path} is not writable by user nobody`), args.join(' '));
      noStack(r.stderr);
    }
    // A new collection inside it: the directory it would be created in is named.
    const nested = asNobody(['index', more, '--collection', join(dir, 'sub'), '--model', modelDir, '--no-progress']);
    assert.equal(nested.code, 1, nested.stderr);
    assert.match(nested.stderr, new RegExp(`error \\[PERMISSION\\]: ${dir} is not writable .*cannot create the collection ${dir}/sub`));
    noStack(nested.stderr);
    assert.deepEqual(files(), before);
    const report = await checkCollection(dir);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.stats.documents, 40);
    assert.equal(STATUS_OF_CODE.PERMISSION, 403); // what the server answers for it
  });

  test('a long-lived reader follows the writes of the owner: after a writer closed, and while one runs', async () => {
    // The reader (uid 65534) prints the document count and the ids a vector search finds, at every line it reads.
    const script = `
      const { Collection } = await import(${JSON.stringify(new URL('../../src/collection/collection.ts', import.meta.url).pathname)});
      const c = await Collection.open(${JSON.stringify(dir)}, { readOnly: true });
      const query = new Float32Array(${JSON.stringify([...unitVector(32, 1, 1)])});
      const report = async () => {
        const hits = await c.search(query, { k: 100 });
        console.log(JSON.stringify({ count: c.count(), hits: hits.length, late: hits.filter((h) => h.id.startsWith('late')).map((h) => h.id).sort() }));
      };
      await report();
      for await (const line of (await import('node:readline')).createInterface({ input: process.stdin })) await report();
      await c.close();`;
    // Start from rest: a writer that closes last removes the -wal and -shm files (left by the read-only
    // check above), so the reader starts from a snapshot of the file, and must notice the writes below.
    await (await Collection.open(dir)).close();
    assert.deepEqual(files().filter((f) => f.includes('-wal') || f.includes('-shm')), []);
    const child = spawn('setpriv', [...NOBODY, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<{ count: number; hits: number; late: string[] }> => {
      const { value, done } = await lines.next();
      assert.ok(!done, `the reader stopped: ${stderr}`);
      return JSON.parse(value as string);
    };
    const ask = (): Promise<{ count: number; hits: number; late: string[] }> => {
      child.stdin.write('\n');
      return next();
    };
    const late = (id: string) => ({ id, text: `late document ${id}`, vector: unitVector(32, 9, id.length) });
    try {
      assert.deepEqual(await next(), { count: 40, hits: 40, late: [] });
      // The owner writes and closes (no -wal file is left): the reader reads the file again.
      const w1 = await Collection.open(dir);
      await w1.upsertVectors([late('late-1')]);
      await w1.close();
      assert.deepEqual(await ask(), { count: 41, hits: 41, late: ['late-1'] });
      // A writer that stays open: the reader reads its log through the -shm file the writer created.
      const w2 = await Collection.open(dir);
      try {
        await w2.upsertVectors([late('late-22')]);
        assert.deepEqual(await ask(), { count: 42, hits: 42, late: ['late-1', 'late-22'] });
        await w2.delete(['late-1']);
        assert.deepEqual(await ask(), { count: 41, hits: 41, late: ['late-22'] });
      } finally {
        await w2.close();
      }
      assert.deepEqual(await ask(), { count: 41, hits: 41, late: ['late-22'] });
    } finally {
      child.stdin.end();
      await new Promise((resolve) => child.on('close', resolve));
    }
    assert.doesNotMatch(stderr, /Error/, stderr);
  });
});
