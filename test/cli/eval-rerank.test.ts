/** biencoder eval --rerank: a "<retriever>+rerank" row in the table and the JSON report (tiny synthetic models). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import { loadEncoder } from '../../src/encoders/load-encoder.ts';
import { loadBeirDataset } from '../../src/eval/beir.ts';
import { queryMetrics } from '../../src/eval/metrics.ts';
import { loadCrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';
import { writeMiniBeir } from '../eval/helpers.ts';
import { runCli } from './run-cli.ts';

const tmp = tempDir('cli-eval-rerank');
const mini = join(tmp.dir, 'mini');
const cache = join(tmp.dir, 'cache');
let model: string;
let ceDir: string;

interface Row {
  name: string; mode: string; metrics: Record<string, number>; searchQueriesPerSecond: number;
  fusion?: { method: string; rrfK?: number; candidates: number }; keyword?: { stopwords: string };
  rerank?: { model: string; route: string; top: number; rerankedPerQuery: number; budgetMs: number | null; meanMs: Record<string, number> };
}
interface Report { retrievers: Row[]; perQuery: Record<string, Record<string, Record<string, number>>> }

before(async () => {
  model = await syntheticModel(tmp.dir, 'bi', { tiny: true });
  ceDir = await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 64 });
  writeMiniBeir(mini, 24, 8);
});
after(() => tmp.cleanup());

test('eval --rerank: the default route (hybrid) reranked, in the table and the report; only the order of the top N changes', async () => {
  const out = join(tmp.dir, 'hybrid.json');
  const r = await runCli(['eval', '--dataset', mini, '--model', model, '--collection', cache, '--fusion', 'rrf', '--k', '20',
    '--rerank', ceDir, '--rerank-top', '10', '--out', out, '--per-query']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nhybrid_rrf\+rerank\s+\d\.\d{4}.* ms\/q \(embed [\d.]+, search [\d.]+, rerank [\d.]+; 10 reranked\/q\)/);
  assert.match(r.stderr, /rerank: hybrid_rrf top 10 with .*, 8 queries one at a time/);
  const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
  assert.deepEqual(report.retrievers.map((x) => x.name), ['flat', 'bm25', 'hybrid_rrf', 'hybrid_rrf+rerank']);
  const route = report.retrievers[2];
  const row = report.retrievers[3];
  assert.equal(row.mode, 'hybrid');
  assert.deepEqual(row.fusion, route.fusion, 'the first stage fuses as the route did');
  assert.deepEqual(row.keyword, route.keyword);
  assert.equal(row.rerank!.route, 'hybrid_rrf');
  assert.equal(row.rerank!.model, ceDir);
  assert.equal(row.rerank!.top, 10);
  assert.equal(row.rerank!.rerankedPerQuery, 10);
  assert.equal(row.rerank!.budgetMs, null);
  assert.ok(row.rerank!.meanMs.rerank > 0 && row.rerank!.meanMs.total >= row.rerank!.meanMs.rerank);
  assert.ok(row.searchQueriesPerSecond > 0);
  // Reranking permutes the top 10 of the same 20 candidates: every set metric at 10 and 100 stays the route's, per query.
  for (const [qid, byRetriever] of Object.entries(report.perQuery)) {
    for (const key of ['recall@10', 'precision@10', 'recall@100']) assert.equal(byRetriever['hybrid_rrf+rerank'][key], byRetriever.hybrid_rrf[key], `${qid} ${key}`);
  }
  assert.equal(Object.keys(report.perQuery).length, 8);
});

test('eval --rerank-on flat: metrics of the cross-encoder\'s order of the dense top N', async () => {
  const out = join(tmp.dir, 'flat.json');
  const r = await runCli(['eval', '--dataset', mini, '--model', model, '--collection', cache, '--mode', 'dense', '--k', '10',
    '--rerank', ceDir, '--rerank-top', '6', '--rerank-on', 'flat', '--out', out, '--per-query']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
  assert.deepEqual(report.retrievers.map((x) => x.name), ['flat', 'flat+rerank']);
  // Recompute one query's metrics independently: dense top 10, the top 6 in the cross-encoder's order, then the other 4.
  const dataset = loadBeirDataset(mini);
  const encoder = await loadEncoder(model);
  const reranker = await loadCrossEncoder(ceDir);
  const collection = await Collection.open(join(cache, 'flat'), { encoder, readOnly: true });
  try {
    for (const q of dataset.queries.slice(0, 3)) {
      const hits = await collection.search(q.text, { k: 10 });
      const top = hits.slice(0, 6);
      const order = (await reranker.rank(q.text, top.map((h) => h.text))).map((x) => top[x.index].id);
      const expected = queryMetrics([...order, ...hits.slice(6).map((h) => h.id)], dataset.qrels.get(q.id)!, [1, 3, 5, 10, 100]);
      for (const [key, value] of Object.entries(expected)) assert.ok(Math.abs(report.perQuery[q.id]['flat+rerank'][key] - value) < 1e-12, `${q.id} ${key}`);
    }
  } finally {
    await collection.close();
    await Promise.all([encoder.close(), reranker.close()]);
  }
});

test('eval --rerank: bad routes and stray options', async () => {
  const unknown = await runCli(['eval', '--dataset', mini, '--model', model, '--collection', cache, '--mode', 'keyword', '--rerank', ceDir, '--rerank-on', 'flat', '--out', join(tmp.dir, 'bad.json')]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /\[INVALID_ARGUMENT\]: --rerank-on takes one of the evaluated retrievers \(bm25\)/);
  assert.equal(existsSync(join(tmp.dir, 'bad.json')), false);
  const stray = await runCli(['eval', '--dataset', mini, '--model', model, '--rerank-on', 'flat']);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--rerank-on needs --rerank MODEL/);
  const strayTop = await runCli(['eval', '--dataset', mini, '--model', model, '--rerank-top', '5']);
  assert.equal(strayTop.code, 2);
  const task = await runCli(['eval', '--task', 'xquad', '--model', model, '--rerank', ceDir]);
  assert.equal(task.code, 1);
  assert.match(task.stderr, /--rerank evaluates a BEIR dataset/);
});
