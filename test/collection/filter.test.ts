import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Collection, DEFAULT_COLLECTION_INDEX } from '../../src/collection/collection.ts';
import { compileFilter, matchesFilter, parseFilter, type Metadata, type MetadataFilter, type JsonScalar } from '../../src/collection/filter.ts';
import type { IndexSpec } from '../../src/collection/index-backend.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { prng, unitVector } from './helpers.ts';

const tmp = tempDir('filter');
after(() => tmp.cleanup());

const DOCS: Record<string, Metadata> = {
  a: { color: 'red', n: 1, tags: ['x', 'y'], nested: { k: 'v', deep: { z: 3 } }, flag: true },
  b: { color: 'blue', n: 2.5, tags: ['y'], flag: false, nul: null },
  c: { color: 'red', n: 10, tags: [], s: 'abc' },
  d: { n: '5', color: ['red', 'green'], 'with space': 1 },
  e: {},
};

const CASES: [MetadataFilter, string][] = [
  [{}, 'abcde'],
  [{ color: 'red' }, 'acd'],
  [{ color: { $eq: 'red' } }, 'acd'],
  [{ color: { $ne: 'red' } }, 'be'],
  [{ color: { $in: ['blue', 'green'] } }, 'bd'],
  [{ color: { $in: [] } }, ''],
  [{ color: { $nin: ['red'] } }, 'be'],
  [{ color: { $nin: [] } }, 'abcde'],
  [{ n: 1 }, 'a'],
  [{ n: 1.0 }, 'a'],
  [{ n: '5' }, 'd'],
  [{ n: 5 }, ''],
  [{ n: { $gt: 1 } }, 'bc'],
  [{ n: { $gte: 1, $lt: 10 } }, 'ab'],
  [{ n: { $lte: 2.5 } }, 'ab'],
  [{ n: { $gt: '4' } }, 'd'],
  [{ n: { $in: [1, 10, '5'] } }, 'acd'],
  [{ n: true }, ''],
  [{ flag: true }, 'a'],
  [{ flag: false }, 'b'],
  [{ flag: 1 }, ''],
  [{ flag: { $in: [true, false] } }, 'ab'],
  [{ nul: null }, 'b'],
  [{ nul: { $exists: true } }, 'b'],
  [{ nul: { $exists: false } }, 'acde'],
  [{ flag: { $exists: true } }, 'ab'],
  [{ 'nested.k': 'v' }, 'a'],
  [{ 'nested.deep.z': { $gte: 3 } }, 'a'],
  [{ 'nested.k': { $exists: true } }, 'a'],
  [{ nested: { $exists: true } }, 'a'],
  [{ 'with space': 1 }, 'd'],
  [{ tags: 'y' }, 'ab'],
  [{ tags: { $in: ['x'] } }, 'a'],
  [{ tags: { $ne: 'y' } }, 'cde'],
  [{ s: { $gte: 'abc' } }, 'c'],
  [{ s: { $gt: 'abc' } }, ''],
  [{ $or: [{ color: 'blue' }, { n: 10 }] }, 'bc'],
  [{ $and: [{ color: 'red' }, { n: { $gt: 5 } }] }, 'c'],
  [{ color: 'red', flag: true }, 'a'],
  [{ $or: [{ $and: [{ color: 'red' }, { tags: 'x' }] }, { nul: null }] }, 'ab'],
];

function sqlMatches(docs: Record<string, Metadata>, filter: MetadataFilter): string {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE docs (key INTEGER PRIMARY KEY, id TEXT, metadata TEXT)');
  const ins = db.prepare('INSERT INTO docs (id, metadata) VALUES (?, ?)');
  for (const [id, m] of Object.entries(docs)) ins.run(id, JSON.stringify(m));
  const { sql, params } = compileFilter(filter);
  const out = (db.prepare(`SELECT id FROM docs WHERE ${sql} ORDER BY id`).pluck().all(params) as string[]).join('');
  db.close();
  return out;
}

function jsMatches(docs: Record<string, Metadata>, filter: MetadataFilter): string {
  return Object.entries(docs).filter(([, m]) => matchesFilter(m, filter)).map(([id]) => id).sort().join('');
}

describe('filter semantics', () => {
  for (const [filter, expected] of CASES) {
    test(`${JSON.stringify(filter)} -> ${expected || '(none)'}`, () => {
      assert.equal(sqlMatches(DOCS, filter), expected, 'SQL');
      assert.equal(jsMatches(DOCS, filter), expected, 'JavaScript');
    });
  }

  test('SQL and JavaScript agree on 400 random filters over 300 random documents', () => {
    const r = prng(1234);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const fields = ['a', 'b', 'c', 'o.x'];
    const scalars: JsonScalar[] = ['p', 'q', 'r', 0, 1, 2, 2.5, -1, true, false, null];
    const value = (): Metadata[string] => {
      const t = r();
      if (t < 0.6) return pick(scalars);
      if (t < 0.85) return Array.from({ length: Math.floor(r() * 3) }, () => pick(scalars));
      return { x: pick(scalars) };
    };
    const docs: Record<string, Metadata> = {};
    for (let i = 0; i < 300; i++) {
      const m: Record<string, Metadata[string]> = {};
      for (const f of ['a', 'b', 'c', 'o']) if (r() < 0.75) m[f] = f === 'o' ? { x: pick(scalars) } : value();
      docs[`d${String(i).padStart(3, '0')}`] = m;
    }
    const cond = (depth: number): MetadataFilter => {
      const t = r();
      if (depth < 2 && t < 0.15) return { [pick(['$and', '$or'])]: [cond(depth + 1), cond(depth + 1)] };
      const f = pick(fields);
      const op = pick(['eq', '$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists']);
      if (op === 'eq') return { [f]: pick(scalars) };
      if (op === '$in' || op === '$nin') return { [f]: { [op]: [pick(scalars), pick(scalars)] } };
      if (op === '$exists') return { [f]: { $exists: r() < 0.5 } };
      if (op.startsWith('$g') || op.startsWith('$l')) return { [f]: { [op]: pick([0, 1, 2, 'p', 'q']) } };
      return { [f]: { [op]: pick(scalars) } };
    };
    let nonTrivial = 0;
    for (let i = 0; i < 400; i++) {
      const filter = cond(0);
      const js = jsMatches(docs, filter);
      assert.equal(sqlMatches(docs, filter), js, JSON.stringify(filter));
      if (js.length > 0 && js.length < 300 * 4) nonTrivial++;
    }
    assert.ok(nonTrivial > 100);
  });
});

