/** test/helpers/exact-bm25.ts against BM25 computed by hand, and against SQLite FTS5's bm25(). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ExactBm25 } from '../helpers/exact-bm25.ts';

test('scores follow the FTS5 formula, with the idf floor, ties by document order', () => {
  const docs = [['a', 'b', 'a'], ['b', 'c'], ['c', 'd', 'e', 'f'], ['b']];
  const bm25 = new ExactBm25(docs);
  const avgdl = 10 / 4;
  const part = (tf: number, dl: number, idf: number): number => (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * dl) / avgdl));
  const hits = bm25.search(['a', 'b'], 10);
  const idfA = Math.log((4 - 1 + 0.5) / 1.5);
  assert.equal(bm25.idf('b'), 1e-6); // in 3 of 4 documents: ln(1.5/3.5) < 0
  assert.deepEqual(hits.map((h) => h.index), [0, 3, 1]);
  assert.ok(Math.abs(hits[0].score - (part(2, 3, idfA) + part(1, 3, 1e-6))) < 1e-12);
  assert.deepEqual(bm25.search(['zzz'], 10), []);
  assert.deepEqual(new ExactBm25([['x'], ['x']]).search(['x'], 5).map((h) => h.index), [0, 1]);
});

test('the same scores as SQLite FTS5 bm25() on the same tokens', () => {
  const words = ['apple', 'banana', 'cherry', 'date', 'elder', 'fig', 'grape', 'kiwi'];
  let seed = 7;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  const docs = Array.from({ length: 60 }, () => Array.from({ length: 3 + rand(20) }, () => words[rand(words.length)]));
  const db = new Database(':memory:');
  db.exec(`CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61')`);
  const insert = db.prepare('INSERT INTO t(rowid, x) VALUES (?, ?)');
  docs.forEach((d, i) => insert.run(i, d.join(' ')));
  const bm25 = new ExactBm25(docs);
  for (const query of [['apple'], ['kiwi', 'fig'], ['banana', 'cherry', 'date']]) {
    const fts = db.prepare(`SELECT rowid, -bm25(t) AS s FROM t WHERE t MATCH ? ORDER BY s DESC, rowid`).all(query.join(' OR ')) as { rowid: number; s: number }[];
    const ours = bm25.search(query, 1000);
    assert.equal(ours.length, fts.length);
    for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i].score - fts[i].s) < 1e-9, `${query} #${i}: ${ours[i].score} vs ${fts[i].s}`);
  }
  db.close();
});
