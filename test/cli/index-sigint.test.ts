/** Ctrl-C for real: SIGINT to a running `biencoder index` keeps exactly what it acknowledged. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import { syntheticModel, scifactDocs, tempDir } from '../helpers/synthetic.ts';
import { interruptCli, runCli, spawnCli } from './run-cli.ts';

const tmp = tempDir('cli-sigint');
after(() => tmp.cleanup());

const N = 600;

test('SIGINT mid-run: exit 130, the acknowledged documents (a prefix of the input) are stored, check passes, a rerun completes the rest', async () => {
  const model = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
  const corpus = join(tmp.dir, 'corpus.jsonl');
  const texts = scifactDocs(N);
  // Short documents: each fits in one chunk and is stored under its own id.
  writeFileSync(corpus, texts.map((t, i) => JSON.stringify({ _id: `d${i}`, text: t.slice(0, 250) })).join('\n') + '\n');
  const col = join(tmp.dir, 'col');

  // The first progress line means a batch is committed and the run is under way.
  const { code, stdout, stderr, signalled } = await interruptCli(['index', corpus, '--collection', col, '--model', model, '--batch-size', '8', '--json'], /indexing: \d+\/600 docs/);
  assert.ok(signalled, `the run showed progress before it ended: ${stderr}`);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /stopping after the batch in flight/);
  const r = JSON.parse(stdout) as { interrupted: boolean; documents: number; inserted: number; rows: number };
  assert.equal(r.interrupted, true);
  assert.ok(r.documents >= 8 && r.documents < N, `stopped mid-run (${r.documents} of ${N})`);
  assert.equal(r.documents % 8, 0, 'whole batches only');
  assert.equal(r.rows, r.documents);

  const c = await Collection.open(col, { readOnly: true });
  try {
    assert.equal(c.count(), r.documents, 'the count is what was acknowledged');
    const ids = Array.from({ length: N }, (_, i) => `d${i}`);
    const stored = await c.get(ids);
    const present = stored.map((d) => d !== undefined);
    assert.deepEqual(present, ids.map((_, i) => i < r.documents), 'exactly the first acknowledged documents');
  } finally {
    await c.close();
  }
  const check = spawnCli(['check', col]);
  assert.equal(check.code, 0, check.stdout);

  const rerun = await runCli(['index', corpus, '--collection', col, '--json', '--no-progress']);
  assert.equal(rerun.code, 0, rerun.stderr);
  const done = JSON.parse(rerun.stdout) as { interrupted: boolean; inserted: number; unchanged: number; embedded: number; rows: number };
  assert.deepEqual([done.interrupted, done.inserted, done.unchanged, done.embedded, done.rows], [false, N - r.documents, r.documents, N - r.documents, N]);
});
