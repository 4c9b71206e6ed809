import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HnswIndex } from '../../src/index/hnsw-index.ts';
import { VectorStore } from '../../src/index/vector-store.ts';
import { batchSearchOrder } from '../../src/index/batch-order.ts';
import { prepareRows } from '../../src/index/validate.ts';
import { clusteredMatrix, rowsOf, sequentialKeys } from './data.ts';

const N = 8_000;
const D = 24;
const data = clusteredMatrix(N + 400, D, 40, 1.0, 5);
const base = rowsOf(data, 0, N);
const queries = rowsOf(data, N, N + 400);

test('batchSearchOrder: a permutation grouping queries by nearest anchor; small batches keep their order', () => {
  const store = new VectorStore(D, 'cosine');
  store.put(sequentialKeys(N), prepareRows(base, 'cosine'));
  const order = batchSearchOrder(store, prepareRows(queries, 'cosine'), 400, 1)!;
  assert.ok(order, 'a 400-query batch on 8,000 rows is reordered');
  assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 400 }, (_, i) => i));
  assert.notDeepEqual([...order], Array.from({ length: 400 }, (_, i) => i));
  // Queries from the same cluster (row r belongs to cluster r % 40) mostly end up side by side.
  let sameNext = 0;
  for (let i = 1; i < 400; i++) if ((N + order[i]) % 40 === (N + order[i - 1]) % 40) sameNext++;
  assert.ok(sameNext > 100, `${sameNext} of 399 neighbours in the order share a cluster (given order: 0, a random order: ~10)`);
  assert.equal(batchSearchOrder(store, queries.data, 100, 1), undefined, '100 queries: too few per anchor');
});

test('a reordered batch answers every query exactly as it is answered alone (f32, f16, i8; filtered too)', () => {
  for (const quantization of ['f32', 'f16', 'i8'] as const) {
    const h = new HnswIndex({ dims: D, metric: 'cosine', quantization, threads: 1 });
    h.add(sequentialKeys(N), base);
    const filter = (key: bigint): boolean => key % 3n === 0n;
    const batch = h.search(queries, 10, { ef: 48 });
    const filtered = h.search(queries, 10, { ef: 48, filter });
    for (let q = 0; q < 400; q += 7) {
      assert.deepEqual(h.search(rowsOf(queries, q, q + 1), 10, { ef: 48 })[0], batch[q], `${quantization} query ${q}`);
      // (a lone filtered query may be served by the other strategy, whose scores round differently)
      const alone = h.search(rowsOf(queries, q, q + 1), 10, { ef: 48, filter })[0];
      assert.deepEqual(alone.keys, filtered[q].keys, `${quantization} filtered ${q}`);
      alone.scores.forEach((s, i) => assert.ok(Math.abs(s - filtered[q].scores[i]) < 1e-6));
    }
  }
});
