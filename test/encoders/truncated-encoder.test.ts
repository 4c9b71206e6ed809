/** Matryoshka truncation: TruncatedEncoder, loadEncoder({ truncateDim }), and collections that record it. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Collection } from '../../src/collection/collection.ts';
import { readManifest } from '../../src/collection/manifest.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadEncoder } from '../../src/encoders/load-encoder.ts';
import { TruncatedEncoder, checkTruncateDim, truncateRows, withTruncateDim } from '../../src/encoders/truncated-encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { createServer } from '../../src/server/app.ts';
import { CLI } from '../helpers/cli-bin.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';

const tmp = tempDir('truncated-encoder');
const TEXTS = scifactDocs(20, 1000).map((t) => t.slice(0, 200));
let modelDir: string;
let full: Encoder;
let short: Encoder;

before(async () => {
  modelDir = await syntheticModel(tmp.dir, 'bi', { tiny: true });
  full = await loadEncoder(modelDir);
  short = await loadEncoder(modelDir, { truncateDim: 16 });
});
after(async () => {
  await Promise.all([full?.close(), short?.close()]);
  tmp.cleanup();
});

describe('TruncatedEncoder', () => {
  test('the first d components of each vector, renormalized when the model normalizes', async () => {
    assert.ok(full.dims > 16 && full.normalized);
    assert.ok(short instanceof TruncatedEncoder);
    assert.equal(short.dims, 16);
    assert.equal(short.truncateDim, 16);
    const a = await full.encode(TEXTS, { role: 'query' });
    const b = await short.encode(TEXTS, { role: 'query' });
    assert.equal(b.dims, 16);
    for (let r = 0; r < a.rows; r++) {
      const head = Array.from(a.data.subarray(r * a.dims, r * a.dims + 16));
      const norm = Math.hypot(...head);
      head.forEach((x, j) => assert.ok(Math.abs(b.data[r * 16 + j] - x / norm) < 1e-6));
    }
    assert.deepEqual(Array.from(truncateRows(new Float32Array([3, 4, 5, 0, 0, 7]), 2, 3, 2, false)), [3, 4, 0, 0]);
    assert.equal(withTruncateDim(full, full.dims), full);
    assert.equal(withTruncateDim(full, undefined), full);
    for (const bad of [0, full.dims + 1, 2.5, '8']) assert.throws(() => checkTruncateDim(bad, full.dims), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(loadEncoder(modelDir, { truncateDim: full.dims + 1 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  });
});

describe('a collection of truncated vectors', () => {
  test('records truncateDim; the full-size model is ENCODER_MISMATCH; the CLI and the server search it truncated', async () => {
    const dir = join(tmp.dir, 'mrl');
    const c = await Collection.create(dir, { encoder: short, index: { kind: 'flat' } });
    await c.upsert(TEXTS.map((text, i) => ({ id: `t${i}`, text })));
    const hits = await c.search(TEXTS[3], { k: 1 });
    assert.equal(hits[0].id, 't3');
    await c.close();
    const manifest = readManifest(dir);
    assert.equal(manifest.encoder.truncateDim, 16);
    assert.equal(manifest.dims, 16);
    await assert.rejects(Collection.open(dir, { encoder: full }), (e) => isBiencoderError(e, 'ENCODER_MISMATCH') && /truncateDim|dims/.test((e as Error).message));
    const again = await Collection.open(dir, { encoder: short, readOnly: true });
    await assert.rejects(again.search(new Float32Array(full.dims).fill(0.1)), (e) => isBiencoderError(e, 'DIMENSION_MISMATCH'));
    await again.close();

    // The CLI loads the manifest's model with its truncation, to index into it and to search it.
    writeFileSync(join(tmp.dir, 'more.txt'), 'Telomeres shorten with each cell division.');
    const indexed = spawnSync(process.execPath, [...CLI, 'index', join(tmp.dir, 'more.txt'), '--collection', dir, '--json', '--no-progress'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(indexed.status, 0, indexed.stderr);
    assert.equal((JSON.parse(indexed.stdout) as { inserted: number }).inserted, 1);
    const r = spawnSync(process.execPath, [...CLI, 'search', TEXTS[5], '--collection', dir, '-k', '1', '--mode', 'dense', '--json'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { hits: { id: string }[] }).hits[0].id, 't5');

    // So does the server (its encoder pool holds the full model; the collection gets it truncated).
    const app = await createServer({ collections: { mrl: dir }, encoders: [full] });
    try {
      const res = await app.inject({ method: 'POST', url: '/collections/mrl/search', payload: { query: TEXTS[7], k: 1, mode: 'dense' } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().hits[0].id, 't7');
    } finally {
      await app.close();
    }
  });
});
