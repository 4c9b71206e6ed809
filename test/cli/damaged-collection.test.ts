/**
 * The CLI on a collection whose collection.db has a garbled 4 KB block in the middle (issue #15):
 * `check` reports it (exit 3, a problem code, no stack trace); `search` and `index` fail with
 * COLLECTION_CORRUPT (exit 1), nothing more is written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import { PAGE_SIZE } from '../../src/collection/store.ts';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { prng, unitVector } from '../collection/helpers.ts';
import { runCli } from './run-cli.ts';

const tmp = tempDir('cli-damaged');
after(() => tmp.cleanup());
const dir = join(tmp.dir, 'col');
const dbPath = join(dir, 'collection.db');

before(async () => {
  const encoder = await loadOnnxEncoder(await syntheticModel(tmp.dir, 'tiny', { tiny: true }));
  const c = await Collection.create(dir, { encoder });
  await c.upsertVectors(Array.from({ length: 1500 }, (_, i) => ({ id: `doc-${i}`, text: `document ${i} `.repeat(25), vector: unitVector(encoder.dims, 5, i) })));
  await c.close();
  await encoder.close();
  const size = statSync(dbPath).size;
  assert.ok(size / PAGE_SIZE > 100, `the database should span many pages, it has ${size / PAGE_SIZE}`);
  const r = prng(11);
  const fd = openSync(dbPath, 'r+');
  writeSync(fd, Buffer.from(Array.from({ length: 4096 }, () => Math.floor(r() * 256))), 0, 4096, Math.floor(size / 2 / 4096) * 4096);
  closeSync(fd);
  writeFileSync(join(tmp.dir, 'more.jsonl'), '{"id": "new", "text": "one more document"}\n');
});

const noStack = (stderr: string): void => {
  assert.doesNotMatch(stderr, /unexpected error|SqliteError|\n\s+at /, stderr);
};

test('check: exit 3 with an INTEGRITY problem, no stack trace', async () => {
  const r = await runCli(['check', dir]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /PROBLEMS FOUND/);
  assert.match(r.stdout, /problem \[INTEGRITY\]: SQLite integrity_check/);
  noStack(r.stderr);
  const json = JSON.parse((await runCli(['check', dir, '--json'])).stdout) as { ok: boolean; problems: { code: string }[] };
  assert.equal(json.ok, false);
  assert.ok(json.problems.some((p) => p.code === 'INTEGRITY'));
});

test('search and index: COLLECTION_CORRUPT (exit 1) naming the database, and nothing is written', async () => {
  const digest = createHash('sha256').update(readFileSync(dbPath)).digest('hex');
  const search = await runCli(['search', 'document 7', '--collection', dir]);
  assert.equal(search.code, 1);
  assert.match(search.stderr, /error \[COLLECTION_CORRUPT\]: the collection database .*collection\.db is damaged/);
  noStack(search.stderr);
  const index = await runCli(['index', join(tmp.dir, 'more.jsonl'), '--collection', dir, '--no-progress']);
  assert.equal(index.code, 1);
  assert.match(index.stderr, /error \[COLLECTION_CORRUPT\]/);
  noStack(index.stderr);
  assert.equal(createHash('sha256').update(readFileSync(dbPath)).digest('hex'), digest);
});
