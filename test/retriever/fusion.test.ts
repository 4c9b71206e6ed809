import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_CONVEX_WEIGHT, DEFAULT_HYBRID_CANDIDATES, DEFAULT_NORMALIZATION, SCORE_NORMALIZATIONS,
  combineConvex, convexFusion, fuseRankings, minMaxNormalize, normalizeScores, prepareConvexFusion, reciprocalRankFusion, resolveHybridOptions,
} from '../../src/retriever/fusion.ts';
import { isBiencoderError } from '../../src/errors.ts';

const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('reciprocal-rank fusion: 1/(k + rank), summed over the lists', () => {
  const dense = [{ id: 'a', score: 0.9 }, { id: 'b', score: 0.8 }, { id: 'c', score: 0.1 }];
  const keyword = [{ id: 'c', score: 12 }, { id: 'a', score: 3 }];
  const fused = reciprocalRankFusion([dense, keyword], 60);
  assert.deepEqual(fused.map((h) => h.id), ['a', 'c', 'b']);
  close(fused[0].score, 1 / 61 + 1 / 62);
  close(fused[1].score, 1 / 63 + 1 / 61);
  close(fused[2].score, 1 / 62);
});

test('reciprocal-rank fusion breaks ties by first appearance (dense first)', () => {
  const fused = reciprocalRankFusion([[{ id: 'x', score: 1 }], [{ id: 'y', score: 1 }]], 60);
  assert.deepEqual(fused.map((h) => h.id), ['x', 'y']);
});

test('min-max normalization, including constant and empty lists', () => {
  assert.deepEqual(minMaxNormalize([3, 1, 2]), [1, 0, 0.5]);
  assert.deepEqual(minMaxNormalize([5, 5]), [1, 1]);
  assert.deepEqual(minMaxNormalize([]), []);
});

test('convex fusion: weight x dense + (1 - weight) x keyword of normalized scores; missing counts 0', () => {
  const dense = [{ id: 'a', score: 0.9 }, { id: 'b', score: 0.5 }, { id: 'c', score: 0.1 }];
  const keyword = [{ id: 'c', score: 20 }, { id: 'd', score: 10 }, { id: 'a', score: 0 }];
  const fused = convexFusion(dense, keyword, 0.25, 'minmax');
  const byId = new Map(fused.map((h) => [h.id, h.score]));
  close(byId.get('a')!, 0.25 * 1 + 0.75 * 0);
  close(byId.get('b')!, 0.25 * 0.5);
  close(byId.get('c')!, 0.25 * 0 + 0.75 * 1);
  close(byId.get('d')!, 0.75 * 0.5);
  assert.deepEqual(fused.map((h) => h.id), ['c', 'd', 'a', 'b']);
  // weight 1 is the dense ranking, weight 0 the keyword ranking (then the rest)
  assert.deepEqual(convexFusion(dense, keyword, 1, 'minmax').slice(0, 3).map((h) => h.id), ['a', 'b', 'c']);
  assert.deepEqual(convexFusion(dense, keyword, 0, 'minmax').slice(0, 3).map((h) => h.id), ['c', 'd', 'a']);
});

test('fuseRankings keeps k and follows the resolved options', () => {
  const dense = [{ id: 'a', score: 1 }, { id: 'b', score: 0.5 }];
  const keyword = [{ id: 'b', score: 2 }, { id: 'c', score: 1 }];
  assert.deepEqual(fuseRankings(dense, keyword, resolveHybridOptions({ fusion: 'rrf' }, 1), 1).map((h) => h.id), ['b']);
  assert.equal(fuseRankings(dense, keyword, resolveHybridOptions({ fusion: 'convex', weight: 1 }, 3), 3)[0].id, 'a');
});

