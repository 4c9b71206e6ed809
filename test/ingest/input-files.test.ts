import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatOf, resolveInputs } from '../../src/ingest/input-files.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { tempDir } from '../helpers/synthetic.ts';

const tmp = tempDir('input-files');
after(() => tmp.cleanup());

function put(rel: string, text = 'x'): void {
  const full = join(tmp.dir, rel);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
}

put('docs/a.md');
put('docs/b.txt');
put('docs/deep/c.MD');
put('docs/deep/image.png');
put('docs/.hidden/secret.txt');
put('docs/node_modules/pkg/readme.md');
put('data/corpus.jsonl');
put('data/more.json');
put('other/b.txt');

test('formatOf maps extensions (case-insensitive) to formats', () => {
  assert.equal(formatOf('x/a.md'), 'text');
  assert.equal(formatOf('A.TXT'), 'text');
  assert.equal(formatOf('c.jsonl'), 'jsonl');
  assert.equal(formatOf('c.ndjson'), 'jsonl');
  assert.equal(formatOf('c.json'), 'json');
  assert.equal(formatOf('c.png'), undefined);
  assert.equal(formatOf('.md'), undefined);
});

test('folders are walked recursively (no hidden files, no node_modules), ids relative to the folder', async () => {
  const r = await resolveInputs(['docs'], { cwd: tmp.dir });
  assert.deepEqual(r.files.map((f) => [f.relativeId, f.format, f.display]), [
    ['a.md', 'text', 'docs/a.md'],
    ['b.txt', 'text', 'docs/b.txt'],
    ['deep/c.MD', 'text', 'docs/deep/c.MD'],
  ]);
  assert.deepEqual(r.skipped, ['docs/deep/image.png']);
});

test('files, globs and folders combine in order, each file once; a file id is its name', async () => {
  const r = await resolveInputs(['data/corpus.jsonl', 'docs/**/*.md', 'docs', 'other/b.txt'], { cwd: tmp.dir });
  assert.deepEqual(r.files.map((f) => [f.display, f.relativeId]), [
    ['data/corpus.jsonl', 'corpus.jsonl'],
    ['docs/a.md', 'a.md'], // the glob is case-sensitive: c.MD comes with the folder
    ['docs/b.txt', 'b.txt'],
    ['docs/deep/c.MD', 'deep/c.MD'],
    ['other/b.txt', 'b.txt'],
  ]);
  assert.equal(r.files[0].format, 'jsonl');
  assert.ok(r.files.every((f) => f.path.startsWith(tmp.dir)));
});

test('--root: ids relative to one folder whatever the arguments; files outside it are refused', async () => {
  const r = await resolveInputs(['docs/deep/c.MD', 'docs'], { cwd: tmp.dir, root: '.' });
  assert.deepEqual(r.files.map((f) => f.relativeId), ['docs/deep/c.MD', 'docs/a.md', 'docs/b.txt']);
  await assert.rejects(resolveInputs(['other/b.txt'], { cwd: tmp.dir, root: 'docs' }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT') && /not inside the --root folder/.test(e.message));
});

test('missing paths, empty globs and unsupported files are clear errors', async () => {
  await assert.rejects(resolveInputs(['nope'], { cwd: tmp.dir }), (e: unknown) => isBiencoderError(e, 'NOT_FOUND') && /nope: no such file/.test(e.message));
  await assert.rejects(resolveInputs(['docs/*.pdf'], { cwd: tmp.dir }), (e: unknown) => isBiencoderError(e, 'NOT_FOUND') && /no file matches/.test(e.message));
  await assert.rejects(resolveInputs(['docs/deep/image.png'], { cwd: tmp.dir }), (e: unknown) => isBiencoderError(e, 'INVALID_INPUT') && /unsupported file type/.test(e.message));
  await assert.rejects(resolveInputs([], { cwd: tmp.dir }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});
