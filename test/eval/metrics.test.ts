import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluateRun, queryMetrics, trecOrder, type Qrels, type RankedHit } from '../../src/eval/metrics.ts';
import { isBiencoderError } from '../../src/errors.ts';

const close = (actual: number, expected: number, what = ''): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
const qrels = (entries: Record<string, Record<string, number>>): Qrels => new Map(Object.entries(entries).map(([q, d]) => [q, new Map(Object.entries(d))]));
const hits = (...ids: string[]): RankedHit[] => ids.map((id, i) => ({ id, score: 100 - i }));

test('hand-computed binary judgements: nDCG, MRR, Recall, P, MAP', () => {
  // Relevant: a, c (and z, never retrieved). Ranked: a x c y.
  const m = queryMetrics(['a', 'x', 'c', 'y'], new Map([['a', 1], ['c', 1], ['z', 1]]), [1, 3, 10]);
  // DCG@3 = 1/log2(2) + 1/log2(4) = 1.5; IDCG@3 = 1 + 1/log2(3) + 1/log2(4) = 2.1309297535714578
  close(m['ndcg@3'], 1.5 / (1 + 1 / Math.log2(3) + 0.5), 'ndcg@3');
  close(m['ndcg@1'], 1, 'ndcg@1');
  close(m['mrr@10'], 1, 'mrr');
  close(m['recall@3'], 2 / 3, 'recall@3');
  close(m['recall@1'], 1 / 3, 'recall@1');
  close(m['precision@3'], 2 / 3, 'P@3');
  // AP@3 = (1/1 + 2/3) / 3 relevant
  close(m['map@3'], (1 + 2 / 3) / 3, 'map@3');
  // Fewer than k results: P@10 still divides by 10; nDCG@10 ideal uses all 3 relevant.
  close(m['precision@10'], 2 / 10, 'P@10');
  close(m['ndcg@10'], 1.5 / (1 + 1 / Math.log2(3) + 0.5), 'ndcg@10');
});

test('graded judgements use linear gains; the ideal ranking sorts all judged grades', () => {
  // grades: a 3, b 2, c 1, d 0. Ranked: c b a.
  const m = queryMetrics(['c', 'b', 'a'], new Map([['a', 3], ['b', 2], ['c', 1], ['d', 0]]), [2, 3]);
  const dcg3 = 1 + 2 / Math.log2(3) + 3 / 2;
  const idcg3 = 3 + 2 / Math.log2(3) + 1 / 2;
  close(m['ndcg@3'], dcg3 / idcg3, 'ndcg@3');
  close(m['ndcg@2'], (1 + 2 / Math.log2(3)) / (3 + 2 / Math.log2(3)), 'ndcg@2');
  close(m['mrr@3'], 1, 'mrr (grade 1 counts as relevant)');
  close(m['recall@2'], 2 / 3, 'recall ignores the grade-0 judgement');
});

test('nothing relevant retrieved gives zeros; a query without relevant documents gives zeros', () => {
  const m = queryMetrics(['x', 'y'], new Map([['a', 2]]), [10]);
  for (const key of ['ndcg@10', 'mrr@10', 'recall@10', 'map@10', 'precision@10']) assert.equal(m[key], 0, key);
  const none = queryMetrics(['x'], new Map([['x', 0]]), [10]);
  assert.equal(none['ndcg@10'], 0);
  assert.equal(none['recall@10'], 0);
  const empty = queryMetrics([], new Map([['a', 1]]), [5]);
  assert.equal(empty['ndcg@5'], 0);
});

test('MRR counts the first relevant rank within k only', () => {
  const m = queryMetrics(['x', 'y', 'a'], new Map([['a', 1]]), [2, 3]);
  assert.equal(m['mrr@2'], 0);
  close(m['mrr@3'], 1 / 3);
});

test('ties are broken by id descending, as trec_eval does', () => {
  const ordered = trecOrder([{ id: 'a', score: 1 }, { id: 'c', score: 1 }, { id: 'b', score: 2 }, { id: 'b', score: 0 }]);
  assert.deepEqual(ordered.map((h) => h.id), ['b', 'c', 'a']);
  // With a tie between a relevant "a" and a non-relevant "c", "c" ranks first.
  const run = new Map([['q', [{ id: 'a', score: 0.5 }, { id: 'c', score: 0.5 }]]]);
  const e = evaluateRun(run, qrels({ q: { a: 1 } }), { cutoffs: [1, 2] });
  assert.equal(e.mean['mrr@2'], 0.5);
  assert.equal(e.mean['precision@1'], 0);
  const given = evaluateRun(run, qrels({ q: { a: 1 } }), { cutoffs: [1], keepOrder: true });
  assert.equal(given.mean['precision@1'], 1);
});

