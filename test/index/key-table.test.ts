import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VectorStore } from '../../src/index/vector-store.ts';
import { rng } from './data.ts';

test('VectorStore key table: random puts and deletes agree with a Map (swap-with-last keeps rows right)', () => {
  const store = new VectorStore(2, 'dot');
  const model = new Map<bigint, number>(); // key -> the value stored in its first dimension
  const next = rng(42);
  for (let step = 0; step < 20_000; step++) {
    // Keys cluster in a small space (collisions, re-adds) but span both 32-bit halves.
    const key = (BigInt(Math.floor(next() * 3000)) << 20n) | BigInt(Math.floor(next() * 4));
    if (next() < 0.6) {
      const v = Math.floor(next() * 1e6);
      store.put(BigUint64Array.of(key), Float32Array.of(v, -v));
      model.set(key, v);
    } else {
      assert.equal(store.delete(key), model.delete(key));
    }
  }
  assert.equal(store.size, model.size);
  for (const [key, v] of model) {
    const r = store.rowOf(key);
    assert.ok(r >= 0, `key ${key}`);
    assert.equal(store.row(r)[0], v);
    assert.equal(store.keyAt(r), key);
  }
  assert.equal(store.rowOf(123456789n << 20n), -1);
});