describe('filter validation', () => {
  const bad: [unknown, RegExp][] = [
    ['red', /a filter must be a plain object, got string "red"/],
    [null, /got null/],
    [[{ a: 1 }], /got an array/],
    [{ a: [1, 2] }, /filter\.a: expected a string, finite number, boolean or null, got an array \(use \$in/],
    [{ a: { $in: 'x' } }, /filter\.a\.\$in: \$in needs an array of scalars/],
    [{ a: { $in: [{}] } }, /filter\.a\.\$in\[0\]: expected a string/],
    [{ a: { $gt: true } }, /\$gt needs a number or a string, got boolean/],
    [{ a: { $gt: Number.NaN } }, /NaN is not a finite number/],
    [{ a: Number.POSITIVE_INFINITY }, /Infinity is not a finite number/],
    [{ a: { $exists: 1 } }, /\$exists needs true or false/],
    [{ a: { $regex: 'x' } }, /unknown operator \$regex/],
    [{ $not: { a: 1 } }, /filter\.\$not: unknown operator \$not/],
    [{ $and: [] }, /\$and needs a non-empty array/],
    [{ $or: { a: 1 } }, /\$or needs a non-empty array of filters, got an object/],
    [{ $and: [{ a: 1 }, 'x'] }, /filter\.\$and\[1\]: a filter must be a plain object/],
    [{ a: {} }, /empty operator object/],
    [{ a: { b: 1 } }, /"b" is not an operator; to match nested objects use a dotted path \("a\.b"\)/],
    [{ 'a..b': 1 }, /empty path segment/],
    [{ 'a.$b': 1 }, /reserved for operators/],
    [{ 'a"b': 1 }, /quote/],
    [{ a: undefined }, /got undefined/],
    [{ a: 1n }, /got bigint 1/],
    [{ a: new Date(0) }, /got an object|plain object/],
  ];
  for (const [filter, message] of bad) {
    test(`rejects ${String(JSON.stringify(filter, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)))}`, () => {
      assert.throws(() => parseFilter(filter), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT') && message.test((e as Error).message) ? true : assert.fail(`${(e as Error).message} !~ ${message}`));
    });
  }

  test('deep nesting is refused', () => {
    let f: MetadataFilter = { a: 1 };
    for (let i = 0; i < 40; i++) f = { $and: [f] };
    assert.throws(() => parseFilter(f), /nested deeper than 32/);
  });
});

const SPECS: [string, IndexSpec][] = [
  ['flat', { kind: 'flat' }],
  ['hnsw', DEFAULT_COLLECTION_INDEX],
];

for (const [name, spec] of SPECS) {
  test(`every operator filters inside collection searches (${name})`, async () => {
    const dims = 8;
    const c = await Collection.create(join(tmp.dir, name), { encoder: { modelId: 'test/random', dims, normalized: true }, index: spec });
    // Many non-matching neighbours around the 5 documents, so that a post-filter would miss matches.
    const filler = Array.from({ length: 500 }, (_, i) => ({ id: `z${i}`, vector: unitVector(dims, 5, i), metadata: { filler: true } }));
    const named = Object.entries(DOCS).map(([id, metadata], i) => ({ id, vector: unitVector(dims, 6, i), metadata }));
    await c.upsertVectors([...filler, ...named]);
    const query = unitVector(dims, 5, 0);
    for (const [filter, expected] of CASES) {
      if (Object.keys(filter).length === 0) continue;
      const hits = await c.search(query, { k: 5, filter: { $and: [filter, { filler: { $exists: false } }] } });
      assert.equal(hits.map((h) => h.id).sort().join(''), expected, JSON.stringify(filter));
    }
    const fillerHits = await c.search(query, { k: 5, filter: { filler: true } });
    assert.equal(fillerHits.length, 5);
    assert.equal(fillerHits[0].id, 'z0');
    // Filter results are cached per write generation: a write is seen by the next filtered search.
    await c.upsertVectors([{ id: 'late', vector: unitVector(dims, 7, 0), metadata: { color: 'red' } }]);
    assert.equal((await c.search(query, { k: 10, filter: { color: 'red' } })).map((h) => h.id).sort().join(','), 'a,c,d,late');
    await c.delete(['a']);
    assert.equal((await c.search(query, { k: 10, filter: { color: 'red' } })).map((h) => h.id).sort().join(','), 'c,d,late');
    await c.close();
  });
}
