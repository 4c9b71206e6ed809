import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlatIndex } from '../../src/index/flat-index.ts';
import { HnswIndex } from '../../src/index/hnsw-index.ts';
import { exactSearch } from '../../src/index/exact-search.ts';
import { matrixFrom, matrixFromRows, type Matrix } from '../../src/matrix.ts';
import { expectCode } from '../helpers/error-codes.ts';
import type { IndexMetric, IndexMatches } from '../../src/index/vector-index.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { randomMatrix, rowsOf, sequentialKeys } from './data.ts';

/** The reference: every score in double precision, a full sort, ties by key. */
function naive(base: Matrix, keys: BigUint64Array, queries: Matrix, k: number, metric: IndexMetric, filter?: (key: bigint) => boolean): { keys: bigint[]; scores: number[] }[] {
  const d = base.dims;
  const out = [];
  for (let q = 0; q < queries.rows; q++) {
    const scored: [bigint, number][] = [];
    for (let r = 0; r < base.rows; r++) {
      if (filter && !filter(keys[r])) continue;
      let dot = 0, na = 0, nb = 0, l2 = 0;
      for (let j = 0; j < d; j++) {
        const a = queries.data[q * d + j];
        const b = base.data[r * d + j];
        dot += a * b; na += a * a; nb += b * b; l2 += (a - b) * (a - b);
      }
      const s = metric === 'dot' ? dot : metric === 'l2' ? -Math.sqrt(l2) : na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
      scored.push([keys[r], s]);
    }
    scored.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    const top = scored.slice(0, k);
    out.push({ keys: top.map((t) => t[0]), scores: top.map((t) => t[1]) });
  }
  return out;
}

/** Equal to the reference: same scores position by position; same keys except where scores tie within 1e-5. */
function assertMatchesReference(got: IndexMatches[], ref: { keys: bigint[]; scores: number[] }[], label: string): void {
  assert.equal(got.length, ref.length);
  for (let q = 0; q < ref.length; q++) {
    assert.equal(got[q].count, ref[q].keys.length, `${label} q${q} count`);
    assert.equal(got[q].keys.length, got[q].count);
    for (let i = 0; i < ref[q].keys.length; i++) {
      assert.ok(Math.abs(got[q].scores[i] - ref[q].scores[i]) < 1e-5, `${label} q${q}[${i}]: score ${got[q].scores[i]} vs ${ref[q].scores[i]}`);
      if (got[q].keys[i] !== ref[q].keys[i]) {
        const tie = ref[q].scores.some((s, j) => ref[q].keys[j] === got[q].keys[i] && Math.abs(s - ref[q].scores[i]) < 1e-5);
        assert.ok(tie, `${label} q${q}[${i}]: key ${got[q].keys[i]} vs ${ref[q].keys[i]} (not a tie)`);
      }
    }
  }
}

