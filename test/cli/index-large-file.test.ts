/**
 * `biencoder index` of one large text file (issue #15): progress inside the file, and Ctrl-C inside
 * it keeps the committed chunks, releases the collection and exits 130; a rerun completes the file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticModel, scifactDocs, tempDir } from '../helpers/synthetic.ts';
import { interruptCli, runCli, spawnCli } from './run-cli.ts';

const tmp = tempDir('cli-large-file');
after(() => tmp.cleanup());

let model: string;
let big: string;
before(async () => {
  model = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
  big = join(tmp.dir, 'big.txt');
  // ~150 abstracts as paragraphs: about 2,000 chunks of 24 tokens, several batches of 256.
  writeFileSync(big, scifactDocs(150).join('\n\n') + '\n');
});

test('progress lines inside one large file name it, with its committed chunks and share', async () => {
  const col = join(tmp.dir, 'progress');
  const r = await runCli(['index', big, '--collection', col, '--model', model, '--chunk-tokens', '24', '--json']);
  assert.equal(r.code, 0, r.stderr);
  // The first acknowledgement is printed at once (later ones every 2 s): the first 256 chunks.
  assert.match(r.stderr, /^indexing: 0\/1 docs \(\d+\.\d%\), [\d.]+ docs\/s, ETA \S+; \S*big\.txt: 256 chunks \(\d+%\)$/m);
  assert.match(r.stderr, /^indexing: 1\/1 docs \(100\.0%\), [\d.]+ docs\/s, done$/m);
  const summary = JSON.parse(r.stdout) as { documents: number; rows: number; rowsWritten: number };
  assert.ok(summary.rows > 512, `${summary.rows} chunks`);
  assert.deepEqual([summary.documents, summary.rowsWritten], [1, summary.rows]);
});

test('Ctrl-C inside a large file: exit 130, the committed chunks are kept, check passes, a rerun embeds the rest', async () => {
  const col = join(tmp.dir, 'sigint');
  const { code, stdout, stderr, signalled } = await interruptCli(['index', big, '--collection', col, '--model', model, '--chunk-tokens', '24', '--json'], /big\.txt: \d+ chunks/);
  assert.ok(signalled, `progress was shown inside the file: ${stderr}`);
  assert.equal(code, 130, stderr);
  const r = JSON.parse(stdout) as { interrupted: boolean; documents: number; rowsWritten: number; rows: number };
  assert.deepEqual([r.interrupted, r.documents], [true, 0], 'the file is not acknowledged as a document');
  assert.ok(r.rowsWritten >= 256 && r.rowsWritten % 256 === 0, `whole batches of its chunks: ${r.rowsWritten}`);
  assert.equal(r.rows, r.rowsWritten);
  const check = spawnCli(['check', col]);
  assert.equal(check.code, 0, check.stdout);

  // The lock was released: the rerun opens the collection for writing.
  const rerun = await runCli(['index', big, '--collection', col, '--json', '--no-progress']);
  assert.equal(rerun.code, 0, rerun.stderr);
  const done = JSON.parse(rerun.stdout) as { interrupted: boolean; documents: number; rowsUnchanged: number; embedded: number; rows: number };
  assert.deepEqual([done.interrupted, done.documents, done.rowsUnchanged, done.embedded], [false, 1, r.rowsWritten, done.rows - r.rowsWritten]);
});
