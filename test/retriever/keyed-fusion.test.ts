import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convexFusion, SCORE_NORMALIZATIONS, type Scored } from '../../src/retriever/fusion.ts';
import { convexFusionByKey } from '../../src/retriever/keyed-fusion.ts';
import { rng } from '../helpers/prng.ts';

function shuffle<T>(items: T[], rnd: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const keyed = (list: readonly Scored<number>[]) => ({ keys: Float64Array.from(list, (h) => h.id), scores: Float64Array.from(list, (h) => h.score), count: list.length });

test('convexFusionByKey gives convexFusion\'s ranking bit for bit, with the keyword side in any order', () => {
  const rnd = rng(7);
  let compared = 0;
  for (let round = 0; round < 400; round++) {
    const universe = 5 + Math.floor(rnd() * 300);
    // keys beyond 2^32 too (the table hashes both halves); coarse scores make ties common
    const key = (i: number): number => (round % 3 === 0 ? 2 ** 40 + i * 4097 : i * 3 + 1);
    const coarse = round % 2 === 0;
    const score = (): number => (coarse ? Math.floor(rnd() * 4) / 4 : rnd() * 10 - 2);
    const pick = (n: number): number[] => shuffle(Array.from({ length: universe }, (_, i) => i), rnd).slice(0, n);
    const dense = pick(Math.floor(rnd() * universe)).map((i) => ({ id: key(i), score: Math.fround(score()) }));
    dense.sort((a, b) => b.score - a.score); // an index's order: best first (equal scores in any order)
    const keyword = pick(Math.floor(rnd() * universe)).map((i) => ({ id: key(i), score: score() }));
    const sortedKeyword = [...keyword].sort((a, b) => b.score - a.score || a.id - b.id);
    const normalization = SCORE_NORMALIZATIONS[round % 3];
    const weight = [0, 0.18, 0.5, 1, rnd()][round % 5];
    const limit = [1, 10, 50, 300, Number.MAX_SAFE_INTEGER][round % 5];
    const want = convexFusion(dense, sortedKeyword, weight, normalization, limit);
    const got = convexFusionByKey(keyed(dense), keyed(shuffle([...keyword], rnd)), weight, normalization, limit);
    assert.deepEqual(got, want, `round ${round} (${normalization}, weight ${weight}, limit ${limit})`);
    compared += want.length;
  }
  assert.ok(compared > 10_000, `${compared} results compared`);
});

test('convexFusionByKey: empty sides, a repeated dense key, and non-finite scores', () => {
  assert.deepEqual(convexFusionByKey(keyed([]), keyed([]), 0.5, 'minmax', 10), []);
  const dense = [{ id: 1, score: 0.9 }, { id: 2, score: 0.5 }, { id: 1, score: 0.1 }];
  const keyword = [{ id: 3, score: 2 }, { id: 2, score: 1 }];
  for (const normalization of SCORE_NORMALIZATIONS) {
    assert.deepEqual(convexFusionByKey(keyed(dense), keyed(keyword), 0.3, normalization, 10), convexFusion(dense, keyword, 0.3, normalization, 10));
    assert.deepEqual(convexFusionByKey(keyed([]), keyed(keyword), 0.3, normalization, 10), convexFusion([], keyword, 0.3, normalization, 10));
    assert.deepEqual(convexFusionByKey(keyed(dense), keyed([]), 0.3, normalization, 10), convexFusion(dense, [], 0.3, normalization, 10));
  }
  assert.throws(() => convexFusionByKey(keyed([{ id: 1, score: Number.NaN }]), keyed([]), 0.5, 'minmax', 10), { code: 'INVALID_ARGUMENT' });
});
