import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONVEX_WEIGHT, convexFusion, fuseRankings, minMaxNormalize, reciprocalRankFusion, resolveHybridOptions } from '../../src/retriever/fusion.ts';
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
  const fused = convexFusion(dense, keyword, 0.25);
  const byId = new Map(fused.map((h) => [h.id, h.score]));
  close(byId.get('a')!, 0.25 * 1 + 0.75 * 0);
  close(byId.get('b')!, 0.25 * 0.5);
  close(byId.get('c')!, 0.25 * 0 + 0.75 * 1);
  close(byId.get('d')!, 0.75 * 0.5);
  assert.deepEqual(fused.map((h) => h.id), ['c', 'd', 'a', 'b']);
  // weight 1 is the dense ranking, weight 0 the keyword ranking (then the rest)
  assert.deepEqual(convexFusion(dense, keyword, 1).slice(0, 3).map((h) => h.id), ['a', 'b', 'c']);
  assert.deepEqual(convexFusion(dense, keyword, 0).slice(0, 3).map((h) => h.id), ['c', 'd', 'a']);
});

test('fuseRankings keeps k and follows the resolved options', () => {
  const dense = [{ id: 'a', score: 1 }, { id: 'b', score: 0.5 }];
  const keyword = [{ id: 'b', score: 2 }, { id: 'c', score: 1 }];
  assert.deepEqual(fuseRankings(dense, keyword, resolveHybridOptions({ fusion: 'rrf' }, 1), 1).map((h) => h.id), ['b']);
  assert.equal(fuseRankings(dense, keyword, resolveHybridOptions({ fusion: 'convex', weight: 1 }, 3), 3)[0].id, 'a');
});

test('hybrid options: defaults and validation', () => {
  assert.deepEqual(resolveHybridOptions(undefined, 10), { fusion: 'convex', weight: DEFAULT_CONVEX_WEIGHT, rrfK: 60, candidates: 100 });
  assert.equal(resolveHybridOptions({}, 500).candidates, 500);
  assert.equal(resolveHybridOptions({ candidates: 5 }, 10).candidates, 10);
  for (const bad of [{ fusion: 'max' }, { weight: 1.5 }, { weight: Number.NaN }, { rrfK: -1 }, { candidates: 0 }, { candidates: 2.5 }, { extra: 1 }, []]) {
    assert.throws(() => resolveHybridOptions(bad as never, 10), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'), JSON.stringify(bad));
  }
});