describe('FlatIndex: exact search equals a naive full sort', () => {
  // 3,000 x 24 uniform random vectors (keys 0, 7, 14, ...), 40 queries: large enough for the blocked
  // native kernel (several 64-query / row blocks), with ids and scores compared to the reference.
  const base = randomMatrix(3000, 24, 1);
  const keys = BigUint64Array.from({ length: 3000 }, (_, i) => BigInt(i * 7));
  const queries = randomMatrix(40, 24, 2);
  for (const metric of ['cosine', 'dot', 'l2'] as const) {
    test(`${metric}: top-10, top-1 and k > size`, () => {
      const index = new FlatIndex({ dims: 24, metric });
      index.add(keys, base);
      assert.equal(index.size, 3000);
      assertMatchesReference(index.search(queries, 10), naive(base, keys, queries, 10, metric), `${metric} k=10`);
      assertMatchesReference(index.search(queries, 1), naive(base, keys, queries, 1, metric), `${metric} k=1`);
      const small = new FlatIndex({ dims: 24, metric });
      small.add(keys.subarray(0, 50), rowsOf(base, 0, 50));
      const all = small.search(rowsOf(queries, 0, 3), 80);
      assert.ok(all.every((m) => m.count === 50), 'k > size returns every vector');
      assertMatchesReference(all, naive(rowsOf(base, 0, 50), keys.subarray(0, 50), rowsOf(queries, 0, 3), 80, metric), `${metric} k>size`);
    });

    test(`${metric}: with a filter, k results among the matching keys`, () => {
      const index = new FlatIndex({ dims: 24, metric });
      index.add(keys, base);
      const filter = (k: bigint): boolean => k % 13n === 0n; // ~1 key in 13
      const got = index.search(queries, 10, { filter });
      assertMatchesReference(got, naive(base, keys, queries, 10, metric, filter), `${metric} filtered`);
      const none = index.search(queries, 10, { filter: () => false });
      assert.ok(none.every((m) => m.count === 0));
    });
  }

  test('the JS kernel and the native kernel agree', () => {
    const index = new FlatIndex({ dims: 24, metric: 'l2' });
    index.add(keys, base);
    const store = (index as unknown as { store: Parameters<typeof exactSearch>[0] }).store;
    const q = new Float32Array(queries.data.subarray(0, 5 * 24));
    const js = exactSearch(store, q, 5, 7, { kernel: 'js' });
    const native = exactSearch(store, q, 5, 7, { kernel: 'native' });
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(Array.from(js[i].rows), Array.from(native[i].rows));
      assert.deepEqual(Array.from(js[i].scores), Array.from(native[i].scores));
    }
  });
});

describe('FlatIndex: contents', () => {
  test('k = 0 gives empty lists; an empty index gives empty lists', () => {
    const index = new FlatIndex({ dims: 4, metric: 'cosine' });
    const q = randomMatrix(2, 4, 3);
    assert.deepEqual(index.search(q, 5).map((m) => m.count), [0, 0]);
    index.add([1n, 2n], randomMatrix(2, 4, 4));
    const r = index.search(q, 0);
    assert.equal(r.length, 2);
    assert.ok(r.every((m) => m.count === 0 && m.keys.length === 0 && m.scores.length === 0));
  });

  test('removal swaps the last row in; removed keys are gone, re-adding brings them back', () => {
    const base = randomMatrix(200, 8, 5);
    const keys = sequentialKeys(200, 1000n);
    const index = new FlatIndex({ dims: 8, metric: 'dot' });
    index.add(keys, base);
    const removed = [1000n, 1050n, 1199n, 99999n];
    assert.equal(index.remove(removed), 3);
    assert.equal(index.size, 197);
    assert.equal(index.has(1050n), false);
    assert.equal(index.has(1051n), true);
    const hits = index.search(base, 200);
    for (const m of hits) for (const k of removed) assert.ok(!m.keys.includes(k));
    // The moved rows still answer for their own keys: each remaining vector finds itself with its exact score.
    const self = index.search(rowsOf(base, 198, 199), 197)[0];
    assert.ok(self.keys.includes(1198n));
    index.add([1050n], rowsOf(base, 50, 51));
    assert.equal(index.size, 198);
    const again = index.search(rowsOf(base, 50, 51), 198)[0];
    assert.ok(again.keys.includes(1050n));
    // Remove everything, then add again.
    assert.equal(index.remove(Array.from(index.search(base, 1000)[0].keys)), 198);
    assert.equal(index.size, 0);
    index.add(keys, base);
    assert.equal(index.size, 200);
  });

  test('adding a present key replaces its vector', () => {
    const index = new FlatIndex({ dims: 2, metric: 'l2' });
    index.add([1n, 2n], matrixFromRows([[0, 0], [10, 10]]));
    index.add([1n], matrixFromRows([[20, 20]]));
    assert.equal(index.size, 2);
    const [m] = index.search(matrixFromRows([[20, 20]]), 2);
    assert.deepEqual(Array.from(m.keys), [1n, 2n]);
    assert.equal(m.scores[0], 0);
    assert.ok(Math.abs(m.scores[1] + Math.sqrt(200)) < 1e-5);
  });

  test('cosine: a zero vector scores 0 against everything, and a zero query scores 0', () => {
    const index = new FlatIndex({ dims: 3, metric: 'cosine' });
    index.add([1n, 2n, 3n], matrixFromRows([[0, 0, 0], [1, 0, 0], [-1, 0, 0]]));
    const [m] = index.search(matrixFromRows([[2, 0, 0]]), 3);
    assert.deepEqual(Array.from(m.keys), [2n, 1n, 3n]);
    assert.deepEqual(Array.from(m.scores), [1, 0, -1]);
    const [z] = index.search(matrixFromRows([[0, 0, 0]]), 3);
    assert.deepEqual(Array.from(z.scores), [0, 0, 0]);
  });

  test('keys at the edges of the 64-bit range; many keys through the key table', () => {
    const index = new FlatIndex({ dims: 2, metric: 'dot' });
    const big = [0n, 1n, 2n ** 32n, 2n ** 32n + 1n, 2n ** 64n - 2n];
    index.add(big, matrixFromRows(big.map((_, i) => [i + 1, 0])));
    for (const k of big) assert.ok(index.has(k));
    assert.equal(index.has(2n ** 33n), false);
    const many = new FlatIndex({ dims: 1, metric: 'dot' });
    const n = 50_000;
    const ks = BigUint64Array.from({ length: n }, (_, i) => BigInt(i) * 0x1_0000_0001n);
    many.add(ks, matrixFrom(Float32Array.from({ length: n }, (_, i) => i), 1));
    assert.equal(many.remove(Array.from(ks.subarray(0, n / 2))), n / 2);
    for (let i = 0; i < n; i += 997) assert.equal(many.has(ks[i]), i >= n / 2, `key ${i}`);
    assert.equal(many.get(ks[n - 1])![0], n - 1);
  });
});

