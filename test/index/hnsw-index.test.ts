import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, truncateSync, rmSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlatIndex } from '../../src/index/flat-index.ts';
import { HnswIndex, chooseFilterStrategy } from '../../src/index/hnsw-index.ts';
import { expectCode } from '../helpers/error-codes.ts';
import { matrixFromRows } from '../../src/matrix.ts';
import type { IndexMatches } from '../../src/index/vector-index.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { clusteredMatrix, randomMatrix, recallAt, rowsOf, sequentialKeys } from './data.ts';

/** A filter uncorrelated with the clusters: a multiplicative hash of the key, passing ~pct%. */
function hashFilter(pct: number): (key: bigint) => boolean {
  return (key) => (Math.imul(Number(key & 0xffffffffn), 0x9e3779b1) >>> 0) % 10_000 < pct * 100;
}

function assertFilteredExactly(got: IndexMatches[], filter: (k: bigint) => boolean, k: number): void {
  for (const m of got) {
    assert.equal(m.count, k, 'k results whenever k keys match');
    for (const key of m.keys) assert.ok(filter(key), `key ${key} fails the filter`);
    for (let i = 1; i < m.count; i++) assert.ok(m.scores[i] <= m.scores[i - 1] + 1e-6, 'best first');
  }
}

/**
 * The recall dataset: 20,000 vectors + 200 held-out queries, 64-d, 200 Gaussian clusters (centres
 * N(0, 1) per dimension, points = centre + N(0, 1.25^2) noise, so clusters overlap), cosine, k = 10,
 * ground truth by FlatIndex. HNSW M = 16, efConstruction = 128, efSearch = 64 (the defaults) reach
 * recall ~0.98 on it: hard enough that the targets below mean something.
 */
const N = 20_000;
const D = 64;
const NQ = 200;
const data = clusteredMatrix(N + NQ, D, 200, 1.25, 7);
const base = rowsOf(data, 0, N);
const queries = rowsOf(data, N, N + NQ);
const keys = sequentialKeys(N, 1n);

