/**
 * Churn with ascending keys, as a collection makes it (SQLite AUTOINCREMENT rowids, never reused;
 * updates re-add a key, deletes remove it): removed keys never come back in results and re-adding
 * a key replaces it. usearch 2.25.3 (the last release that declares Node 20) fails this within a few
 * rounds (its key table neither counts nor reclaims tombstones: removed keys stay reachable and a
 * re-add throws "Duplicate keys"); 2.26 fixed it, which is why biencoder depends on usearch ^2.26.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HnswIndex } from '../../src/index/hnsw-index.ts';
import { randomMatrix, sequentialKeys } from './data.ts';

test('HnswIndex under remove/add churn with ascending keys: no removed key returns, re-adds replace', () => {
  const dims = 16;
  const index = new HnswIndex({ dims, metric: 'cosine', threads: 1 });
  let next = 0n;
  const live: bigint[] = [];
  const removed = new Set<bigint>();
  let seed = 1;
  const addNew = (n: number): void => {
    const keys = sequentialKeys(n, next);
    index.add(keys, randomMatrix(n, dims, seed++));
    for (const k of keys) live.push(k);
    next += BigInt(n);
  };
  addNew(2000);
  for (let round = 1; round <= 12; round++) {
    const gone = live.splice(0, 1000);
    assert.equal(index.remove(BigUint64Array.from(gone)), gone.length, `round ${round}: every present key is removed`);
    for (const k of gone) removed.add(k);
    addNew(1000);
    // An update: the same keys, new vectors.
    index.add(BigUint64Array.from(live.slice(0, 500)), randomMatrix(500, dims, seed++));
    assert.equal(index.size, live.length, `round ${round}: size`);
    let ghosts = 0;
    for (const m of index.search(randomMatrix(100, dims, seed++), 10)) {
      for (let i = 0; i < m.count; i++) if (removed.has(m.keys[i])) ghosts++;
    }
    assert.equal(ghosts, 0, `round ${round}: removed keys in the results`);
  }
});