describe('FlatIndex: input checks', () => {
  const index = new FlatIndex({ dims: 4, metric: 'cosine' });
  index.add([1n, 2n], randomMatrix(2, 4, 9));

  test('wrong dims: DIMENSION_MISMATCH for vectors and queries', () => {
    expectCode(() => index.add([3n], randomMatrix(1, 5, 1)), 'DIMENSION_MISMATCH');
    expectCode(() => index.search(randomMatrix(1, 3, 1), 1), 'DIMENSION_MISMATCH');
  });

  test('NaN or Infinity: INVALID_VECTOR naming the row, nothing added', () => {
    const m = randomMatrix(3, 4, 2);
    m.data[2 * 4 + 1] = Number.NaN;
    expectCode(() => index.add([10n, 11n, 12n], m), 'INVALID_VECTOR', /row 2/);
    assert.equal(index.size, 2);
    assert.equal(index.has(10n), false);
    const q = randomMatrix(2, 4, 3);
    q.data[5] = Number.POSITIVE_INFINITY;
    expectCode(() => index.search(q, 1), 'INVALID_VECTOR', /row 1/);
  });

  test('keys: count mismatch, duplicates in one add, bad values', () => {
    expectCode(() => index.add([1n], randomMatrix(2, 4, 1)), 'INVALID_ARGUMENT', /1 keys for 2 vectors/);
    expectCode(() => index.add([7n, 8n, 7n], randomMatrix(3, 4, 1)), 'INVALID_ARGUMENT', /appears twice.*rows 0 and 2/);
    assert.equal(index.has(7n), false, 'nothing added');
    expectCode(() => index.add([-1n], randomMatrix(1, 4, 1)), 'INVALID_ARGUMENT');
    expectCode(() => index.add([2n ** 64n - 1n], randomMatrix(1, 4, 1)), 'INVALID_ARGUMENT', /reserved/);
    expectCode(() => index.add([1 as unknown as bigint], randomMatrix(1, 4, 1)), 'INVALID_ARGUMENT');
  });

  test('k: negative or fractional is INVALID_ARGUMENT', () => {
    expectCode(() => index.search(randomMatrix(1, 4, 1), -1), 'INVALID_ARGUMENT');
    expectCode(() => index.search(randomMatrix(1, 4, 1), 1.5), 'INVALID_ARGUMENT');
    expectCode(() => index.search(randomMatrix(1, 4, 1), Number.NaN), 'INVALID_ARGUMENT');
  });

  test('options: bad dims, metric, filter', () => {
    expectCode(() => new FlatIndex({ dims: 0, metric: 'cosine' }), 'INVALID_ARGUMENT');
    expectCode(() => new FlatIndex({ dims: 4, metric: 'manhattan' as IndexMetric }), 'INVALID_ARGUMENT');
    expectCode(() => index.search(randomMatrix(1, 4, 1), 1, { filter: 'x' as unknown as () => boolean }), 'INVALID_ARGUMENT');
  });
});

