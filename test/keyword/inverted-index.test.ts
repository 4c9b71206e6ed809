import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvertedIndex } from '../../src/keyword/inverted-index.ts';
import { searchTopK } from '../../src/keyword/keyword-search.ts';
import { loadPostings, savePostings } from '../../src/keyword/postings-file.ts';
import { ExactBm25 } from '../helpers/exact-bm25.ts';
import { tempDir } from '../helpers/synthetic.ts';

/** mulberry32: a seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const whitespace = { spec: { language: 'x', name: 'whitespace', version: 1 }, terms: (t: string): string[] => t.split(' ').filter((w) => w !== '') };

/** Zipf-distributed words over a vocabulary: frequent words in most documents, as in text. */
function zipfWords(rnd: () => number, vocabulary: number): () => string {
  const cdf = new Float64Array(vocabulary);
  let sum = 0;
  for (let i = 0; i < vocabulary; i++) cdf[i] = sum += 1 / (i + 1);
  return () => {
    const r = rnd() * sum;
    let lo = 0;
    let hi = vocabulary - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    return `w${lo}`;
  };
}

/** Checks the engine's top k against brute-force BM25 over the same live documents. */
function assertExact(index: InvertedIndex, truth: Map<number, string>, queries: readonly string[][], label: string): number {
  const keys = [...truth.keys()];
  const exact = new ExactBm25(keys.map((k) => whitespace.terms(truth.get(k)!)));
  let compared = 0;
  queries.forEach((q, qi) => {
    const k = [1, 3, 10, 100][qi % 4];
    const accept = qi % 5 === 0 ? (key: number): boolean => key % 3 === 0 : undefined;
    const all = [...exact.scoreAll(q)].map(([i, score]) => ({ key: keys[i], score })).filter((h) => accept === undefined || accept(h.key));
    all.sort((a, b) => b.score - a.score || a.key - b.key);
    const want = all.slice(0, k);
    const byKey = new Map(all.map((h) => [h.key, h.score]));
    const got = searchTopK(index, q, k, { accept, strategy: 'max-score' });
    // scoring every match term at a time gives the same list, bit for bit
    const taat = searchTopK(index, q, k, { accept, strategy: 'term-at-a-time' });
    assert.deepEqual([taat.keys, taat.scores], [got.keys, got.scores], `${label}: query ${qi}: the two strategies differ`);
    assert.equal(got.count, want.length, `${label}: query ${qi} (${q.join(' ')}) k ${k}`);
    for (let i = 0; i < want.length; i++) {
      // the same score at every rank; the key may differ only between documents whose exact scores tie
      assert.ok(Math.abs(got.scores[i] - want[i].score) <= 1e-9 * want[i].score, `${label}: query ${qi} rank ${i}: ${got.scores[i]} vs ${want[i].score}`);
      assert.ok(Math.abs(byKey.get(got.keys[i])! - got.scores[i]) <= 1e-9 * got.scores[i], `${label}: query ${qi} rank ${i}: key ${got.keys[i]} does not score ${got.scores[i]}`);
      compared++;
    }
  });
  return compared;
}

test('top-k equals brute-force BM25 through adds, text changes, deletes, merges and filters', () => {
  const rnd = prng(17);
  const word = zipfWords(rnd, 3000);
  const text = (): string => Array.from({ length: 3 + Math.floor(rnd() * 60) }, word).join(' ');
  const queries = (): string[][] => Array.from({ length: 24 }, () => Array.from({ length: 1 + Math.floor(rnd() * 8) }, word));
  const index = new InvertedIndex(whitespace);
  const truth = new Map<number, string>();
  let next = 1;
  let compared = 0;
  for (let round = 0; round < 10; round++) {
    // enough postings per round that the tail passes its merge threshold (2^18) at least once
    const batch = Array.from({ length: round === 4 ? 14000 : 500 }, () => ({ key: next++, text: text() }));
    for (const d of batch) truth.set(d.key, d.text);
    index.add(batch);
    const keys = [...truth.keys()];
    const changed = Array.from({ length: 60 }, () => ({ key: keys[Math.floor(rnd() * keys.length)], text: text() }));
    for (const d of changed) truth.set(d.key, d.text);
    index.add(changed);
    const gone = Array.from({ length: 90 }, () => keys[Math.floor(rnd() * keys.length)]).filter((k) => truth.delete(k));
    assert.equal(index.remove([...new Set(gone)]), new Set(gone).size);
    assert.equal(index.remove([gone[0] ?? 1e9]), 0, 'removing a removed key is a no-op');
    assert.equal(index.size, truth.size);
    compared += assertExact(index, truth, queries(), `round ${round}`);
    if (round % 3 === 2) {
      index.compact();
      compared += assertExact(index, truth, queries(), `compacted ${round}`);
    }
  }
  assert.ok(compared > 1000, `${compared} ranks compared`);
});