test('hybrid options: defaults and validation', () => {
  assert.deepEqual(resolveHybridOptions(undefined, 10), { fusion: 'convex', weight: DEFAULT_CONVEX_WEIGHT, normalization: DEFAULT_NORMALIZATION, rrfK: 60, candidates: DEFAULT_HYBRID_CANDIDATES });
  assert.equal(resolveHybridOptions({}, DEFAULT_HYBRID_CANDIDATES + 5).candidates, DEFAULT_HYBRID_CANDIDATES + 5);
  assert.equal(resolveHybridOptions({ normalization: 'zscore' }, 10).normalization, 'zscore');
  assert.equal(resolveHybridOptions({ candidates: 5 }, 10).candidates, 10);
  for (const bad of [{ fusion: 'max' }, { normalization: 'l2' }, { normalization: 1 }, { weight: 1.5 }, { weight: Number.NaN }, { rrfK: -1 }, { candidates: 0 }, { candidates: 2.5 }, { extra: 1 }, []]) {
    assert.throws(() => resolveHybridOptions(bad as never, 10), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'), JSON.stringify(bad));
  }
});

test('z-score and DBSF normalization; the value a missing document gets', () => {
  // mean 2, population std sqrt(2/3)
  const std = Math.sqrt(2 / 3);
  const z = normalizeScores([3, 1, 2], 'zscore');
  [1 / std, -1 / std, 0].forEach((v, i) => close(z.values[i], v));
  close(z.missing, -1 / std);
  const d = normalizeScores([3, 1, 2], 'dbsf');
  [(3 - (2 - 3 * std)) / (6 * std), (1 - (2 - 3 * std)) / (6 * std), 0.5].forEach((v, i) => close(d.values[i], v));
  assert.equal(d.missing, 0);
  // DBSF clips to [0, 1]: with 10 equal scores and one outlier, the outlier is beyond mean + 3 std.
  const clipped = normalizeScores([100, ...Array<number>(10).fill(0)], 'dbsf');
  assert.equal(clipped.values[0], 1);
  assert.deepEqual(normalizeScores([5, 5], 'zscore').values, [0, 0]);
  assert.deepEqual(normalizeScores([5, 5], 'dbsf').values, [1, 1]);
  assert.deepEqual(normalizeScores([], 'zscore'), { values: [], missing: 0 });
  assert.deepEqual(normalizeScores([2, 0], 'minmax'), { values: [1, 0], missing: 0 });
  assert.throws(() => normalizeScores([1, Number.NaN], 'minmax'), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => normalizeScores([1], 'l2' as never), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});

test('convex fusion with z-scores: a document missing from a list gets that list\'s lowest z-score', () => {
  const dense = [{ id: 'a', score: 3 }, { id: 'b', score: 2 }, { id: 'c', score: 1 }];
  const keyword = [{ id: 'b', score: 10 }, { id: 'd', score: 0 }];
  const inputs = prepareConvexFusion(dense, keyword, 'zscore');
  assert.deepEqual(inputs.ids, ['a', 'b', 'c', 'd']);
  const std = Math.sqrt(2 / 3);
  [1 / std, 0, -1 / std, -1 / std].forEach((v, i) => close(inputs.dense[i], v));
  [-1, 1, -1, -1].forEach((v, i) => close(inputs.keyword[i], v));
  const fused = convexFusion(dense, keyword, 0.5, 'zscore');
  assert.deepEqual(fused.map((h) => h.id), ['b', 'a', 'c', 'd']);
  close(fused[0].score, 0.5);
  // c and d tie (both at the floor of each list they miss or trail): first appearance keeps c first
  close(fused[2].score, fused[3].score);
});

test('combineConvex with a limit is the prefix of the full ranking (ties by first appearance)', () => {
  const list = fc.array(fc.record({ id: fc.integer({ min: 0, max: 40 }), score: fc.integer({ min: -5, max: 5 }) }), { maxLength: 40 });
  fc.assert(fc.property(list, list, fc.constantFrom(...SCORE_NORMALIZATIONS), fc.integer({ min: 0, max: 20 }).map((i) => i / 20), fc.integer({ min: 0, max: 50 }),
    (dense, keyword, normalization, weight, limit) => {
      const inputs = prepareConvexFusion(dense, keyword, normalization);
      const all = combineConvex(inputs, weight);
      assert.equal(new Set(all.map((h) => h.id)).size, all.length, 'each id once');
      for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].score >= all[i].score);
      assert.deepEqual(combineConvex(inputs, weight, limit), all.slice(0, limit));
    }), { numRuns: 300 });
});
