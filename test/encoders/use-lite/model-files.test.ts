import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { isBiencoderError } from '../../../src/errors.ts';
import { locateUseLiteFiles, readUseLiteModelFiles, USE_LITE_PACKAGE } from '../../../src/encoders/use-lite/model-files.ts';

describe('use-lite model files', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'use-lite-files-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test('finds and reads the weights package', async () => {
    const { dir, version } = locateUseLiteFiles();
    assert.match(version, /^\d+\.\d+\.\d+/);
    const files = await readUseLiteModelFiles();
    assert.equal(files.dir, dir);
    assert.equal(files.packageName, USE_LITE_PACKAGE);
    assert.equal(files.packageVersion, version);
    assert.equal(files.vocabulary.length, 8000);
    assert.equal(files.weightSpecs.length, 61);
    const floats = files.weightSpecs.reduce((s, w) => s + w.shape.reduce((a, d) => a * d, 1), 0);
    assert.equal(files.weightData.byteLength, floats * 4);
  });

  test('a missing package: MODEL_NOT_FOUND', () => {
    assert.throws(
      () => locateUseLiteFiles(pathToFileURL(path.join(tmp, 'nowhere.js'))),
      (e: unknown) => isBiencoderError(e, 'MODEL_NOT_FOUND') && e.message.includes(USE_LITE_PACKAGE),
    );
  });

  test('a folder without the files: MODEL_NOT_FOUND; broken model.json: MODEL_INVALID', async () => {
    await assert.rejects(readUseLiteModelFiles({ dir: tmp }), (e: unknown) => isBiencoderError(e, 'MODEL_NOT_FOUND'));
    await writeFile(path.join(tmp, 'model.json'), '{ not json');
    await assert.rejects(readUseLiteModelFiles({ dir: tmp }), (e: unknown) => isBiencoderError(e, 'MODEL_INVALID'));
    await writeFile(path.join(tmp, 'model.json'), JSON.stringify({ modelTopology: {} }));
    await assert.rejects(readUseLiteModelFiles({ dir: tmp }), (e: unknown) => isBiencoderError(e, 'MODEL_INVALID'));
  });

  test('a missing shard: MODEL_NOT_FOUND', async () => {
    const { dir } = locateUseLiteFiles();
    await copyFile(path.join(dir, 'model.json'), path.join(tmp, 'model.json'));
    await copyFile(path.join(dir, 'vocab.json'), path.join(tmp, 'vocab.json'));
    await assert.rejects(readUseLiteModelFiles({ dir: tmp }), (e: unknown) => isBiencoderError(e, 'MODEL_NOT_FOUND') && /group1-shard/.test(e.message));
  });
});
