/** Query adapters: the module, its file, training (a check that cannot pass by memorizing), the guards. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryAdapter } from '../../src/tune/query-adapter.ts';
import { matrixSpace, meanNdcg10, trainQueryAdapter } from '../../src/tune/train-query-adapter.ts';
import { crossValidateQueryAdapter } from '../../src/tune/cross-validate.ts';
import type { Matrix } from '../../src/matrix.ts';
import { rng } from '../helpers/prng.ts';
import { expectCode } from '../helpers/error-codes.ts';

function normalizeRows(m: Float32Array, dims: number): void {
  for (let r = 0; r < m.length / dims; r++) {
    let s = 0;
    for (let i = 0; i < dims; i++) s += m[r * dims + i] ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < dims; i++) m[r * dims + i] *= inv;
  }
}

/**
 * Documents: random unit vectors. Queries: each document's vector through a fixed linear distortion
 * M = I + U V^T (rank `distortionRank`), normalized: the relation an adapter must learn, the same for
 * every pair, so held-out pairs (documents never seen in training) can only be found by learning it.
 */
function distorted(n: number, dims: number, distortionRank: number, strength: number, seed: number) {
  const random = rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const docs = new Float32Array(n * dims).map(() => gauss());
  normalizeRows(docs, dims);
  const u = Array.from({ length: distortionRank }, () => Array.from({ length: dims }, () => gauss() * strength / Math.sqrt(dims)));
  const v = Array.from({ length: distortionRank }, () => Array.from({ length: dims }, () => gauss() / Math.sqrt(dims)));
  const queries = new Float32Array(n * dims);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < dims; i++) queries[r * dims + i] = docs[r * dims + i];
    for (let k = 0; k < distortionRank; k++) {
      let dot = 0;
      for (let i = 0; i < dims; i++) dot += docs[r * dims + i] * u[k][i];
      for (let i = 0; i < dims; i++) queries[r * dims + i] += dot * v[k][i] * dims;
    }
  }
  normalizeRows(queries, dims);
  const ids = Array.from({ length: n }, (_, i) => `d${i}`);
  const qids = Array.from({ length: n }, (_, i) => `q${i}`);
  const qrels = new Map(qids.map((q, i) => [q, new Map([[ids[i], 1]])]));
  return { docs: { data: docs, rows: n, dims } as Matrix, queries: { data: queries, rows: n, dims } as Matrix, ids, qids, qrels };
}

function rowsOf(m: Matrix, from: number, to: number): Matrix {
  return { data: m.data.slice(from * m.dims, to * m.dims), rows: to - from, dims: m.dims };
}

async function recallAt10(queries: Matrix, qids: readonly string[], space: ReturnType<typeof matrixSpace>, truth: (q: number) => string): Promise<number> {
  const ranked = await space.search(queries, 10);
  return ranked.filter((list, q) => list.includes(truth(q))).length / queries.rows;
}

test('synthetic: an adapter trained on half the pairs recovers a linear distortion on the other half (documents it never saw): recall@10 >= 0.95', async () => {
  const dims = 32;
  const n = 800;
  const data = distorted(n, dims, 4, 1.5, 7);
  const space = matrixSpace(data.docs, data.ids);
  const half = n / 2;
  const heldQueries = rowsOf(data.queries, half, n);
  const heldIds = data.qids.slice(half);
  const truth = (q: number): string => data.ids[half + q];
  const base = await recallAt10(heldQueries, heldIds, space, truth);
  const trained = await trainQueryAdapter(
    { queries: rowsOf(data.queries, 0, half), queryIds: data.qids.slice(0, half), documents: space, qrels: data.qrels },
    { rank: 8, seed: 3, learningRate: 0.01, epochs: 100, patience: 10 },
  );
  assert.ok(trained.adapter !== undefined, trained.reason);
  const adapted = await recallAt10(trained.adapter.apply(heldQueries), heldIds, space, truth);
  assert.ok(base < 0.6, `the distortion must hurt the base model: recall@10 ${base}`);
  assert.ok(adapted >= 0.95, `held-out recall@10 ${adapted} (base ${base})`);
  console.log(`synthetic: held-out recall@10 ${base} -> ${adapted}`);
  assert.ok(trained.validation.bestNdcg10 > trained.validation.baseNdcg10);
});

test('deterministic given the seed; another seed gives other weights', async () => {
  const data = distorted(300, 16, 2, 3, 11);
  const space = matrixSpace(data.docs, data.ids);
  const run = (seed: number) => trainQueryAdapter({ queries: data.queries, queryIds: data.qids, documents: space, qrels: data.qrels }, { rank: 4, seed, epochs: 5, patience: 5, learningRate: 0.01 });
  const [a, b, c] = [await run(1), await run(1), await run(2)];
  assert.ok(a.adapter && b.adapter && c.adapter);
  assert.equal(a.adapter.weightsSha256(), b.adapter.weightsSha256());
  assert.notEqual(a.adapter.weightsSha256(), c.adapter.weightsSha256());
});