test('a query term given twice weighs double (the FTS5 query summed repeated stems)', () => {
  const index = new InvertedIndex(whitespace);
  index.add([{ key: 1, text: 'a b' }, { key: 2, text: 'a c' }, { key: 3, text: 'c d' }, { key: 4, text: 'e f' }]);
  const once = searchTopK(index, ['a'], 10);
  const twice = searchTopK(index, ['a', 'a'], 10);
  assert.equal(twice.count, 2);
  assert.ok(Math.abs(twice.scores[0] - 2 * once.scores[0]) < 1e-12);
  assert.equal(searchTopK(index, [], 10).count, 0);
  assert.equal(searchTopK(index, ['zzz'], 10).count, 0);
  assert.equal(searchTopK(index, ['a'], 0).count, 0);
  // ties go to the lower key
  assert.deepEqual([...searchTopK(index, ['a'], 1).keys], [1]);
});

test('postings files round-trip; another analyzer, BM25 parameters or a damaged file are refused with a reason', () => {
  const dir = tempDir('postings');
  try {
    const rnd = prng(5);
    const word = zipfWords(rnd, 500);
    const index = new InvertedIndex(whitespace);
    const truth = new Map<number, string>();
    for (let key = 1; key <= 800; key++) truth.set(key, Array.from({ length: 5 + Math.floor(rnd() * 30) }, word).join(' '));
    index.add([...truth].map(([key, text]) => ({ key, text })));
    index.remove([3, 4, 5]);
    for (const k of [3, 4, 5]) truth.delete(k);
    const path = join(dir.dir, 'p.postings');
    savePostings(index, path);
    const loaded = loadPostings(path, whitespace, index.params);
    assert.ok(loaded.index !== undefined, 'loaded');
    const queries = Array.from({ length: 20 }, () => Array.from({ length: 1 + Math.floor(rnd() * 5) }, word));
    assertExact(loaded.index, truth, queries, 'loaded');
    loaded.index.add([{ key: 9000, text: 'w1 w2 new' }]);
    truth.set(9000, 'w1 w2 new');
    assertExact(loaded.index, truth, queries, 'loaded, then added to');

    const other = loadPostings(path, { ...whitespace, spec: { ...whitespace.spec, version: 2 } }, index.params);
    assert.match(other.index === undefined ? other.reason : '', /analyzer whitespace@1/);
    const params = loadPostings(path, whitespace, { k1: 0.9, b: 0.4 });
    assert.match(params.index === undefined ? params.reason : '', /BM25 parameters/);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(path, bytes);
    const damaged = loadPostings(path, whitespace, index.params);
    assert.match(damaged.index === undefined ? damaged.reason : '', /damaged/);
    assert.match((loadPostings(join(dir.dir, 'missing'), whitespace, index.params) as { reason: string }).reason, /could not be read/);
  } finally {
    dir.cleanup();
  }
});

