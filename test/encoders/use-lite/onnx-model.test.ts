import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isBiencoderError } from '../../../src/errors.ts';
import {
  defaultCacheDir, loadUseLiteOnnxModel, readUseLiteModelFiles, translateUseLiteGraph, useLiteOnnxKey,
} from '../../../src/encoders/use-lite/index.ts';
import type { UseLiteModelFiles } from '../../../src/encoders/use-lite/index.ts';
import { tempDir } from '../../helpers/synthetic.ts';

let files: UseLiteModelFiles;
let root: string;
let cleanup: () => void;
before(async () => {
  files = await readUseLiteModelFiles();
  ({ dir: root, cleanup } = tempDir('use-lite-onnx-model'));
});
after(() => cleanup?.());

describe('use-lite ONNX translation', () => {
  test('reads the architecture and constants from the TF.js graph', () => {
    const { model, facts } = translateUseLiteGraph(files);
    assert.ok(model.byteLength > 27_000_000 && model.byteLength < 30_000_000, `${model.byteLength} bytes`);
    assert.equal(facts.maxLength, 128);
    assert.equal(facts.vocabRows, 8002);
    assert.equal(facts.embeddingDims, 256);
    assert.equal(facts.outputDims, 512);
    assert.deepEqual(facts.layers.map((l) => [l.heads, l.depth, l.width]), [[4, 64, 256], [4, 128, 512]]);
    assert.equal(facts.layers[0].qScale, 1 / Math.sqrt(64));
    assert.ok(Math.abs(facts.layers[1].qScale - 1 / Math.sqrt(128)) < 1e-7);
    assert.ok(Math.abs(facts.layerNormEpsilon - 1e-6) < 1e-12);
    assert.equal(facts.maskValue, -1e9);
  });

  test('the translation is deterministic (same bytes twice)', () => {
    const a = translateUseLiteGraph(files).model;
    const b = translateUseLiteGraph(files).model;
    assert.ok(Buffer.from(a).equals(Buffer.from(b)));
  });

  test('a graph that differs from the known one is refused with MODEL_INVALID naming the tfjs route', () => {
    const nodes = (files.modelTopology.node as { op: string }[]).filter((n) => n.op !== 'Tanh');
    assert.throws(
      () => translateUseLiteGraph({ ...files, modelTopology: { ...files.modelTopology, node: nodes } }),
      (e: unknown) => isBiencoderError(e, 'MODEL_INVALID') && /Tanh 0 \(expected 1\)/.test(e.message) && /route: 'tfjs'/.test(e.message),
    );
    const renamed = files.weightSpecs.map((w) => (w.name === 'module/Embeddings_en' ? { ...w, name: 'module/Other' } : w));
    assert.throws(() => translateUseLiteGraph({ ...files, weightSpecs: renamed }), (e: unknown) => isBiencoderError(e, 'MODEL_INVALID') && /Embeddings_en/.test(e.message));
  });
});

