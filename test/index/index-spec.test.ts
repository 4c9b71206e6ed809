import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createIndex, loadIndex, resolveIndexSpec, DEFAULT_INDEX_SPEC } from '../../src/index/index-spec.ts';
import { FlatIndex } from '../../src/index/flat-index.ts';
import { HnswIndex } from '../../src/index/hnsw-index.ts';
import { expectCode } from '../helpers/error-codes.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { randomMatrix, sequentialKeys } from './data.ts';

test('resolveIndexSpec fills in defaults and survives JSON', () => {
  assert.deepEqual(resolveIndexSpec(), { kind: 'flat' });
  assert.deepEqual(DEFAULT_INDEX_SPEC, { kind: 'flat' });
  const h = resolveIndexSpec({ kind: 'hnsw' });
  assert.deepEqual(h, { kind: 'hnsw', connectivity: 16, expansionAdd: 128, expansionSearch: 64, quantization: 'f32', rescore: 1 });
  assert.deepEqual(resolveIndexSpec({ kind: 'hnsw', quantization: 'i8' }), { ...h, quantization: 'i8', rescore: 4, expansionSearch: 128 });
  assert.deepEqual(resolveIndexSpec({ kind: 'hnsw', quantization: 'b1' }), { ...h, quantization: 'b1', rescore: 32 });
  const custom = resolveIndexSpec({ kind: 'hnsw', connectivity: 32, expansionSearch: 100, rescore: 8, quantization: 'f16' });
  assert.deepEqual(resolveIndexSpec(JSON.parse(JSON.stringify(custom))), custom);
});

test('resolveIndexSpec rejects bad specs with INVALID_ARGUMENT naming the field', () => {
  expectCode(() => resolveIndexSpec(null), 'INVALID_ARGUMENT');
  expectCode(() => resolveIndexSpec({ kind: 'ivf' }), 'INVALID_ARGUMENT', /unknown index kind/);
  expectCode(() => resolveIndexSpec({ kind: 'flat', connectivity: 4 }), 'INVALID_ARGUMENT', /connectivity/);
  expectCode(() => resolveIndexSpec({ kind: 'hnsw', efSearch: 10 }), 'INVALID_ARGUMENT', /efSearch/);
  expectCode(() => resolveIndexSpec({ kind: 'hnsw', quantization: 'int8' }), 'INVALID_ARGUMENT', /quantization/);
  expectCode(() => resolveIndexSpec({ kind: 'hnsw', connectivity: 1 }), 'INVALID_ARGUMENT', /connectivity/);
  expectCode(() => resolveIndexSpec({ kind: 'hnsw', expansionAdd: -5 }), 'INVALID_ARGUMENT', /expansionAdd/);
  expectCode(() => resolveIndexSpec({ kind: 'hnsw', expansionSearch: 1.5 }), 'INVALID_ARGUMENT', /expansionSearch/);
  expectCode(() => resolveIndexSpec({ kind: 'hnsw', rescore: '4' }), 'INVALID_ARGUMENT', /rescore/);
});

test('createIndex and loadIndex: flat and hnsw (load and view)', async () => {
  const { dir, cleanup } = tempDir('spec');
  try {
    const m = randomMatrix(400, 12, 1);
    const q = randomMatrix(3, 12, 2);
    const flat = createIndex({ kind: 'flat' }, { dims: 12, metric: 'dot' });
    assert.ok(flat instanceof FlatIndex);
    flat.add(sequentialKeys(400), m);
    await flat.save(join(dir, 'f'));
    assert.deepEqual(loadIndex(join(dir, 'f'), { kind: 'flat' }).search(q, 5), flat.search(q, 5));
    expectCode(() => loadIndex(join(dir, 'f'), { kind: 'flat' }, { view: true }), 'INVALID_ARGUMENT');

    const spec = resolveIndexSpec({ kind: 'hnsw', quantization: 'i8', connectivity: 8 });
    const h = createIndex(spec, { dims: 12, metric: 'cosine' });
    assert.ok(h instanceof HnswIndex);
    assert.equal(h.connectivity, 8);
    h.add(sequentialKeys(400), m);
    await h.save(join(dir, 'h'));
    const loaded = loadIndex(join(dir, 'h'), spec);
    const viewed = loadIndex(join(dir, 'h'), spec, { view: true }) as HnswIndex;
    assert.deepEqual(loaded.search(q, 5), h.search(q, 5));
    assert.deepEqual(viewed.search(q, 5), h.search(q, 5));
    assert.equal(viewed.readOnly, true);
    viewed.close();
    // The spec must describe the file.
    expectCode(() => loadIndex(join(dir, 'h'), { kind: 'hnsw', quantization: 'i8', connectivity: 16 }), 'INDEX_CORRUPT', /connectivity/);
    expectCode(() => loadIndex(join(dir, 'h'), { kind: 'flat' }), 'INDEX_CORRUPT');
    expectCode(() => loadIndex(join(dir, 'f'), spec), 'NOT_FOUND');
    expectCode(() => loadIndex(join(dir, 'h'), spec, { dims: 13 }), 'DIMENSION_MISMATCH');
    expectCode(() => createIndex({ kind: 'hnsw' }, { dims: 0, metric: 'cosine' }), 'INVALID_ARGUMENT');
  } finally {
    cleanup();
  }
});