test('document frequencies stay exact when documents holding a term are deleted', () => {
  const index = new InvertedIndex(whitespace);
  index.add(Array.from({ length: 100 }, (_, i) => ({ key: i + 1, text: i < 60 ? 'common rare' : 'common other' })));
  assert.equal(index.documentFrequency(index.termId('rare')), 60);
  index.remove(Array.from({ length: 50 }, (_, i) => i + 1));
  assert.equal(index.documentFrequency(index.termId('rare')), 10);
  assert.equal(index.documentFrequency(index.termId('common')), 50);
  index.add([{ key: 60, text: 'other' }]); // a text change drops the old text's terms
  assert.equal(index.documentFrequency(index.termId('rare')), 9);
});

test('exact ties go to the lower key whatever k is (a document\'s score is summed in one order)', () => {
  const rnd = prng(2);
  const texts = Array.from({ length: 6 }, () => Array.from({ length: 4 + Math.floor(rnd() * 6) }, () => `w${Math.floor(rnd() * 5)}`).join(' '));
  const index = new InvertedIndex(whitespace);
  const docs = Array.from({ length: 200 }, (_, i) => ({ key: i + 1, text: texts[Math.floor(rnd() * texts.length)] }));
  index.add(docs);
  for (const [q, strategy] of [['w0', 'w3', 'w2', 'w2'], ['w1', 'w4'], ['w0', 'w1', 'w2', 'w3', 'w4']].flatMap((q) => (['max-score', 'term-at-a-time'] as const).map((s) => [q, s] as const))) {
    const all = searchTopK(index, q, 1000, { strategy });
    for (const k of [1, 3, 6, 20]) {
      const top = searchTopK(index, q, k, { strategy });
      assert.deepEqual([...top.keys], [...all.keys.subarray(0, k)], `query ${q.join(' ')} k ${k} ${strategy}`);
      assert.deepEqual([...top.scores], [...all.scores.subarray(0, k)]);
    }
    // within a run of equal scores the keys ascend
    for (let i = 1; i < all.count; i++) if (all.scores[i] === all.scores[i - 1]) assert.ok(all.keys[i] > all.keys[i - 1]);
  }
});

test('a merge drops terms no live document holds: the dictionary does not grow under churn', () => {
  const index = new InvertedIndex(whitespace);
  let key = 1;
  for (let round = 0; round < 5; round++) {
    const batch = Array.from({ length: 2000 }, () => ({ key: key++, text: `common unique${key} other${key % 7}` }));
    index.add(batch);
    index.remove(batch.slice(0, 1990).map((d) => d.key));
    index.compact();
  }
  assert.equal(index.size, 50);
  assert.ok(index.termCount <= 50 + 8, `${index.termCount} terms for 50 documents`);
  assert.equal(searchTopK(index, ['common'], 100).count, 50);
  assert.equal(index.documentFrequency(index.termId('common')), 50);
});

test('a postings file with empty sections (documents without terms) loads', () => {
  const dir = tempDir('postings-empty');
  try {
    for (const texts of [[], ['', ''], ['only one']]) {
      const index = new InvertedIndex(whitespace);
      index.add(texts.map((text, i) => ({ key: i + 1, text })));
      const path = join(dir.dir, `p${texts.length}.postings`);
      savePostings(index, path);
      const loaded = loadPostings(path, whitespace, index.params);
      assert.ok(loaded.index !== undefined, loaded.index === undefined ? loaded.reason : '');
      assert.equal(loaded.index.size, texts.length);
    }
  } finally {
    dir.cleanup();
  }
});

test('a term repeated more than 65,535 times in one document counts 65,535 times (16-bit term frequencies)', () => {
  const index = new InvertedIndex(whitespace);
  const many = Array.from({ length: 70_000 }, () => 'a').join(' ');
  index.add([{ key: 1, text: many }, { key: 2, text: 'b c' }, { key: 3, text: 'c d' }]);
  const got = searchTopK(index, ['a'], 1);
  const n = 3;
  const avg = (70_000 + 2 + 2) / n;
  const tf = 65_535;
  const want = Math.log((n - 1 + 0.5) / (1 + 0.5)) * (tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * 70_000) / avg));
  assert.ok(Math.abs(got.scores[0] - want) < 1e-12, `${got.scores[0]} vs ${want}`);
});
