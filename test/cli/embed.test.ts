import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { maxAbsDiff } from '../helpers/vector-math.ts';
import { CLI } from '../helpers/cli-bin.ts';

const tmp = tempDir('cli');
after(() => tmp.cleanup());
let modelDir: string;
before(async () => {
  modelDir = await syntheticModel(tmp.dir, 'tiny', { tiny: true, prompts: { query: 'query: ' } });
});

function cli(args: string[], input = '', env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { input, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Line {
  line: number;
  id?: unknown;
  embedding: number[];
  truncated: boolean;
}

test('embed reads lines and writes one JSON line per input, equal to the library', async () => {
  const r = cli(['embed', '--model', modelDir, '--role', 'query'], 'first line\nsecond line\n');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
  assert.deepEqual(lines.map((l) => l.line), [1, 2]);
  assert.equal(lines[0].embedding.length, 32);
  const encoder = await loadOnnxEncoder(modelDir);
  try {
    const expected = await encoder.encode(['first line', 'second line'], { role: 'query' });
    assert.ok(maxAbsDiff(lines.flatMap((l) => l.embedding), expected.data) <= 1e-6);
  } finally {
    await encoder.close();
  }
});

test('embed --format jsonl echoes ids, joins BEIR title and text, warns on truncation', () => {
  const long = 'token '.repeat(400);
  const input = [
    JSON.stringify({ id: 'a', text: 'hello' }),
    JSON.stringify({ _id: 'b', title: 'Title', text: 'body' }),
    '',
    JSON.stringify({ id: 3, text: long }),
  ].join('\n');
  const r = cli(['embed', '--model', modelDir, '--format', 'jsonl'], input);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
  assert.deepEqual(lines.map((l) => l.id), ['a', 'b', 3]);
  assert.deepEqual(lines.map((l) => l.truncated), [false, false, true]);
  assert.match(r.stderr, /warning: 1 input\(s\) were longer than 128 tokens and were truncated/);
});

test('embed errors: an empty line, bad JSON, a missing model — exit 1 with the code', () => {
  const empty = cli(['embed', '--model', modelDir], 'ok\n\nok\n');
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /EMPTY_INPUT.*line 2/);
  const bad = cli(['embed', '--model', modelDir, '--format', 'jsonl'], '{"text": "ok"}\n{nope\n');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /INVALID_ARGUMENT.*line 2/);
  const missing = cli(['embed', '--model', join(tmp.dir, 'nope')], 'x\n');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /MODEL_NOT_FOUND/);
});

test('usage errors exit 2; --help exits 0 on every command', () => {
  assert.equal(cli(['embed', '--role', 'nobody']).code, 2);
  assert.equal(cli(['no-such-command']).code, 2);
  for (const args of [['--help'], ['embed', '--help'], ['models', '--help']]) {
    const r = cli(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /Usage: biencoder/);
  }
});

test('models lists the bundled default and the cache', () => {
  const cacheDir = join(tmp.dir, 'empty-cache');
  const r = cli(['models', '--cache-dir', cacheDir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { default: string; cached: unknown[] };
  assert.equal(out.default, 'use-lite');
  assert.deepEqual(out.cached, []);
});