test('evaluateRun: skips unjudged queries, counts missing runs as empty, averages', () => {
  const run = new Map([
    ['q1', hits('a', 'b')],
    ['unjudged', hits('a')],
  ]);
  const e = evaluateRun(run, qrels({ q1: { a: 1 }, q2: { b: 1 } }), { cutoffs: [10] });
  assert.equal(e.queries, 2);
  assert.equal(e.skipped, 1);
  assert.equal(e.perQuery.get('q2')!['recall@10'], 0);
  close(e.mean['recall@10'], 0.5);
  close(e.mean['ndcg@10'], 0.5);
});

test("ignoreIdenticalIds drops a hit whose id equals the query id (BEIR's rule)", () => {
  const run = new Map([['q1', hits('q1', 'a')]]);
  const j = qrels({ q1: { a: 1 } });
  assert.equal(evaluateRun(run, j, { cutoffs: [1] }).mean['recall@1'], 0);
  assert.equal(evaluateRun(run, j, { cutoffs: [1], ignoreIdenticalIds: true }).mean['recall@1'], 1);
});

test('bad arguments are INVALID_ARGUMENT', () => {
  assert.throws(() => evaluateRun(new Map(), new Map(), { cutoffs: [0] }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => evaluateRun(new Map(), new Map(), { cutoffs: [] }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => evaluateRun({} as never, new Map()), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});

// A plain reference, written independently from the definitions (no shared helpers).
function reference(rankedIn: readonly RankedHit[], judged: ReadonlyMap<string, number>, k: number): Record<string, number> {
  const ranked = [...rankedIn].sort((x, y) => (y.score !== x.score ? y.score - x.score : y.id > x.id ? 1 : y.id < x.id ? -1 : 0));
  const seen = new Set<string>();
  const ids = ranked.filter((h) => !seen.has(h.id) && seen.add(h.id)).map((h) => h.id).slice(0, k);
  const rel = (id: string): number => Math.max(0, judged.get(id) ?? 0);
  const R = [...judged.values()].filter((g) => g >= 1).length;
  let dcg = 0;
  ids.forEach((id, i) => (dcg += rel(id) / Math.log2(i + 2)));
  const ideal = [...judged.values()].map((g) => Math.max(0, g)).sort((a, b) => b - a).slice(0, k);
  let idcg = 0;
  ideal.forEach((g, i) => (idcg += g / Math.log2(i + 2)));
  const relevantAt = ids.map((id) => rel(id) >= 1);
  const firstIndex = relevantAt.indexOf(true);
  let found = 0;
  let ap = 0;
  relevantAt.forEach((r, i) => {
    if (r) ap += ++found / (i + 1);
  });
  return {
    ndcg: idcg === 0 ? 0 : dcg / idcg,
    mrr: firstIndex < 0 ? 0 : 1 / (firstIndex + 1),
    recall: R === 0 ? 0 : found / R,
    precision: found / k,
    map: R === 0 ? 0 : ap / R,
  };
}

test('property: metrics equal a plain reference implementation', () => {
  const docId = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
  fc.assert(
    fc.property(
      fc.array(fc.record({ id: docId, score: fc.integer({ min: 0, max: 5 }) }), { maxLength: 12 }),
      fc.dictionary(docId, fc.integer({ min: 0, max: 3 }), { minKeys: 1 }),
      fc.integer({ min: 1, max: 10 }),
      (run, judgedObject, k) => {
        const judged = new Map(Object.entries(judgedObject));
        const got = evaluateRun(new Map([['q', run]]), new Map([['q', judged]]), { cutoffs: [k] }).mean;
        const want = reference(run, judged, k);
        for (const name of ['ndcg', 'mrr', 'recall', 'precision', 'map'] as const) {
          if (Math.abs(got[`${name}@${k}`] - want[name]) > 1e-9) return false;
        }
        return true;
      },
    ),
    { numRuns: 500, seed: 7 },
  );
});