describe('HnswIndex on 20k clustered 64-d vectors', () => {
  let flat: FlatIndex;
  let truth: IndexMatches[];
  const built = new Map<string, HnswIndex>();
  const get = (quantization: 'f32' | 'i8' | 'b1'): HnswIndex => {
    let h = built.get(quantization);
    if (!h) {
      h = new HnswIndex({ dims: D, metric: 'cosine', quantization, threads: 1 }); // one thread: the same graph every run
      h.add(keys, base);
      built.set(quantization, h);
    }
    return h;
  };
  const { dir, cleanup } = tempDir('hnsw');

  before(() => {
    flat = new FlatIndex({ dims: D, metric: 'cosine' });
    flat.add(keys, base);
    truth = flat.search(queries, 10);
  });
  after(cleanup);

  test('f32, default efSearch 64: recall@10 >= 0.95; scores are cosine similarities', () => {
    const h = get('f32');
    assert.equal(h.size, N);
    const got = h.search(queries, 10);
    const r = recallAt(got, truth, 10);
    assert.ok(r >= 0.95, `recall ${r}`);
    // Scores agree with the exact ones for the keys both found.
    for (let q = 0; q < 20; q++) {
      truth[q].keys.forEach((key, i) => {
        const j = got[q].keys.indexOf(key);
        if (j >= 0) assert.ok(Math.abs(got[q].scores[j] - truth[q].scores[i]) < 1e-4);
      });
    }
  });

  test('ef per call: a larger ef gives a higher recall (ef 16 < ef 256 >= 0.99)', () => {
    const h = get('f32');
    const low = recallAt(h.search(queries, 10, { ef: 16 }), truth, 10);
    const high = recallAt(h.search(queries, 10, { ef: 256 }), truth, 10);
    assert.ok(low < high, `${low} vs ${high}`);
    assert.ok(high >= 0.99, `ef 256 recall ${high}`);
    assert.equal(h.expansionSearch, 64, 'the default is untouched');
  });

  test('i8 with exactScores: 32 results are rescored exactly, the others keep an approximate score, best first', () => {
    const h = get('i8');
    const q = rowsOf(queries, 0, 20);
    const full = h.search(q, 300);
    const head = h.search(q, 300, { exactScores: 32 });
    const exact = flat.search(q, N);
    let worst = 0;
    let overlap = 0;
    let setOverlap = 0;
    for (let i = 0; i < 20; i++) {
      assert.equal(head[i].count, 300);
      const exactScore = new Map<bigint, number>();
      exact[i].keys.forEach((key, j) => exactScore.set(key, exact[i].scores[j]));
      let exactCount = 0;
      for (let j = 0; j < 300; j++) {
        const err = Math.abs(head[i].scores[j] - exactScore.get(head[i].keys[j])!);
        if (err < 1e-5) exactCount++;
        else worst = Math.max(worst, err);
        if (j > 0) assert.ok(head[i].scores[j] <= head[i].scores[j - 1], `query ${i}: not best first at ${j}`);
      }
      assert.ok(exactCount >= 32, `query ${i}: ${exactCount} exact scores`);
      const fullTop = new Set(full[i].keys.subarray(0, 32));
      overlap += [...head[i].keys.subarray(0, 32)].filter((key) => fullTop.has(key)).length;
      // nearly the same 300 as a full rescore (which ranks 396 candidates exactly and keeps the best 300)
      const fullSet = new Set(full[i].keys);
      setOverlap += [...head[i].keys].filter((key) => fullSet.has(key)).length;
    }
    assert.ok(worst > 0 && worst < 0.05, `approximate scores off by up to ${worst}`);
    assert.ok(overlap / (20 * 32) >= 0.9, `top-32 overlap with a full rescore ${overlap / 640}`);
    assert.ok(setOverlap / (20 * 300) >= 0.9, `overlap with a full rescore ${setOverlap / 6000}`);
    expectCode(() => h.search(q, 10, { exactScores: 0 }), 'INVALID_ARGUMENT');
  });

  test('i8 + rescore x4 at its default ef 128: recall@10 >= 0.99, and as good as f32 at the same ef', () => {
    // At ef 64 both f32 and i8 stop at ~0.98: the graph, not the int8 vectors, limits recall there,
    // which is why i8's default efSearch is 128; rescoring makes i8 match f32 at every ef.
    const h = get('i8');
    assert.equal(h.rescore, 4);
    assert.equal(h.expansionSearch, 128);
    const i8 = recallAt(h.search(queries, 10), truth, 10);
    const f32 = recallAt(get('f32').search(queries, 10, { ef: 128 }), truth, 10);
    assert.ok(i8 >= 0.99, `i8 recall ${i8}`);
    assert.ok(i8 >= f32 - 0.01, `i8 ${i8} vs f32 ${f32}`);
    // Rescored scores are the exact f32 ones.
    const got = h.search(rowsOf(queries, 0, 5), 10, { ef: 128 });
    const exact = flat.search(rowsOf(queries, 0, 5), 10);
    for (let q = 0; q < 5; q++) {
      got[q].keys.forEach((key, i) => {
        const j = exact[q].keys.indexOf(key);
        if (j >= 0) assert.ok(Math.abs(got[q].scores[i] - exact[q].scores[j]) < 1e-5);
      });
    }
  });

  test('i8 on a long list (k 300, as hybrid candidates ask), its extra candidates tapered past RESCORE_FULL_K: recall as f32', () => {
    const k = 300;
    const longTruth = flat.search(rowsOf(queries, 0, 50), k);
    const i8 = recallAt(get('i8').search(rowsOf(queries, 0, 50), k), longTruth, k);
    const f32 = recallAt(get('f32').search(rowsOf(queries, 0, 50), k), longTruth, k);
    assert.ok(i8 >= f32 - 0.01, `i8 ${i8} vs f32 ${f32} at k ${k}`);
  });

  test('i8 cosine whose first batch is one small-component vector: later rows are not clamped flat (scale floor)', () => {
    // A first vector with every component 1/sqrt(D) (0.125) would set the scale so that anything above
    // 0.125 clamps to 127; these rows reach ~0.5, and clamped codes lose their ranking in the graph.
    // rescore 1: the int8 codes alone pick the candidates, so clamping shows in the recall.
    const h = new HnswIndex({ dims: D, metric: 'cosine', quantization: 'i8', rescore: 1, threads: 1 });
    h.add([0n], matrixFromRows([Array.from({ length: D }, () => 1)]));
    h.add(keys, base);
    const withFirst = new FlatIndex({ dims: D, metric: 'cosine' });
    withFirst.add([0n], matrixFromRows([Array.from({ length: D }, () => 1)]));
    withFirst.add(keys, base);
    const r = recallAt(h.search(queries, 10), withFirst.search(queries, 10), 10);
    assert.ok(r >= 0.95, `recall ${r}`);
  });

  test('b1 + rescore (default x32): recall@10 >= 0.90; x4 is not enough', () => {
    const h = get('b1');
    assert.equal(h.rescore, 32);
    const r = recallAt(h.search(queries, 10), truth, 10);
    assert.ok(r >= 0.9, `b1 recall ${r}`);
    h.rescore = 4;
    const r4 = recallAt(h.search(queries, 10), truth, 10);
    h.rescore = 32;
    assert.ok(r4 < r, `x4 ${r4} vs x32 ${r}`);
  });

  test('bytes per vector shrink with the quantization', () => {
    const sizes = (['f32', 'i8', 'b1'] as const).map((q) => new HnswIndex({ dims: D, metric: 'cosine', quantization: q }).vectorBytes);
    assert.deepEqual(sizes, [256, 64, 8]);
    const f32 = get('f32').memoryUsage();
    assert.ok(f32.bytesPerVector > 256 + 256 && f32.bytesPerVector < 2000, String(f32.bytesPerVector));
    assert.ok(get('b1').bytesPerVector < get('i8').bytesPerVector);
  });

  test('a 1% filter returns k results, all passing, matching the exact filtered top-k', () => {
    const filter = hashFilter(1);
    const exact = flat.search(queries, 10, { filter });
    for (const quantization of ['f32', 'i8', 'b1'] as const) {
      const got = get(quantization).search(queries, 10, { filter });
      assertFilteredExactly(got, filter, 10);
      const r = recallAt(got, exact, 10);
      assert.ok(r >= 0.99, `${quantization} filtered recall ${r}`);
    }
    // Forced through the graph (oversampling, widened for short queries) it still returns k.
    const over = get('f32').search(queries, 10, { filter, filterStrategy: 'oversample' });
    assertFilteredExactly(over, filter, 10);
    assert.ok(recallAt(over, exact, 10) >= 0.95);
  });

  test('filters served by oversampling: uncorrelated 30%, and one that excludes whole clusters', () => {
    const h = get('f32');
    const uncorrelated = hashFilter(30);
    const got = h.search(queries, 10, { filter: uncorrelated, filterStrategy: 'oversample' });
    assertFilteredExactly(got, uncorrelated, 10);
    assert.ok(recallAt(got, flat.search(queries, 10, { filter: uncorrelated }), 10) >= 0.95);
    // Points go to clusters round-robin (key - 1 = row, cluster = row % 200), so this keeps half of the
    // clusters: the queries of excluded clusters have no passing neighbour nearby.
    const clustered = (k: bigint): boolean => Number((k - 1n) % 200n) < 100;
    const got2 = h.search(queries, 10, { filter: clustered, filterStrategy: 'oversample' });
    assertFilteredExactly(got2, clustered, 10);
    const r2 = recallAt(got2, flat.search(queries, 10, { filter: clustered }), 10);
    assert.ok(r2 >= 0.95, `correlated filter recall ${r2}`);
  });

  test('few matches: k > matching gives every match; no match gives empty lists', () => {
    const h = get('f32');
    const five = new Set([5n, 500n, 5000n, 15000n, 19999n]);
    const got = h.search(rowsOf(queries, 0, 3), 10, { filter: (k) => five.has(k) });
    for (const m of got) assert.deepEqual(new Set(m.keys), five);
    assert.ok(h.search(rowsOf(queries, 0, 3), 10, { filter: () => false }).every((m) => m.count === 0));
  });

  test('the strategy model picks exact for selective filters and the graph for broad ones', () => {
    assert.equal(chooseFilterStrategy({ n: 1_000_000, nq: 100, dims: 384, selectivity: 0.001, wanted: 64_000 }), 'exact');
    assert.equal(chooseFilterStrategy({ n: 1_000_000, nq: 100, dims: 384, selectivity: 0.5, wanted: 128 }), 'oversample');
  });

  test('save, load and view serve the same results; view is read-only', async () => {
    for (const quantization of ['f32', 'i8', 'b1'] as const) {
      const h = get(quantization);
      const path = join(dir, `${quantization}.usearch`);
      await h.save(path);
      const loaded = HnswIndex.load(path);
      const viewed = HnswIndex.view(path);
      try {
        assert.equal(loaded.size, N);
        assert.equal(viewed.size, N);
        assert.equal(viewed.readOnly, true);
        assert.equal(loaded.quantization, quantization);
        const q = rowsOf(queries, 0, 50);
        const a = h.search(q, 10);
        assert.deepEqual(loaded.search(q, 10), a, `${quantization} load`);
        assert.deepEqual(viewed.search(q, 10), a, `${quantization} view`);
        const f = hashFilter(1);
        assert.deepEqual(viewed.search(q, 10, { filter: f }), h.search(q, 10, { filter: f }));
        expectCode(() => viewed.add([999_999n], rowsOf(base, 0, 1)), 'READ_ONLY');
        expectCode(() => viewed.remove([1n]), 'READ_ONLY');
        assert.ok(viewed.memoryUsage().mappedBytes! > 0);
        // A loaded index can be modified and saved again.
        loaded.remove([1n, 2n]);
        loaded.add([999_999n], rowsOf(base, 0, 1));
        assert.equal(loaded.size, N - 1);
        await loaded.save(join(dir, `${quantization}-2.usearch`));
        const again = HnswIndex.load(join(dir, `${quantization}-2.usearch`));
        assert.equal(again.has(999_999n), true);
        assert.equal(again.has(1n), false);
        // Saving a view copies its files.
        await viewed.save(join(dir, `${quantization}-copy.usearch`));
        assert.equal(HnswIndex.load(join(dir, `${quantization}-copy.usearch`)).size, N);
      } finally {
        viewed.close();
      }
    }
  });
});

