/**
 * npm run bench:quality [-- scifact,cranfield,cisi]
 *
 * Retrieval quality of the embedded default (USE lite) on BEIR scifact, cranfield and cisi (test
 * splits): nDCG@10, Recall@100 and MRR@10 for flat (exact), HNSW, i8 + rescore, binary + rescore,
 * BM25 (SQLite FTS5) and hybrid (reciprocal-rank fusion, and convex fusion whose normalization,
 * candidates per side and dense weight are tuned jointly on scifact's train split, then applied
 * unchanged everywhere; the test splits play no part in the choice, which is the library default). Also BM25 with and without
 * English stopword removal, and the gaps against the targets (HNSW / i8 within 0.005 nDCG@10 of
 * flat; tuned hybrid >= max(BM25, dense) on scifact test).
 *
 * Collections are cached in .cache/eval/<dataset>-use-lite/ (the first run embeds the corpora:
 * minutes at USE lite's speed; later runs embed nothing). Human-readable lines first, then one JSON
 * object on the last stdout line.
 *
 * Peer (bench/quality-peer.py, Python + numpy, run in the same process tree): an independent BM25
 * (Lucene formula, no stemming) and an independent metric implementation that re-scores our flat,
 * BM25 and convex-hybrid runs (written to .cache/bench/quality-runs/); the JSON carries the peer's
 * figures, the ratio of our BM25 to it, and the largest metric difference between the two
 * implementations on the same runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadEncoder, DEFAULT_MODEL } from '../src/encoders/load-encoder.ts';
import { loadBeirDataset } from '../src/eval/beir.ts';
import { fuseRuns, runDataset, tuneConvexFusion, type HybridVariant, type RetrieverResult } from '../src/eval/runner.ts';
import type { Run } from '../src/eval/metrics.ts';
import { formatTable, versions } from '../src/eval/report.ts';
import { DEFAULT_CONVEX_WEIGHT, DEFAULT_HYBRID_CANDIDATES, DEFAULT_NORMALIZATION, SCORE_NORMALIZATIONS } from '../src/retriever/fusion.ts';
import { ensurePythonPeers } from './python-peers.ts';

const DATA = join('..', 'shared', 'data');
const datasets = (process.argv[2] ?? 'scifact,cranfield,cisi').split(',').filter(Boolean);
const METRICS = ['ndcg@10', 'recall@100', 'mrr@10'] as const;
const TARGET_GAP = 0.005;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const round = (x: number): number => Math.round(x * 10_000) / 10_000;
const RUNS_DIR = join('.cache', 'bench', 'quality-runs');
/** The convex-fusion search space tuned on scifact train. */
const TUNE_CANDIDATES = [20, 50, 100, 200, 500, 1000];
const TUNE_STEP = 0.01;
function writeRun(path: string, run: Run): void {
  const lines: string[] = [];
  for (const [qid, hits] of run) for (const h of hits.slice(0, 100)) lines.push(`${qid}\t${h.id}\t${h.score}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}
const pick = (r: RetrieverResult): Record<string, number> => Object.fromEntries(METRICS.map((m) => [m, round(r.metrics[m])]));

// The numpy peer is checked (and installed, as root) before the corpora are embedded.
const python = ensurePythonPeers('bench:quality', { numpy: 'python3-numpy' });
const encoder = await loadEncoder(DEFAULT_MODEL);
const cache = (name: string): string => join('.cache', 'eval', `${name}-${DEFAULT_MODEL}`);
try {
  // 1. Tune convex fusion (normalization x candidates per side x dense weight) on scifact train.
  const train = loadBeirDataset(join(DATA, 'scifact'), { split: 'train' });
  log(`tuning convex fusion on scifact train (${train.queries.length} queries)`);
  const depth = Math.max(...TUNE_CANDIDATES);
  const trainRun = await runDataset(train, { encoder, cacheDir: cache('scifact'), modes: ['dense', 'keyword'], k: depth, log });
  const t0 = performance.now();
  const tuning = tuneConvexFusion(trainRun.runs.dense, trainRun.runs.keyword, train.qrels, { normalizations: SCORE_NORMALIZATIONS, candidates: TUNE_CANDIDATES, step: TUNE_STEP, k: 100 });
  log(`tuned ${tuning.grid.length} configurations in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const trainBm25 = trainRun.retrievers.find((r) => r.name === 'bm25')!.metrics['ndcg@10'];
  const trainDense = trainRun.retrievers.find((r) => r.name === 'flat')!.metrics['ndcg@10'];
  const tuned: HybridVariant = { name: 'hybrid_convex', fusion: 'convex', weight: tuning.weight, normalization: tuning.normalization, candidates: tuning.candidates };
  const isDefault = tuning.weight === DEFAULT_CONVEX_WEIGHT && tuning.normalization === DEFAULT_NORMALIZATION && tuning.candidates === DEFAULT_HYBRID_CANDIDATES;
  console.log(`convex fusion tuned on scifact train (${train.queries.length} queries; ${tuning.grid.length} configurations): ${tuning.normalization}, ${tuning.candidates} candidates per side, dense weight ${tuning.weight}: nDCG@10 ${tuning.best.toFixed(4)} (BM25 ${trainBm25.toFixed(4)}, dense ${trainDense.toFixed(4)})`);
  console.log(`  library defaults: ${DEFAULT_NORMALIZATION}, ${DEFAULT_HYBRID_CANDIDATES} candidates, weight ${DEFAULT_CONVEX_WEIGHT}${isDefault ? ' (the same)' : ' -- DIFFERENT: update src/retriever/fusion.ts'}`);
  const bestPerSetting: { normalization: string; candidates: number; weight: number; value: number }[] = [];
  for (const g of tuning.grid) {
    const at = bestPerSetting.find((b) => b.normalization === g.normalization && b.candidates === g.candidates);
    if (at === undefined) bestPerSetting.push({ ...g });
    else if (g.value > at.value + 1e-12) Object.assign(at, g);
  }
  console.log('  best weight per normalization x candidates (train nDCG@10):');
  for (const n of SCORE_NORMALIZATIONS) {
    console.log(`    ${n.padEnd(6)} ${bestPerSetting.filter((b) => b.normalization === n).map((b) => `${b.candidates}: w ${b.weight.toFixed(2)} ${b.value.toFixed(4)}`).join(' | ')}`);
  }

  const results: Record<string, Record<string, Record<string, number>>> = {};
  const speed: Record<string, unknown> = {};
  const gaps: Record<string, unknown> = {};
  const stopwords: Record<string, unknown> = {};
  const peers: Record<string, unknown> = {};
  mkdirSync(RUNS_DIR, { recursive: true });
  for (const name of datasets) {
    const dataset = loadBeirDataset(join(DATA, name));
    log(`${name}: ${dataset.corpus.length} documents, ${dataset.queries.length} test queries`);
    const run = await runDataset(dataset, {
      encoder, cacheDir: cache(name), indexes: ['flat', 'hnsw', 'i8', 'binary'], k: 100, log,
      hybrid: [{ name: 'hybrid_rrf', fusion: 'rrf' }, tuned],
    });
    const noStop = await runDataset(dataset, { encoder, cacheDir: cache(name), modes: ['keyword'], k: 100, stopwords: 'none' });
    const by = new Map(run.retrievers.map((r) => [r.name, r]));
    results[name] = Object.fromEntries(run.retrievers.map((r) => [r.name, pick(r)]));
    stopwords[name] = { english: round(by.get('bm25')!.metrics['ndcg@10']), none: round(noStop.retrievers[0].metrics['ndcg@10']) };
    speed[name] = {
      documents: run.corpus.documents,
      encodeDocsPerSecond: run.corpus.docsPerSecond === null ? null : round(run.corpus.docsPerSecond),
      queryEncodeQueriesPerSecond: round(run.queryEncoding.queriesPerSecond),
      searchQueriesPerSecond: Object.fromEntries(run.retrievers.map((r) => [r.name, Math.round(r.searchQueriesPerSecond)])),
    };
    const flat = by.get('flat')!.metrics['ndcg@10'];
    const dense = flat;
    const bm25 = by.get('bm25')!.metrics['ndcg@10'];
    const convex = by.get('hybrid_convex')!.metrics['ndcg@10'];
    const rrf = by.get('hybrid_rrf')!.metrics['ndcg@10'];
    gaps[name] = {
      hnswMinusFlat: round(by.get('hnsw')!.metrics['ndcg@10'] - flat),
      i8MinusFlat: round(by.get('i8')!.metrics['ndcg@10'] - flat),
      binaryMinusFlat: round(by.get('binary')!.metrics['ndcg@10'] - flat),
      hnswWithinTarget: Math.abs(by.get('hnsw')!.metrics['ndcg@10'] - flat) <= TARGET_GAP,
      i8WithinTarget: Math.abs(by.get('i8')!.metrics['ndcg@10'] - flat) <= TARGET_GAP,
      bm25MinusDense: round(bm25 - dense),
      convexMinusBest: round(convex - Math.max(bm25, dense)),
      rrfMinusBest: round(rrf - Math.max(bm25, dense)),
      convexAtLeastBest: convex >= Math.max(bm25, dense),
    };
    console.log(`\n${name} test (${run.queries} queries, ${run.corpus.documents} documents; corpus encode ${run.corpus.docsPerSecond?.toFixed(1) ?? '?'} docs/s, queries ${run.queryEncoding.queriesPerSecond.toFixed(1)}/s)`);
    console.log(formatTable(run.retrievers.map((r) => ({ name: r.name, metrics: r.metrics, extra: `${r.searchQueriesPerSecond.toFixed(0)} q/s` })), [...METRICS]));
    const runFiles: Record<string, string> = {};
    const fusedConvex = fuseRuns(run.runs.dense, run.runs.keyword, tuned, 100);
    for (const [retriever, r] of [['flat', run.runs.dense], ['bm25', run.runs.keyword], ['hybrid_convex', fusedConvex]] as const) {
      runFiles[retriever] = join(RUNS_DIR, `${name}-${retriever}.tsv`);
      writeRun(runFiles[retriever], r);
    }
    try {
      const out = execFileSync(python, [join('bench', 'quality-peer.py'), join(DATA, name), ...Object.values(runFiles)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const peer = JSON.parse(out) as { bm25: { metrics: Record<string, number>; queriesPerSecond: number }; runs: Record<string, Record<string, number>>; numpy: string };
      let maxDiff = 0;
      for (const [retriever, path] of Object.entries(runFiles)) {
        for (const m of METRICS) maxDiff = Math.max(maxDiff, Math.abs(peer.runs[path][m] - round(by.get(retriever)!.metrics[m])));
      }
      peers[name] = {
        peer: 'python numpy BM25 (Lucene formula, k1 1.2, b 0.75, no stemming) + independent trec_eval-rule metrics',
        peerBm25: peer.bm25.metrics,
        peerBm25QueriesPerSecond: peer.bm25.queriesPerSecond,
        ratioBm25Ndcg10: round(by.get('bm25')!.metrics['ndcg@10'] / peer.bm25.metrics['ndcg@10']),
        metricsMaxAbsDifferenceOnSameRuns: round(maxDiff),
        numpy: peer.numpy,
      };
      console.log(`peer BM25 (numpy, no stemming) nDCG@10 ${peer.bm25.metrics['ndcg@10'].toFixed(4)}: ours/peer ${(by.get('bm25')!.metrics['ndcg@10'] / peer.bm25.metrics['ndcg@10']).toFixed(3)}; peer metrics on our runs differ by at most ${maxDiff.toFixed(4)}`);
    } catch (error) {
      peers[name] = { error: `python3 peer failed: ${(error as Error).message.split('\n')[0]}` };
      console.log(`peer failed: ${(error as Error).message.split('\n')[0]}`);
    }
    console.log(`BM25 nDCG@10 with English stopwords removed from queries ${by.get('bm25')!.metrics['ndcg@10'].toFixed(4)}, without ${noStop.retrievers[0].metrics['ndcg@10'].toFixed(4)}`);
  }
  const v = versions(encoder);
  console.log(JSON.stringify({
    bench: 'quality',
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
    model: v.model,
    versions: { biencoder: v.biencoder, sqlite: v.sqlite, usearch: v.usearch },
    convexTuning: {
      tunedOn: `scifact train (${train.queries.length} queries)`, metric: tuning.metric,
      space: { normalizations: SCORE_NORMALIZATIONS, candidates: TUNE_CANDIDATES, weightStep: TUNE_STEP },
      chosen: { normalization: tuning.normalization, candidates: tuning.candidates, weight: tuning.weight },
      trainNdcg10: round(tuning.best), trainBm25Ndcg10: round(trainBm25), trainDenseNdcg10: round(trainDense),
      libraryDefaults: { normalization: DEFAULT_NORMALIZATION, candidates: DEFAULT_HYBRID_CANDIDATES, weight: DEFAULT_CONVEX_WEIGHT }, chosenIsLibraryDefault: isDefault,
      bestPerSetting: bestPerSetting.map((b) => ({ ...b, value: round(b.value) })),
    },
    results,
    gaps,
    bm25Stopwords: stopwords,
    peers,
    speed,
    references: { note: 'published, not measured here', scifactBm25Ndcg10: { beirPaper: 0.665, pyseriniFlat: 0.679 } },
  }));
} finally {
  await encoder.close();
}