describe('FlatIndex: save and load', () => {
  test('roundtrip keeps keys, vectors, metric and results', async () => {
    const { dir, cleanup } = tempDir('flat');
    try {
      const base = randomMatrix(500, 16, 11);
      const keys = BigUint64Array.from({ length: 500 }, (_, i) => BigInt(i) * 3n + 2n ** 40n);
      const index = new FlatIndex({ dims: 16, metric: 'cosine' });
      index.add(keys, base);
      index.remove([keys[10], keys[20]]);
      const path = join(dir, 'a.flat');
      await index.save(path);
      const loaded = FlatIndex.load(path);
      assert.equal(loaded.size, 498);
      assert.equal(loaded.metric, 'cosine');
      assert.equal(loaded.dims, 16);
      const q = randomMatrix(5, 16, 12);
      assert.deepEqual(loaded.search(q, 10), index.search(q, 10));
      loaded.add([keys[10]], rowsOf(base, 10, 11));
      assert.equal(loaded.size, 499);
      expectCode(() => FlatIndex.load(path, { dims: 8 }), 'DIMENSION_MISMATCH');
      expectCode(() => FlatIndex.load(path, { metric: 'dot' }), 'INVALID_ARGUMENT');
    } finally {
      cleanup();
    }
  });

  test('missing, truncated, corrupted or foreign files fail clearly', async () => {
    const { dir, cleanup } = tempDir('flat-bad');
    try {
      const index = new FlatIndex({ dims: 8, metric: 'l2' });
      index.add(sequentialKeys(100), randomMatrix(100, 8, 13));
      const path = join(dir, 'a.flat');
      await index.save(path);
      const good = readFileSync(path);
      expectCode(() => FlatIndex.load(join(dir, 'missing.flat')), 'NOT_FOUND');
      truncateSync(path, good.length - 100);
      expectCode(() => FlatIndex.load(path), 'INDEX_CORRUPT', /truncated/);
      truncateSync(path, 10);
      expectCode(() => FlatIndex.load(path), 'INDEX_CORRUPT', /truncated/);
      const flipped = Buffer.from(good);
      flipped[flipped.length - 7] ^= 0x55; // a vector byte
      writeFileSync(path, flipped);
      expectCode(() => FlatIndex.load(path), 'INDEX_CORRUPT', /checksum/);
      const badKey = Buffer.from(good);
      badKey[200] ^= 0x01; // a key byte
      writeFileSync(path, badKey);
      expectCode(() => FlatIndex.load(path), 'INDEX_CORRUPT', /checksum/);
      writeFileSync(path, Buffer.from('definitely not an index file, but long enough for a header.......'));
      expectCode(() => FlatIndex.load(path), 'INDEX_CORRUPT', /magic/);
    } finally {
      cleanup();
    }
  });
});

test('an empty index saves and loads (flat and the HNSW f32 store)', async () => {
  const { dir, cleanup } = tempDir('empty');
  try {
    await new FlatIndex({ dims: 4, metric: 'cosine' }).save(join(dir, 'flat.bin'));
    assert.equal(FlatIndex.load(join(dir, 'flat.bin')).size, 0);
    const h = new HnswIndex({ dims: 4, metric: 'cosine' });
    await h.save(join(dir, 'hnsw.bin'));
    h.close();
    const loaded = HnswIndex.load(join(dir, 'hnsw.bin'));
    assert.equal(loaded.size, 0);
    loaded.close();
  } finally {
    cleanup();
  }
});