describe('HnswIndex: contents and edge cases', () => {
  test('removal, replacement and re-add (f32 and b1)', () => {
    for (const quantization of ['f32', 'b1'] as const) {
      const m = randomMatrix(300, 16, 21);
      const h = new HnswIndex({ dims: 16, metric: 'l2', quantization, threads: 1 });
      h.add(sequentialKeys(300), m);
      assert.equal(h.remove([0n, 10n, 10n, 5000n]), 2);
      assert.equal(h.size, 298);
      assert.equal(h.has(10n), false);
      for (const r of h.search(m, 5)) assert.ok(!r.keys.includes(0n) && !r.keys.includes(10n));
      // Replace key 20 with the vector of row 30: querying row 30 now finds 20 and 30 at distance 0.
      h.add([20n], rowsOf(m, 30, 31));
      assert.equal(h.size, 298);
      const [top] = h.search(rowsOf(m, 30, 31), 2, { ef: 300 });
      assert.deepEqual(new Set(top.keys), new Set([20n, 30n]));
      assert.deepEqual(Array.from(top.scores), [0, 0]);
      h.add([10n], rowsOf(m, 10, 11));
      assert.equal(h.search(rowsOf(m, 10, 11), 1)[0].keys[0], 10n);
    }
  });

  test('k = 0, empty index, k > size (every vector), small graphs', () => {
    const h = new HnswIndex({ dims: 8, metric: 'dot' });
    assert.deepEqual(h.search(randomMatrix(2, 8, 1), 3).map((m) => m.count), [0, 0]);
    h.add(sequentialKeys(30), randomMatrix(30, 8, 2));
    assert.ok(h.search(randomMatrix(2, 8, 1), 0).every((m) => m.count === 0));
    const all = h.search(randomMatrix(2, 8, 3), 100);
    assert.ok(all.every((m) => m.count === 30 && new Set(m.keys).size === 30));
    const flat = new FlatIndex({ dims: 8, metric: 'dot' });
    flat.add(sequentialKeys(30), randomMatrix(30, 8, 2));
    assert.deepEqual(all, flat.search(randomMatrix(2, 8, 3), 100));
  });

  test('dot and l2 with i8: global int8 scale, rescored exactly', () => {
    for (const metric of ['dot', 'l2'] as const) {
      const m = clusteredMatrix(3000, 32, 30, 1, 5);
      const q = clusteredMatrix(50, 32, 30, 1, 6);
      const flat = new FlatIndex({ dims: 32, metric });
      flat.add(sequentialKeys(3000), m);
      const h = new HnswIndex({ dims: 32, metric, quantization: 'i8' });
      h.add(sequentialKeys(3000), m);
      const r = recallAt(h.search(q, 10, { ef: 128 }), flat.search(q, 10), 10);
      assert.ok(r >= 0.97, `${metric} i8 recall ${r}`);
    }
  });

  test('cosine zero vectors: score 0, in f32, i8 and b1', () => {
    for (const quantization of ['f32', 'i8', 'b1'] as const) {
      const h = new HnswIndex({ dims: 3, metric: 'cosine', quantization });
      h.add([1n, 2n, 3n], matrixFromRows([[0, 0, 0], [1, 0, 0], [-1, 0, 0]]));
      const [m] = h.search(matrixFromRows([[2, 0, 0]]), 3);
      assert.deepEqual(Array.from(m.keys), [2n, 1n, 3n], quantization);
      assert.deepEqual(Array.from(m.scores), [1, 0, -1], quantization);
      const [z] = h.search(matrixFromRows([[0, 0, 0]]), 3);
      assert.deepEqual(Array.from(z.scores), [0, 0, 0], quantization);
    }
  });

  test('input checks: dims, NaN (nothing added), keys, k, ef, options', () => {
    const h = new HnswIndex({ dims: 4, metric: 'cosine' });
    h.add([1n, 2n], randomMatrix(2, 4, 1));
    expectCode(() => h.add([3n], randomMatrix(1, 5, 1)), 'DIMENSION_MISMATCH');
    expectCode(() => h.search(randomMatrix(1, 3, 1), 1), 'DIMENSION_MISMATCH');
    const bad = randomMatrix(2, 4, 2);
    bad.data[6] = Number.NaN;
    expectCode(() => h.add([5n, 6n], bad), 'INVALID_VECTOR', /row 1/);
    assert.equal(h.size, 2);
    assert.equal(h.has(5n), false);
    expectCode(() => h.add([5n], randomMatrix(2, 4, 1)), 'INVALID_ARGUMENT');
    expectCode(() => h.add([5n, 5n], randomMatrix(2, 4, 1)), 'INVALID_ARGUMENT', /twice/);
    assert.equal(h.size, 2);
    expectCode(() => h.search(randomMatrix(1, 4, 1), -2), 'INVALID_ARGUMENT');
    expectCode(() => h.search(randomMatrix(1, 4, 1), 2.5), 'INVALID_ARGUMENT');
    expectCode(() => h.search(randomMatrix(1, 4, 1), 2, { ef: 0 }), 'INVALID_ARGUMENT');
    expectCode(() => h.search(randomMatrix(1, 4, 1), 2, { filterStrategy: 'x' as 'auto' }), 'INVALID_ARGUMENT');
    expectCode(() => new HnswIndex({ dims: 4, metric: 'cosine', quantization: 'i4' as 'i8' }), 'INVALID_ARGUMENT');
    expectCode(() => new HnswIndex({ dims: 4, metric: 'cosine', connectivity: 0 }), 'INVALID_ARGUMENT');
    expectCode(() => new HnswIndex({ dims: 4, metric: 'cosine', rescore: 0.5 }), 'INVALID_ARGUMENT');
    expectCode(() => new HnswIndex({ dims: 4, metric: 'cosine', threads: -1 }), 'INVALID_ARGUMENT');
  });

  test('damaged, truncated, mismatched or missing files fail clearly', async () => {
    const { dir, cleanup } = tempDir('hnsw-bad');
    try {
      const h = new HnswIndex({ dims: 8, metric: 'cosine' });
      h.add(sequentialKeys(500), randomMatrix(500, 8, 3));
      const path = join(dir, 'a.usearch');
      await h.save(path);
      const main = readFileSync(path);
      expectCode(() => HnswIndex.load(join(dir, 'none.usearch')), 'NOT_FOUND');
      expectCode(() => HnswIndex.load(path, { dims: 16 }), 'DIMENSION_MISMATCH');
      truncateSync(path, Math.floor(main.length / 2));
      expectCode(() => HnswIndex.load(path), 'INDEX_CORRUPT');
      expectCode(() => HnswIndex.view(path), 'INDEX_CORRUPT');
      const flipped = Buffer.from(main);
      flipped[100] ^= 0xff;
      writeFileSync(path, flipped);
      expectCode(() => HnswIndex.load(path), 'INDEX_CORRUPT', /does not match/);
      // A graph from another save (same size, other contents) is caught too.
      const other = new HnswIndex({ dims: 8, metric: 'cosine' });
      other.add(sequentialKeys(500, 1000n), randomMatrix(500, 8, 4));
      await other.save(join(dir, 'b.usearch'));
      copyFileSync(join(dir, 'b.usearch'), path);
      expectCode(() => HnswIndex.load(path), 'INDEX_CORRUPT');
      rmSync(path);
      expectCode(() => HnswIndex.load(path), 'INDEX_CORRUPT', /missing/);
      truncateSync(join(dir, 'b.usearch.f32'), 100);
      expectCode(() => HnswIndex.load(join(dir, 'b.usearch')), 'INDEX_CORRUPT', /truncated/);
    } finally {
      cleanup();
    }
  });
});
