import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { loadBeirDataset } from '../../src/eval/beir.ts';
import { evaluateRun } from '../../src/eval/metrics.ts';
import { fuseRuns, runDataset, tuneConvexFusion, tuneConvexWeight } from '../../src/eval/runner.ts';
import { buildReport, formatTable } from '../../src/eval/report.ts';
import { metricsChartSvg } from '../../src/eval/chart.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { CountingEncoder } from '../collection/helpers.ts';
import { writeMiniBeir } from './helpers.ts';

let root: { dir: string; cleanup: () => void };
let encoder: CountingEncoder;
before(async () => {
  root = tempDir('eval-runner');
  encoder = new CountingEncoder(await loadOnnxEncoder(await syntheticModel(root.dir, 'tiny', { tiny: true })));
});
after(async () => {
  await encoder.close();
  root.cleanup();
});

test('runDataset: every index kind, BM25 and hybrid; the cache is reused without re-embedding', async () => {
  writeMiniBeir(join(root.dir, 'mini'));
  const dataset = loadBeirDataset(join(root.dir, 'mini'));
  assert.equal(dataset.queries.length, 12);
  const cacheDir = join(root.dir, 'cache');
  const options = {
    encoder, cacheDir, indexes: ['flat', 'hnsw', 'i8', 'binary'] as const, k: 20,
    hybrid: [{ name: 'hybrid_rrf', fusion: 'rrf' as const }, { name: 'hybrid_convex', fusion: 'convex' as const, weight: 0.5, normalization: 'zscore' as const, candidates: 25 }],
  };
  const first = await runDataset(dataset, options);
  assert.equal(first.corpus.embedded, 30);
  assert.equal(first.corpus.cached, false);
  assert.ok(first.corpus.docsPerSecond! > 0);
  assert.equal(encoder.documents, 30);
  const names = first.retrievers.map((r) => r.name);
  assert.deepEqual(names, ['flat', 'hnsw', 'i8', 'binary', 'bm25', 'hybrid_rrf', 'hybrid_convex']);
  const by = new Map(first.retrievers.map((r) => [r.name, r]));
  // 30 documents: HNSW, i8 + rescore and binary + rescore find the exact neighbours.
  for (const kind of ['hnsw', 'i8', 'binary']) {
    for (const m of ['ndcg@10', 'recall@100', 'mrr@10']) assert.ok(Math.abs(by.get(kind)!.metrics[m] - by.get('flat')!.metrics[m]) < 1e-6, `${kind} ${m}`);
  }
  assert.equal(by.get('i8')!.index!.kind, 'hnsw');
  assert.deepEqual([by.get('i8')!.index, by.get('binary')!.index].map((s) => (s as { quantization: string }).quantization), ['i8', 'b1']);
  // Title queries: BM25 finds each query's document first.
  assert.equal(by.get('bm25')!.metrics['mrr@10'], 1);
  assert.equal(by.get('bm25')!.metrics['recall@10'], 1);
  assert.ok(by.get('bm25')!.metrics['ndcg@10'] > by.get('flat')!.metrics['ndcg@10'], 'random synthetic weights are weaker than BM25');
  assert.deepEqual(by.get('hybrid_convex')!.fusion, { method: 'convex', weight: 0.5, normalization: 'zscore', candidates: 25 });
  assert.equal(by.get('hybrid_rrf')!.fusion!.candidates, 1000, 'the library default candidates per side');
  // The hybrid runs are the fusions of the flat and BM25 runs (searched as deep as the candidates: all 30 documents).
  assert.equal(first.runs.dense.get(dataset.queries[0].id)!.length, 30);
  const fused = fuseRuns(first.runs.dense, first.runs.keyword, { name: 'x', fusion: 'rrf' }, 20);
  assert.deepEqual(evaluateRun(fused, dataset.qrels).mean, by.get('hybrid_rrf')!.metrics);
  const fusedConvex = fuseRuns(first.runs.dense, first.runs.keyword, { name: 'x', fusion: 'convex', weight: 0.5, normalization: 'zscore', candidates: 25 }, 20);
  assert.deepEqual(evaluateRun(fusedConvex, dataset.qrels).mean, by.get('hybrid_convex')!.metrics);
  // Fewer candidates per side fuse other lists (title queries are easy enough that both may score perfectly).
  assert.notDeepEqual(fuseRuns(first.runs.dense, first.runs.keyword, { name: 'x', fusion: 'convex', weight: 0.5, normalization: 'zscore' }, 20, 2), fusedConvex, 'candidates matter');
  for (const r of first.retrievers) assert.ok(r.searchQueriesPerSecond > 0, r.name);

  const before = encoder.documents;
  const second = await runDataset(dataset, options);
  assert.equal(encoder.documents, before, 'nothing re-embedded');
  assert.equal(second.corpus.embedded, 0);
  assert.equal(second.corpus.cached, true);
  assert.equal(second.corpus.docsPerSecond, first.corpus.docsPerSecond);
  assert.deepEqual(second.retrievers.map((r) => r.metrics), first.retrievers.map((r) => r.metrics));

  const report = buildReport(first, encoder, { perQuery: true });
  assert.equal(report.retrievers.length, 7);
  assert.equal(Object.keys(report.perQuery!).length, 12);
  assert.equal(report.versions.model.id, encoder.modelId);
  assert.match(report.versions.sqlite, /^3\./);
  assert.ok(!('evaluation' in report.retrievers[0]));
  const table = formatTable(first.retrievers.map((r) => ({ name: r.name, metrics: r.metrics })), ['ndcg@10', 'recall@100']);
  assert.match(table, /^retriever\s+ndcg@10\s+recall@100\n-+\nflat\s+\d\.\d{4}/);
  const svg = metricsChartSvg(first.retrievers.map((r) => ({ name: r.name, values: r.metrics })), { title: 'mini <test>', metrics: ['ndcg@10', 'mrr@10'] });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /mini &lt;test&gt;/);
  assert.equal((svg.match(/<rect x="[\d.]+" y="[\d.]+" width="20"/g) ?? []).length, 14);
});

