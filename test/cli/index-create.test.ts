/**
 * The first `biencoder index` into a new directory (issue #15): a run that fails before any batch
 * is acknowledged leaves no collection behind (an empty directory it was given stays, empty), even
 * when the failure comes while the new collection is opened; one that fails later keeps what was
 * acknowledged; two first runs at once never answer with the library's ALREADY_EXISTS ("use
 * Collection.open").
 */
import { after, afterEach, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { checkCollection } from '../../src/collection/check.ts';
import { indexFiles } from '../../src/cli/commands/index.ts';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { resolveInputs } from '../../src/ingest/input-files.ts';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { CountingEncoder } from '../collection/helpers.ts';

const tmp = tempDir('cli-index-create');
let model: string;
let encoder: CountingEncoder;

before(async () => {
  model = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
  encoder = new CountingEncoder(await loadOnnxEncoder(model));
});
after(async () => {
  try {
    await encoder?.close();
  } finally {
    tmp.cleanup();
  }
});

/** A .jsonl input of n documents; the texts of the documents in `boom` contain "boom". */
async function input(name: string, n: number, boom: readonly number[] = []) {
  const path = join(tmp.dir, `${name}.jsonl`);
  writeFileSync(path, Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${name}-${i}`, text: `document ${i} of ${name}${boom.includes(i) ? ' boom' : ''}` })).join('\n') + '\n');
  return (await resolveInputs([path])).files;
}

afterEach(() => {
  mock.restoreAll();
  syncBuiltinESMExports();
});

const leftovers = (): string[] => readdirSync(tmp.dir).filter((f) => f.includes('.creating-') || f.includes('.deleting-'));

describe('the first index run into a new directory', () => {
  test('failing before any batch is acknowledged, it leaves no collection behind', async () => {
    const dir = join(tmp.dir, 'rejected');
    encoder.failOn = 'boom';
    try {
      await assert.rejects(indexFiles({ dir, model, encoder, files: await input('rejected', 5, [0]), progress: false }), /boom/);
    } finally {
      encoder.failOn = undefined;
    }
    assert.equal(existsSync(dir), false, 'the collection this run created was removed');
    assert.deepEqual(leftovers(), []);
  });

  test('failing before any batch, into an empty directory it was given: that directory stays, empty, with its permissions', async () => {
    const dir = join(tmp.dir, 'empty');
    mkdirSync(dir, { mode: 0o750 });
    encoder.failOn = 'boom';
    try {
      await assert.rejects(indexFiles({ dir, model, encoder, files: await input('empty', 3, [0]), progress: false }), /boom/);
    } finally {
      encoder.failOn = undefined;
    }
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(statSync(dir).mode & 0o777, 0o750);
    assert.deepEqual(leftovers(), []);
  });

  test('failing while the collection it just created is opened: no collection is left behind', async () => {
    const dir = join(tmp.dir, 'unopened');
    const files = await input('unopened', 3);
    // Opening the new collection lists its directory first: that fails once.
    const realReaddir = fs.readdirSync;
    let failed = false;
    mock.method(fs, 'readdirSync', (...args: Parameters<typeof fs.readdirSync>) => {
      if (!failed && args[0] === dir && existsSync(join(dir, 'manifest.json'))) {
        failed = true;
        throw Object.assign(new Error('EIO: i/o error (injected)'), { code: 'EIO' });
      }
      return (realReaddir as (...a: unknown[]) => unknown)(...args);
    });
    syncBuiltinESMExports();
    await assert.rejects(indexFiles({ dir, model, encoder, files, progress: false }), /EIO/);
    assert.ok(failed);
    assert.equal(existsSync(dir), false, 'the collection this run created was removed');
    assert.deepEqual(leftovers(), []);
  });

  test('failing after acknowledged batches, it keeps them (and a failing rerun changes nothing)', async () => {
    const dir = join(tmp.dir, 'partial');
    encoder.failOn = 'boom';
    try {
      await assert.rejects(indexFiles({ dir, model, encoder, files: await input('partial', 5, [2]), batchSize: 1, progress: false }), /boom/);
      let report = await checkCollection(dir);
      assert.equal(report.ok, true, JSON.stringify(report.problems));
      assert.equal(report.stats.documents, 2, 'the two acknowledged batches are kept');
      await assert.rejects(indexFiles({ dir, encoder, files: await input('again', 3, [0]), progress: false }), /boom/);
      report = await checkCollection(dir);
      assert.equal(report.stats.documents, 2, 'a failing rerun neither removes nor adds anything');
    } finally {
      encoder.failOn = undefined;
    }
  });

  test('two first runs at once: the second opens what the first created, or is told to run again; never ALREADY_EXISTS', async () => {
    const dir = join(tmp.dir, 'raced');
    const files = await input('raced', 20);
    const runs = await Promise.allSettled([0, 1].map(() => indexFiles({ dir, model, encoder, files, progress: false })));
    for (const r of runs) {
      if (r.status === 'fulfilled') continue;
      assert.ok(isBiencoderError(r.reason, 'COLLECTION_LOCKED'), String(r.reason));
      assert.match(r.reason.message, /is being written by another process .*Run this command again when it has finished/);
      assert.doesNotMatch(r.reason.message, /Collection\.open|readOnly/);
    }
    const created = runs.filter((r) => r.status === 'fulfilled' && r.value.created);
    assert.equal(created.length, 1, 'exactly one run created the collection');
    const report = await checkCollection(dir);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.stats.documents, 20);
    assert.deepEqual(leftovers(), []);
  });
});