test('validation: its queries\' relevant documents are in no training pair; an adapter that cannot beat the identity is not returned', async () => {
  // Queries equal to their documents: the identity is already perfect on validation, nothing can beat it.
  const data = distorted(200, 16, 1, 0, 5);
  const space = matrixSpace(data.docs, data.ids);
  const seen = new Set<string>();
  const watching = { ...space, vectors: async (ids: readonly string[]) => { ids.forEach((id) => seen.add(id)); return space.vectors(ids); } };
  const r = await trainQueryAdapter({ queries: data.queries, queryIds: data.qids, documents: watching, qrels: data.qrels }, { rank: 4, seed: 1, epochs: 6, patience: 2 });
  assert.equal(r.adapter, undefined);
  assert.match(r.reason!, /no epoch beat the identity/);
  assert.equal(r.validation.baseNdcg10, 1);
  assert.equal(r.validation.queries, 40);
  assert.equal(r.trainingQueries, 160, 'one relevant document each: the other 160 queries keep theirs');
  assert.ok(seen.size > 0);
});

test('cross-validation: every query scored by an adapter that never saw it; folds reported', async () => {
  const data = distorted(400, 16, 2, 3, 13);
  const cv = await crossValidateQueryAdapter({ queries: data.queries, queryIds: data.qids, documents: matrixSpace(data.docs, data.ids), qrels: data.qrels }, 4, { rank: 4, seed: 2, learningRate: 0.01, epochs: 30, patience: 5 });
  assert.equal(cv.folds.length, 4);
  assert.equal(cv.folds.reduce((n, f) => n + f.queries, 0), 400);
  assert.ok(cv.adaptedNdcg10 > cv.baseNdcg10 + 0.1, `${cv.baseNdcg10} -> ${cv.adaptedNdcg10}`);
  const base = await meanNdcg10(data.queries, data.qids, matrixSpace(data.docs, data.ids), data.qrels);
  assert.ok(Math.abs(base - cv.baseNdcg10) < 1e-12);
});

test('the adapter file: round trip, checksum, refused when damaged or of another format; apply() keeps rows unit length', async () => {
  const adapter = QueryAdapter.identity(8, 2, rng(1));
  adapter.b.set([0.5, -0.25, 0.1, 0, 0, 0.3, 0, 0.2, 0.1, 0.1, 0.1, 0.1, -0.1, 0, 0, 0]);
  const bytes = adapter.serialize({ modelId: 'm', revision: 'r' }, { note: 1 });
  const { adapter: back, header } = QueryAdapter.parse(bytes, 'x');
  assert.deepEqual(header.baseModel, { modelId: 'm', revision: 'r' });
  assert.deepEqual([...back.a], [...adapter.a]);
  assert.deepEqual([...back.b], [...adapter.b]);
  const damaged = Buffer.from(bytes);
  damaged[damaged.length - 1] ^= 0xff;
  expectCode(() => QueryAdapter.parse(damaged, 'x'), 'COLLECTION_CORRUPT', /checksum/);
  expectCode(() => QueryAdapter.parse(Buffer.from('{"format":"other"}\n'), 'x'), 'COLLECTION_CORRUPT', /format/);
  expectCode(() => QueryAdapter.parse(bytes.subarray(0, bytes.length - 4), 'x'), 'COLLECTION_CORRUPT', /bytes of weights/);
  const q = { data: new Float32Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0.6, 0.8, 0, 0, 0, 0, 0]), rows: 2, dims: 8 };
  const out = adapter.apply(q);
  for (let r = 0; r < 2; r++) {
    let s = 0;
    for (let i = 0; i < 8; i++) s += out.data[r * 8 + i] ** 2;
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
  expectCode(() => adapter.apply({ data: new Float32Array(4), rows: 1, dims: 4 }), 'DIMENSION_MISMATCH');
  expectCode(() => new QueryAdapter(8, 9, new Float32Array(72), new Float32Array(72)), 'INVALID_ARGUMENT');
});

test('bad training options are refused before any work', async () => {
  const data = distorted(60, 8, 1, 1, 1);
  const base = { queries: data.queries, queryIds: data.qids, documents: matrixSpace(data.docs, data.ids), qrels: data.qrels };
  for (const options of [{ rank: 0 }, { rank: 9 }, { learningRate: -1 }, { validationFraction: 1 }, { hardNegatives: -1 }, { epochs: 1.5 }]) {
    await assert.rejects(trainQueryAdapter(base, options), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT', JSON.stringify(options));
  }
  await assert.rejects(trainQueryAdapter({ ...base, qrels: new Map() }), /at least 10 queries/);
});

test('excluded documents (cross-validation\'s held-out fold) are in no training pair and no hard negative', async () => {
  const data = distorted(300, 16, 2, 1.5, 17);
  const space = matrixSpace(data.docs, data.ids);
  const calls: string[][] = [];
  const watching = { ...space, vectors: async (ids: readonly string[]) => { calls.push([...ids]); return space.vectors(ids); } };
  const excluded = new Set(data.ids.slice(0, 60));
  await trainQueryAdapter({ queries: data.queries, queryIds: data.qids, documents: watching, qrels: data.qrels }, { rank: 4, seed: 5, epochs: 3, excludeDocuments: excluded });
  assert.equal(calls.length, 2, 'the judged documents, then the vectors training uses');
  const used = calls[1];
  assert.ok(used.length > 150, `${used.length} documents used`);
  assert.deepEqual(used.filter((id) => excluded.has(id)), []);
});