describe('use-lite ONNX cache', () => {
  test('the default folder follows XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }), path.join('/x/cache', 'biencoder'));
    assert.match(defaultCacheDir({}), /\.cache[/\\]biencoder$/);
    assert.match(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }), /\.cache[/\\]biencoder$/, 'a relative XDG_CACHE_HOME is ignored, as the spec says');
  });

  test('the key changes with the package version and the weights', () => {
    const key = useLiteOnnxKey(files);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(useLiteOnnxKey(files), key);
    assert.notEqual(useLiteOnnxKey({ ...files, packageVersion: '9.9.9' }), key);
    const weights = new Uint8Array(files.weightData.slice(0));
    weights[1000] ^= 1;
    assert.notEqual(useLiteOnnxKey({ ...files, weightData: weights.buffer }), key);
  });

  test('translated once, then read back verified; no temporary files left', async () => {
    const cacheDir = path.join(root, 'fresh');
    const first = await loadUseLiteOnnxModel(files, { cacheDir });
    assert.equal(first.source, 'translated');
    assert.ok(first.path?.startsWith(path.join(cacheDir, 'use-lite')));
    const second = await loadUseLiteOnnxModel(files, { cacheDir });
    assert.equal(second.source, 'cache');
    assert.equal(second.sha256, first.sha256);
    assert.ok(Buffer.from(second.bytes).equals(Buffer.from(first.bytes)));
    const names = (await readdir(path.join(cacheDir, 'use-lite'))).sort();
    assert.equal(names.length, 2, names.join(', '));
    assert.ok(names[0].endsWith('.json') && names[1].endsWith('.onnx'));
    const record = JSON.parse(await readFile(path.join(cacheDir, 'use-lite', names[0]), 'utf8')) as Record<string, unknown>;
    assert.equal(record.sha256, first.sha256);
    assert.equal(record.key, useLiteOnnxKey(files));
    assert.equal(record.package, `${files.packageName}@${files.packageVersion}`);
  });

  test('a new translation removes earlier ones of the same package, and keeps other packages\' files', async () => {
    const cacheDir = path.join(root, 'stale');
    const folder = path.join(cacheDir, 'use-lite');
    await mkdir(folder, { recursive: true });
    const record = (key: string, pkg: string): string => JSON.stringify({ format: 'biencoder-use-lite-onnx', key, sha256: 'x', bytes: 1, package: pkg });
    const old = 'a'.repeat(32);
    const other = 'b'.repeat(32);
    await writeFile(path.join(folder, `${old}.json`), record(old.repeat(2), `${files.packageName}@${files.packageVersion}`));
    await writeFile(path.join(folder, `${old}.onnx`), 'old');
    await writeFile(path.join(folder, `${other}.json`), record(other.repeat(2), `${files.packageName}@0.0.1`));
    await writeFile(path.join(folder, `${other}.onnx`), 'other');
    const model = await loadUseLiteOnnxModel(files, { cacheDir });
    const names = (await readdir(folder)).sort();
    const current = path.basename(model.path as string, '.onnx');
    assert.deepEqual(names, [`${current}.json`, `${current}.onnx`, `${other}.json`, `${other}.onnx`].sort());
  });

  test('a corrupted or truncated cache file fails its checksum and is translated again', async () => {
    const cacheDir = path.join(root, 'corrupt');
    const first = await loadUseLiteOnnxModel(files, { cacheDir });
    const file = first.path as string;
    const bytes = await readFile(file);
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(file, bytes);
    const healed = await loadUseLiteOnnxModel(files, { cacheDir });
    assert.equal(healed.source, 'translated');
    assert.match(healed.cacheNote ?? '', /checksum/);
    assert.equal(healed.sha256, first.sha256);
    assert.equal((await loadUseLiteOnnxModel(files, { cacheDir })).source, 'cache', 'the file was replaced');

    await writeFile(file, bytes.subarray(0, 1000));
    const again = await loadUseLiteOnnxModel(files, { cacheDir });
    assert.equal(again.source, 'translated');
    assert.equal(again.sha256, first.sha256);
  });

  test('concurrent first loads in one folder agree and leave one valid file', async () => {
    const cacheDir = path.join(root, 'race');
    const all = await Promise.all([1, 2, 3].map(() => loadUseLiteOnnxModel(files, { cacheDir })));
    assert.equal(new Set(all.map((m) => m.sha256)).size, 1);
    const names = await readdir(path.join(cacheDir, 'use-lite'));
    assert.equal(names.filter((n) => n.endsWith('.tmp')).length, 0);
    assert.equal((await loadUseLiteOnnxModel(files, { cacheDir })).source, 'cache');
  });

  test('a cache folder that cannot be written: the model is translated in memory, with a note', async () => {
    const blocker = path.join(root, 'blocked');
    await mkdir(root, { recursive: true });
    await writeFile(blocker, 'a file where the cache folder should be');
    const model = await loadUseLiteOnnxModel(files, { cacheDir: blocker });
    assert.equal(model.source, 'translated');
    assert.equal(model.path, undefined);
    assert.match(model.cacheNote ?? '', /cannot write/);
    assert.equal(model.sha256, (await loadUseLiteOnnxModel(files, { cacheDir: path.join(root, 'fresh') })).sha256);
  });
});
