import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { writeMiniBeir } from '../eval/helpers.ts';
import { CLI } from '../helpers/cli-bin.ts';

const tmp = tempDir('cli-eval');
let model: string;
before(async () => {
  model = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
  writeMiniBeir(join(tmp.dir, 'mini'), 24, 8);
});
after(() => tmp.cleanup());

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('biencoder eval: table, JSON report and SVG chart for every retriever', () => {
  const out = join(tmp.dir, 'out', 'report.json');
  const chart = join(tmp.dir, 'out', 'chart.svg');
  const r = cli(['eval', '--dataset', join(tmp.dir, 'mini'), '--model', model, '--index', 'all', '--k', '50', '--tune-on', 'train',
    '--collection', join(tmp.dir, 'cache'), '--out', out, '--chart', chart, '--per-query']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /mini test: 8 queries/);
  for (const name of ['flat', 'hnsw', 'i8', 'binary', 'bm25', 'hybrid_rrf', 'hybrid_convex']) assert.match(r.stdout, new RegExp(`\\n${name}\\s+\\d\\.\\d{4}`));
  const report = JSON.parse(readFileSync(out, 'utf8')) as {
    dataset: string; queries: number; corpus: { documents: number; embedded: number; docsPerSecond: number };
    retrievers: { name: string; metrics: Record<string, number>; fusion?: { weight?: number }; index?: { kind: string } }[];
    convexTuning: { split: string; weight: number; grid: { weight: number; value: number }[] };
    versions: { biencoder: string; node: string }; perQuery: Record<string, unknown>;
  };
  assert.equal(report.dataset, 'mini');
  assert.equal(report.queries, 8);
  assert.equal(report.corpus.documents, 24);
  assert.equal(report.corpus.embedded, 0, 'the tuning run (on train) embedded the corpus; the test run reused it');
  assert.match(r.stderr, /embedded 24\/24 documents/);
  assert.ok(report.corpus.docsPerSecond > 0);
  assert.equal(report.convexTuning.split, 'train');
  assert.equal(report.convexTuning.grid.length, 101, 'weights 0..1 in steps of 0.01');
  assert.equal(report.retrievers.find((x) => x.name === 'hybrid_convex')!.fusion!.weight, report.convexTuning.weight);
  assert.match(r.stdout, new RegExp(`convex weight tuned on train: ${report.convexTuning.weight} `));
  assert.equal(report.retrievers.find((x) => x.name === 'bm25')!.metrics['mrr@10'], 1);
  assert.equal(report.versions.node, process.version);
  assert.equal(Object.keys(report.perQuery).length, 8);
  assert.match(readFileSync(chart, 'utf8'), /^<svg[^>]*>[\s\S]*hybrid_convex[\s\S]*<\/svg>\n$/);

  const again = cli(['eval', '--dataset', join(tmp.dir, 'mini'), '--model', model, '--mode', 'keyword', '--collection', join(tmp.dir, 'cache')]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /\(0 embedded now/);
  assert.doesNotMatch(again.stdout, /\nflat/);
});

test('biencoder eval: bad arguments fail with a clear message and no files', () => {
  const bad = cli(['eval', '--dataset', join(tmp.dir, 'mini'), '--model', model, '--index', 'ivf', '--out', join(tmp.dir, 'bad.json')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /\[INVALID_ARGUMENT\].*--index/);
  assert.equal(existsSync(join(tmp.dir, 'bad.json')), false);
  const missing = cli(['eval', '--dataset', join(tmp.dir, 'nowhere'), '--model', model]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /\[NOT_FOUND\]/);
  assert.equal(cli(['eval', '--model', model]).code, 1);
  assert.equal(cli(['eval', '--task', 'glue']).code, 2);
  const weight = cli(['eval', '--dataset', join(tmp.dir, 'mini'), '--model', model, '--weight', '2']);
  assert.match(weight.stderr, /--weight must be a number in \[0, 1\]/);
  const snoop = cli(['eval', '--dataset', join(tmp.dir, 'mini'), '--model', model, '--tune-on', 'test']);
  assert.equal(snoop.code, 1);
  assert.match(snoop.stderr, /tune on another split/);
});