test('tuneConvexWeight picks the grid weight with the best nDCG@10 (BM25-heavy on title queries)', async () => {
  const dataset = loadBeirDataset(join(root.dir, 'mini'));
  const run = await runDataset(dataset, { encoder, cacheDir: join(root.dir, 'cache'), modes: ['dense', 'keyword'], k: 20 });
  const tuning = tuneConvexWeight(run.runs.dense, run.runs.keyword, dataset.qrels, { k: 20, step: 0.25 });
  assert.deepEqual(tuning.grid.map((g) => g.weight), [0, 0.25, 0.5, 0.75, 1]);
  assert.equal(tuning.best, Math.max(...tuning.grid.map((g) => g.value)));
  assert.equal(tuning.grid[0].value, 1, 'weight 0 is BM25 alone: every title query finds its document first');
  assert.equal(tuning.weight, 0);
});

test('tuneConvexFusion searches normalization x candidates x weight jointly; ties keep the earliest', async () => {
  const dataset = loadBeirDataset(join(root.dir, 'mini'));
  const run = await runDataset(dataset, { encoder, cacheDir: join(root.dir, 'cache'), modes: ['dense', 'keyword'], k: 30 });
  const tuning = tuneConvexFusion(run.runs.dense, run.runs.keyword, dataset.qrels, { normalizations: ['zscore', 'minmax'], candidates: [30, 5], step: 0.5, k: 20 });
  assert.deepEqual(tuning.grid.map((g) => `${g.normalization}/${g.candidates}/${g.weight}`), [
    'zscore/5/0', 'zscore/5/0.5', 'zscore/5/1', 'zscore/30/0', 'zscore/30/0.5', 'zscore/30/1',
    'minmax/5/0', 'minmax/5/0.5', 'minmax/5/1', 'minmax/30/0', 'minmax/30/0.5', 'minmax/30/1',
  ]);
  assert.equal(tuning.best, Math.max(...tuning.grid.map((g) => g.value)));
  // BM25 alone (weight 0) finds every title query's document first: 1 everywhere it is tried, so the first one wins.
  assert.deepEqual([tuning.normalization, tuning.candidates, tuning.weight, tuning.best], ['zscore', 5, 0, 1]);
  // Each grid value is what fuseRuns + evaluateRun give for that configuration.
  for (const g of tuning.grid) {
    const fused = fuseRuns(run.runs.dense, run.runs.keyword, { name: 'x', fusion: 'convex', weight: g.weight, normalization: g.normalization }, 20, g.candidates);
    assert.equal(evaluateRun(fused, dataset.qrels, { cutoffs: [10] }).mean['ndcg@10'], g.value, `${g.normalization}/${g.candidates}/${g.weight}`);
  }
  assert.ok(tuning.grid.some((g) => g.value < 1), 'dense alone is weaker');
  assert.throws(() => tuneConvexFusion(run.runs.dense, run.runs.keyword, dataset.qrels, { metric: 'ndcg' }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => tuneConvexFusion(run.runs.dense, run.runs.keyword, dataset.qrels, { step: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});

test('a cache directory holding another index spec is refused', async () => {
  const dataset = loadBeirDataset(join(root.dir, 'mini'));
  const { renameSync } = await import('node:fs');
  const cacheDir = join(root.dir, 'cache');
  renameSync(join(cacheDir, 'hnsw'), join(cacheDir, 'hnsw-saved'));
  renameSync(join(cacheDir, 'i8'), join(cacheDir, 'hnsw'));
  await assert.rejects(runDataset(dataset, { encoder, cacheDir, indexes: ['hnsw'], modes: ['dense'] }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});

test('a corpus that shrinks or changes is mirrored into every cached collection', async () => {
  const { Collection } = await import('../../src/collection/collection.ts');
  const dir = join(root.dir, 'changing');
  const cacheDir = join(root.dir, 'changing-cache');
  writeMiniBeir(dir, 20, 5);
  await runDataset(loadBeirDataset(dir), { encoder, cacheDir, indexes: ['flat', 'hnsw'], modes: ['dense'] });
  const { corpus } = writeMiniBeir(dir, 16, 5);
  const { writeFileSync } = await import('node:fs');
  corpus[0].text = 'completely rewritten abstract about zebrafish';
  writeFileSync(join(dir, 'corpus.jsonl'), `${corpus.map((d) => JSON.stringify(d)).join('\n')}\n`);
  const before = encoder.documents;
  const run = await runDataset(loadBeirDataset(dir), { encoder, cacheDir, indexes: ['flat', 'hnsw'], modes: ['dense', 'keyword'] });
  assert.equal(encoder.documents - before, 1, 'only the changed document is embedded again');
  assert.equal(run.corpus.documents, 16);
  for (const kind of ['flat', 'hnsw']) {
    const c = await Collection.open(join(cacheDir, kind), { readOnly: true });
    try {
      assert.equal(c.count(), 16, kind);
      assert.deepEqual((await c.search('zebrafish', { mode: 'keyword', k: 1 })).map((h) => h.id), [corpus[0]._id]);
    } finally {
      await c.close();
    }
  }
});
