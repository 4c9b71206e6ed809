/**
 * npm run bench:adapter [-- --seeds 42,43,44] [--rank 32] [--lr 0.001] [--long] [--only synthetic,scifact,cv]
 *
 * Query adapters (issue 19, src/tune): q' = normalize(q + (q A) B), trained from (query, relevant
 * document) pairs with MultipleNegativesRankingLoss + hard negatives, a validation split whose relevant
 * documents leave every training pair, early stopping, and no adapter when none beats the identity on
 * validation. The embedded default model (USE lite); corpora from .cache/eval/<dataset>-use-lite/flat
 * (embedded on first use by ensureCorpusCollection: minutes).
 *
 * - synthetic: 2,000 random unit documents (64-d, seeded); query i = normalize(doc_i M), M = I + a random
 *   rank-8 distortion; trained on the first 1,000 pairs; recall@10 of the other 1,000 queries (adapted)
 *   among all 2,000 documents. Their documents are never training positives, so memorizing cannot pass.
 * - scifact: trained on the train split (809 queries), evaluated on test (300): dense nDCG@10 over every
 *   test query, over the "unseen" ones (no relevant abstract in any train pair) and the "seen" ones (the
 *   memorization trap: the adapter may help them by remembering documents); hybrid (the library's
 *   defaults, tuned on scifact train) with the base vs the adapted query vector as the dense side; the
 *   convex weight re-tuned for the adapted side on the adapter's own validation queries (scifact train
 *   queries whose relevant documents were held out of its training pairs), reported beside it.
 * - cranfield, cisi: 5-fold cross-validation (crossValidateQueryAdapter): every query scored by an
 *   adapter that never saw it.
 * - cost: training time on scifact train; QueryAdapter.apply on one query (median of 5,000 warmed calls)
 *   against USE lite's embedding of one query.
 * - every figure for each seed of --seeds (default 42,43,44: the first is the headline, the library's
 *   default seed), with the spread; the acceptance checks in "passes" (headline seed) and
 *   "passes_every_seed".
 * - --long: also a schedule without early stopping (40 epochs, patience 40) on scifact, each epoch's
 *   weights evaluated on seen and unseen test queries (read from the adapter being trained: the trainer
 *   returns only the best validation epoch's weights, so the bench wraps QueryAdapter.identity to keep a
 *   handle on them; reporting only).
 *
 * Human-readable lines on stdout (progress on stderr), then one JSON object as the last stdout line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Collection } from '../src/collection/collection.ts';
import type { Encoder } from '../src/encoders/encoder.ts';
import { loadEncoder, DEFAULT_MODEL } from '../src/encoders/load-encoder.ts';
import { loadBeirDataset, type BeirDataset } from '../src/eval/beir.ts';
import { evaluateRun, type Qrels, type RankedHit } from '../src/eval/metrics.ts';
import { versions } from '../src/eval/report.ts';
import { cacheCollectionDir, ensureCorpusCollection, tuneConvexWeight } from '../src/eval/runner.ts';
import type { Matrix } from '../src/matrix.ts';
import { DEFAULT_CONVEX_WEIGHT, DEFAULT_HYBRID_CANDIDATES, DEFAULT_NORMALIZATION } from '../src/retriever/fusion.ts';
import { crossValidateQueryAdapter, type CrossValidationResult } from '../src/tune/cross-validate.ts';
import { QueryAdapter } from '../src/tune/query-adapter.ts';
import { mulberry32 } from '../src/tune/seeded-random.ts';
import { matrixSpace, meanNdcg10, trainQueryAdapter, type AdapterEpoch, type DocumentSpace, type TrainQueryAdapterOptions, type TrainQueryAdapterResult } from '../src/tune/train-query-adapter.ts';

const DATA = join('..', 'shared', 'data');
const started = performance.now();
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;
const f4 = (x: number): string => x.toFixed(4);

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const SEEDS = (argument('seeds') ?? '42,43,44').split(',').map(Number);
const RANK = Number(argument('rank') ?? 32);
const LEARNING_RATE = Number(argument('lr') ?? 0.001);
const LONG = process.argv.includes('--long');
const ONLY = new Set((argument('only') ?? 'synthetic,scifact,cv').split(','));
if (SEEDS.some((s) => !Number.isInteger(s)) || !Number.isInteger(RANK) || !(LEARNING_RATE > 0)) throw new Error('--seeds takes integers, --rank an integer, --lr a positive number');
const FOLDS = 5;
/** Options given to every training run (the library's defaults for the rest). */
const trainOptions = (seed: number): TrainQueryAdapterOptions => ({ rank: RANK, learningRate: LEARNING_RATE, seed });

// Acceptance thresholds (issue 19).
const TARGET = { scifactUnseen: 0.25, cranfieldCv: 0.21, cisiSlack: 0.005, trainSeconds: 60, applyMs: 0.2, syntheticRecall10: 0.95, syntheticBaseRecall10Below: 0.5 };

function rowsOf(m: Matrix, picked: readonly number[]): Matrix {
  const out = new Float32Array(picked.length * m.dims);
  picked.forEach((r, i) => out.set(m.data.subarray(r * m.dims, (r + 1) * m.dims), i * m.dims));
  return { data: out, rows: picked.length, dims: m.dims };
}
const rowVector = (m: Matrix, r: number): Float32Array => m.data.slice(r * m.dims, (r + 1) * m.dims);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs: readonly number[]): { min: number; mean: number; max: number; values: number[] } => ({
  min: round(Math.min(...xs)), mean: round(xs.reduce((a, b) => a + b, 0) / xs.length), max: round(Math.max(...xs)), values: xs.map((x) => round(x)),
});
const relevantOf = (qrels: Qrels, qid: string): string[] => [...(qrels.get(qid) ?? new Map<string, number>())].filter(([, g]) => g > 0).map(([d]) => d);

/** The cached flat collection of a dataset, read-only (embedded first when the cache is missing), and its documents in memory. */
async function openCorpus(dataset: BeirDataset, encoder: Encoder): Promise<{ collection: Collection; space: DocumentSpace; documents: number }> {
  const cacheDir = join('.cache', 'eval', `${dataset.name}-${DEFAULT_MODEL}`);
  const dir = cacheCollectionDir(cacheDir, 'flat');
  if (!existsSync(join(dir, 'manifest.json'))) {
    log(`${dataset.name}: no cached collection in ${dir}: embedding the corpus (minutes)`);
    const { collection } = await ensureCorpusCollection(dataset, encoder, cacheDir, { log });
    await collection.close();
  }
  const collection = await Collection.open(dir, { encoder, readOnly: true });
  const ids = dataset.corpus.map((d) => d.id);
  const stored = await collection.get(ids, { vectors: true });
  const keep: string[] = [];
  const data = new Float32Array(ids.length * encoder.dims);
  stored.forEach((s) => {
    if (s?.vector === undefined) return;
    data.set(s.vector, keep.length * encoder.dims);
    keep.push(s.id);
  });
  return { collection, space: matrixSpace({ data: data.subarray(0, keep.length * encoder.dims), rows: keep.length, dims: encoder.dims }, keep), documents: keep.length };
}

async function encodeQueries(encoder: Encoder, texts: readonly string[]): Promise<Matrix> {
  const e = await encoder.encode([...texts], { role: 'query' });
  return { data: e.data, rows: e.rows, dims: e.dims };
}

/** nDCG@10 of hybrid search (library defaults unless `weight`), the dense side given as vectors. */
async function hybridNdcg10(collection: Collection, texts: readonly string[], vectors: Matrix, ids: readonly string[], qrels: Qrels, weight?: number): Promise<number> {
  const hits = await collection.searchBatch(texts.map((text, i) => ({ text, vector: rowVector(vectors, i) })), { k: 10, mode: 'hybrid', ...(weight === undefined ? {} : { hybrid: { weight } }) });
  const run = new Map<string, RankedHit[]>(hits.map((h, i) => [ids[i], h.map((x) => ({ id: x.id, score: x.score }))]));
  return evaluateRun(run, qrels, { cutoffs: [10] }).mean['ndcg@10'];
}

function machine(): string {
  return `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'cpu'}, node ${process.version}`;
}
function gitState(): { commit: string; srcDirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return { commit, srcDirty: dirty };
  } catch {
    return { commit: 'unknown', srcDirty: false };
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Synthetic: a distortion an adapter can undo, on documents it never trains on.

async function synthetic(): Promise<Record<string, unknown>> {
  const D = 64;
  const N = 2000;
  const R = 8;
  const STRENGTH = 3;
  const random = mulberry32(7);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const normalize = (x: Float32Array, o: number): void => {
    let s = 0;
    for (let i = 0; i < D; i++) s += x[o + i] ** 2;
    const k = 1 / Math.sqrt(s);
    for (let i = 0; i < D; i++) x[o + i] *= k;
  };
  const docs = new Float32Array(N * D);
  for (let i = 0; i < docs.length; i++) docs[i] = gauss();
  for (let r = 0; r < N; r++) normalize(docs, r * D);
  // M = I + STRENGTH / sqrt(D) x U V, U: D x R, V: R x D, standard normal entries.
  const u = Array.from({ length: D * R }, gauss);
  const v = Array.from({ length: R * D }, gauss);
  const m = new Float64Array(D * D);
  for (let i = 0; i < D; i++) m[i * D + i] = 1;
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < D; j++) {
      let s = 0;
      for (let k = 0; k < R; k++) s += u[i * R + k] * v[k * D + j];
      m[i * D + j] += (STRENGTH * s) / Math.sqrt(D);
    }
  }
  const queries = new Float32Array(N * D);
  for (let r = 0; r < N; r++) {
    for (let j = 0; j < D; j++) {
      let s = 0;
      for (let i = 0; i < D; i++) s += docs[r * D + i] * m[i * D + j];
      queries[r * D + j] = s;
    }
    normalize(queries, r * D);
  }
  const ids = Array.from({ length: N }, (_, i) => `d${i}`);
  const queryIds = ids.map((_, i) => `q${i}`);
  const space = matrixSpace({ data: docs, rows: N, dims: D }, ids);
  const qrels: Qrels = new Map(queryIds.map((q, i) => [q, new Map([[ids[i], 1]])]));
  const half = N / 2;
  const heldOut: Matrix = { data: queries.slice(half * D), rows: N - half, dims: D };
  const recall10 = async (q: Matrix): Promise<number> => {
    const ranked = await space.search(q, 10);
    return ranked.filter((list, i) => list.includes(ids[half + i])).length / ranked.length;
  };
  const base = await recall10(heldOut);
  const runs: Record<string, unknown>[] = [];
  for (const seed of SEEDS) {
    const trained = await trainQueryAdapter({ queries: { data: queries.slice(0, half * D), rows: half, dims: D }, queryIds: queryIds.slice(0, half), documents: space, qrels }, trainOptions(seed));
    const recall = trained.adapter === undefined ? base : await recall10(trained.adapter.apply(heldOut));
    runs.push({ seed, recall10: round(recall), adapted: trained.adapter !== undefined, epochs: trained.epochs, best_epoch: trained.validation.bestEpoch, seconds: round(trained.seconds, 2) });
    console.log(`synthetic seed ${seed}: held-out recall@10 ${f4(base)} -> ${f4(recall)} (${trained.epochs} epochs, best ${trained.validation.bestEpoch}, ${trained.seconds.toFixed(1)} s)`);
  }
  // A rank below the distortion's (4 < 8) cannot undo it: the adapter has to learn the map, not the pairs.
  const low = await trainQueryAdapter({ queries: { data: queries.slice(0, half * D), rows: half, dims: D }, queryIds: queryIds.slice(0, half), documents: space, qrels }, { ...trainOptions(SEEDS[0]), rank: 4 });
  const lowRecall = low.adapter === undefined ? base : await recall10(low.adapter.apply(heldOut));
  console.log(`synthetic control, rank 4 (< the distortion's 8), seed ${SEEDS[0]}: held-out recall@10 ${f4(lowRecall)}`);
  return {
    setup: { dims: D, documents: N, distortion_rank: R, distortion: `M = I + ${STRENGTH}/sqrt(${D}) U V, U ${D}x${R}, V ${R}x${D} standard normal (seed 7)`, training_pairs: half, held_out_queries: N - half },
    base_recall10: round(base),
    runs,
    rank4_recall10: round(lowRecall),
  };
}

// ---------------------------------------------------------------------------------------------
// 2. scifact: train on train, evaluate on test (all, unseen, seen; dense and hybrid).

interface SeedFigures {
  seed: number;
  adapted: boolean;
  reason?: string;
  train_seconds: number;
  /** CPU time of the process over the training (user + system): the wall clock stretches when other jobs share the cores. */
  train_cpu_seconds: number;
  epochs: number;
  best_epoch: number;
  validation_queries: number;
  validation_ndcg10_base: number;
  validation_ndcg10: number;
  training_queries: number;
  training_pairs: number;
  ndcg10: number;
  unseen_ndcg10: number;
  seen_ndcg10: number;
  hybrid_ndcg10: number;
  hybrid_retuned?: Record<string, unknown>;
  epoch_log: { epoch: number; loss: number; validation_ndcg10: number; best: boolean }[];
}

async function scifact(encoder: Encoder): Promise<{ figures: Record<string, unknown>; perSeed: SeedFigures[]; applyMs: number }> {
  const train = loadBeirDataset(join(DATA, 'scifact'), { split: 'train' });
  const test = loadBeirDataset(join(DATA, 'scifact'), { split: 'test' });
  const { collection, space, documents } = await openCorpus(test, encoder);
  try {
    log(`scifact: encoding ${train.queries.length} train and ${test.queries.length} test queries`);
    const trainQ = await encodeQueries(encoder, train.queries.map((q) => q.text));
    const testQ = await encodeQueries(encoder, test.queries.map((q) => q.text));
    const trainIds = train.queries.map((q) => q.id);
    const testIds = test.queries.map((q) => q.id);
    const testTexts = test.queries.map((q) => q.text);
    const trainDocs = new Set(trainIds.flatMap((q) => relevantOf(train.qrels, q)));
    const unseen = testIds.map((q, i) => (relevantOf(test.qrels, q).some((d) => trainDocs.has(d)) ? -1 : i)).filter((i) => i >= 0);
    const seen = testIds.map((q, i) => (relevantOf(test.qrels, q).some((d) => trainDocs.has(d)) ? i : -1)).filter((i) => i >= 0);
    const subset = (m: Matrix, picked: number[]): [Matrix, string[]] => [rowsOf(m, picked), picked.map((i) => testIds[i])];
    const dense = async (m: Matrix): Promise<{ all: number; unseen: number; seen: number }> => ({
      all: await meanNdcg10(m, testIds, space, test.qrels),
      unseen: await meanNdcg10(...subset(m, unseen), space, test.qrels),
      seen: await meanNdcg10(...subset(m, seen), space, test.qrels),
    });
    const base = await dense(testQ);
    log('scifact: hybrid without an adapter');
    const hybridBase = await hybridNdcg10(collection, testTexts, testQ, testIds, test.qrels);
    console.log(`scifact (${documents} documents; ${train.queries.length} train queries, ${test.queries.length} test: ${unseen.length} unseen, ${seen.length} seen)`);
    console.log(`  without an adapter: dense nDCG@10 ${f4(base.all)} (unseen ${f4(base.unseen)}, seen ${f4(base.seen)}); hybrid (defaults: ${DEFAULT_NORMALIZATION}, ${DEFAULT_HYBRID_CANDIDATES} candidates, weight ${DEFAULT_CONVEX_WEIGHT}) ${f4(hybridBase)}`);

    // Keyword and dense runs at the hybrid's depth, for re-tuning the convex weight on validation queries.
    const trainTexts = train.queries.map((q) => q.text);
    const retune = async (validation: number[], vectors: Matrix): Promise<{ weight: number; value: number }> => {
      const texts = validation.map((i) => trainTexts[i]);
      const ids = validation.map((i) => trainIds[i]);
      const keywordHits = await collection.searchBatch(texts, { k: DEFAULT_HYBRID_CANDIDATES, mode: 'keyword' });
      const denseHits = await collection.searchBatch(validation.map((_, i) => rowVector(vectors, i)), { k: DEFAULT_HYBRID_CANDIDATES });
      const asRun = (hits: { id: string; score: number }[][]): Map<string, RankedHit[]> => new Map(hits.map((h, i) => [ids[i], h.map((x) => ({ id: x.id, score: x.score }))]));
      const qrels = new Map(ids.map((q) => [q, train.qrels.get(q)!]));
      const t = tuneConvexWeight(asRun(denseHits), asRun(keywordHits), qrels, { k: 100, candidates: DEFAULT_HYBRID_CANDIDATES, step: 0.01, normalization: DEFAULT_NORMALIZATION });
      return { weight: t.weight, value: t.best };
    };

    const perSeed: SeedFigures[] = [];
    let headline: QueryAdapter | undefined;
    for (const seed of SEEDS) {
      log(`scifact: training, seed ${seed}`);
      const epochLog: SeedFigures['epoch_log'] = [];
      const cpu0 = process.cpuUsage();
      const trained: TrainQueryAdapterResult = await trainQueryAdapter(
        { queries: trainQ, queryIds: trainIds, documents: space, qrels: train.qrels },
        { ...trainOptions(seed), onEpoch: (e: AdapterEpoch) => epochLog.push({ epoch: e.epoch, loss: round(e.loss), validation_ndcg10: round(e.validationNdcg10), best: e.best }) },
      );
      const cpu = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const adapted = trained.adapter === undefined ? testQ : trained.adapter.apply(testQ);
      const fig = trained.adapter === undefined ? base : await dense(adapted);
      log(`scifact: hybrid with the adapter, seed ${seed}`);
      const hybrid = trained.adapter === undefined ? hybridBase : await hybridNdcg10(collection, testTexts, adapted, testIds, test.qrels);
      const row: SeedFigures = {
        seed, adapted: trained.adapter !== undefined, ...(trained.reason === undefined ? {} : { reason: trained.reason }),
        train_seconds: round(trained.seconds, 2), train_cpu_seconds: round(cpuSeconds, 2), epochs: trained.epochs, best_epoch: trained.validation.bestEpoch,
        validation_queries: trained.validation.queries, validation_ndcg10_base: round(trained.validation.baseNdcg10), validation_ndcg10: round(trained.validation.bestNdcg10),
        training_queries: trained.trainingQueries, training_pairs: trained.trainingPairs,
        ndcg10: round(fig.all), unseen_ndcg10: round(fig.unseen), seen_ndcg10: round(fig.seen), hybrid_ndcg10: round(hybrid),
        epoch_log: epochLog,
      };
      console.log(`  seed ${seed}: ${trained.adapter === undefined ? `NO ADAPTER (${trained.reason})` : `trained ${trained.seconds.toFixed(1)} s (CPU ${cpuSeconds.toFixed(1)} s), ${trained.epochs} epochs (best ${trained.validation.bestEpoch})`}; validation (${trained.validation.queries} train queries) ${f4(trained.validation.baseNdcg10)} -> ${f4(trained.validation.bestNdcg10)}`);
      console.log(`    test dense nDCG@10 ${f4(fig.all)} (unseen ${f4(fig.unseen)}, seen ${f4(fig.seen)}); hybrid ${f4(hybrid)}`);

      // The convex weight re-tuned for the adapted side on this adapter's validation queries (scifact train,
      // relevant documents held out of its training pairs); the base re-tuned on the same queries for comparison.
      if (trained.adapter !== undefined) {
        // the trainer's own held-out queries (it reports them)
        const position = new Map(trainIds.map((id, i) => [id, i]));
        const validation = trained.validation.queryIds.map((id) => position.get(id)!);
        {
          log(`scifact: re-tuning the convex weight on the ${validation.length} validation queries, seed ${seed}`);
          const valQ = rowsOf(trainQ, validation);
          const tunedAdapted = await retune(validation, trained.adapter.apply(valQ));
          const tunedBase = await retune(validation, valQ);
          const testAdapted = await hybridNdcg10(collection, testTexts, adapted, testIds, test.qrels, tunedAdapted.weight);
          const testBase = await hybridNdcg10(collection, testTexts, testQ, testIds, test.qrels, tunedBase.weight);
          row.hybrid_retuned = {
            tuned_on: `the adapter's ${validation.length} validation queries (scifact train; their relevant documents held out of its training pairs)`,
            adapted_weight: tunedAdapted.weight, adapted_validation_ndcg10: round(tunedAdapted.value), adapted_test_ndcg10: round(testAdapted),
            base_weight: tunedBase.weight, base_validation_ndcg10: round(tunedBase.value), base_test_ndcg10: round(testBase),
          };
          console.log(`    hybrid, weight re-tuned on those validation queries: adapted w ${tunedAdapted.weight} -> test ${f4(testAdapted)}; base w ${tunedBase.weight} -> test ${f4(testBase)}`);
        }
      }
      perSeed.push(row);
      if (seed === SEEDS[0]) headline = trained.adapter;
    }

    // Cost per query: apply on one row (warmed) against embedding one query.
    const probe = headline ?? QueryAdapter.identity(encoder.dims, RANK, mulberry32(1));
    const one: Matrix = { data: rowVector(testQ, 0), rows: 1, dims: testQ.dims };
    for (let i = 0; i < 1000; i++) probe.apply(one);
    const applyTimes: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const t0 = performance.now();
      probe.apply(one);
      applyTimes.push(performance.now() - t0);
    }
    const applyMs = median(applyTimes);
    for (let i = 0; i < 5; i++) await encoder.encode([testTexts[i]], { role: 'query' });
    const encodeTimes: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      await encoder.encode([testTexts[(i + 5) % testTexts.length]], { role: 'query' });
      encodeTimes.push(performance.now() - t0);
    }
    const encodeMs = median(encodeTimes);
    console.log(`  cost: QueryAdapter.apply on one query (rank ${probe.rank}, ${probe.dims}-d) median ${applyMs.toFixed(4)} ms over 5,000 calls (p90 ${[...applyTimes].sort((a, b) => a - b)[4500].toFixed(4)} ms); USE lite embedding of one query median ${encodeMs.toFixed(2)} ms (60 queries)`);

    // The long schedule (--long): no early stopping; each epoch's weights on seen and unseen test queries.
    let long: Record<string, unknown> | undefined;
    if (LONG) {
      log('scifact: the long schedule (40 epochs, patience 40)');
      const identity = QueryAdapter.identity.bind(QueryAdapter);
      let live: QueryAdapter | undefined;
      QueryAdapter.identity = (dims: number, rank: number, random: () => number): QueryAdapter => (live = identity(dims, rank, random));
      const snapshots: { epoch: number; validation: number; best: boolean; a: Float32Array; b: Float32Array }[] = [];
      let trained: TrainQueryAdapterResult;
      try {
        trained = await trainQueryAdapter({ queries: trainQ, queryIds: trainIds, documents: space, qrels: train.qrels }, {
          ...trainOptions(SEEDS[0]), epochs: 40, patience: 40,
          onEpoch: (e) => snapshots.push({ epoch: e.epoch, validation: e.validationNdcg10, best: e.best, a: live!.a.slice(), b: live!.b.slice() }),
        });
      } finally {
        QueryAdapter.identity = identity;
      }
      const curve: Record<string, number | boolean>[] = [];
      console.log(`  long schedule (seed ${SEEDS[0]}, 40 epochs, no early stopping): epoch, validation nDCG@10, test unseen, test seen`);
      for (const s of snapshots) {
        const f = await dense(new QueryAdapter(encoder.dims, RANK, s.a, s.b).apply(testQ));
        curve.push({ epoch: s.epoch, validation_ndcg10: round(s.validation), unseen_ndcg10: round(f.unseen), seen_ndcg10: round(f.seen), ndcg10: round(f.all), best: s.best });
        if (s.epoch <= 5 || s.epoch % 5 === 0 || s.best) console.log(`    ${String(s.epoch).padStart(2)}  ${f4(s.validation)}${s.best ? '*' : ' '} unseen ${f4(f.unseen)} seen ${f4(f.seen)}`);
      }
      const last = curve[curve.length - 1];
      console.log(`    returned: the best validation epoch (${trained.validation.bestEpoch}); the last epoch would give unseen ${f4(last.unseen_ndcg10 as number)}, seen ${f4(last.seen_ndcg10 as number)}`);
      long = { seed: SEEDS[0], epochs: 40, patience: 40, returned_best_epoch: trained.validation.bestEpoch, seconds: round(trained.seconds, 1), curve };
    }

    const h = perSeed[0];
    return {
      perSeed,
      applyMs,
      figures: {
        documents, train_queries: train.queries.length, test_queries: test.queries.length, unseen_queries: unseen.length, seen_queries: seen.length,
        base: { ndcg10: round(base.all), unseen_ndcg10: round(base.unseen), seen_ndcg10: round(base.seen), hybrid_ndcg10: round(hybridBase) },
        headline_seed: h.seed,
        hybrid_defaults: { normalization: DEFAULT_NORMALIZATION, candidates: DEFAULT_HYBRID_CANDIDATES, weight: DEFAULT_CONVEX_WEIGHT, tuned_on: 'scifact train (bench:quality)' },
        apply: { median_ms: round(applyMs, 5), p90_ms: round([...applyTimes].sort((a, b) => a - b)[4500], 5), calls: 5000, warmup: 1000, rank: probe.rank, dims: probe.dims },
        encode_one_query_ms: round(encodeMs, 3),
        ...(long === undefined ? {} : { long_schedule: long }),
      },
    };
  } finally {
    await collection.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. cranfield and cisi: 5-fold cross-validation.

async function crossValidate(encoder: Encoder, name: string): Promise<{ perSeed: (CrossValidationResult & { seed: number; seconds: number })[]; documents: number; sharing: number }> {
  const dataset = loadBeirDataset(join(DATA, name));
  // Queries whose relevant document another query shares: the ones memorization could help if a fold's
  // documents were not kept out of the other folds' training (crossValidateQueryAdapter keeps them out,
  // which also costs those folds training pairs).
  const judgedBy = new Map<string, number>();
  for (const q of dataset.queries) for (const d of relevantOf(dataset.qrels, q.id)) judgedBy.set(d, (judgedBy.get(d) ?? 0) + 1);
  const sharing = dataset.queries.filter((q) => relevantOf(dataset.qrels, q.id).some((d) => judgedBy.get(d)! > 1)).length;
  const { collection, space, documents } = await openCorpus(dataset, encoder);
  try {
    const queries = await encodeQueries(encoder, dataset.queries.map((q) => q.text));
    const perSeed: (CrossValidationResult & { seed: number; seconds: number })[] = [];
    for (const seed of SEEDS) {
      log(`${name}: ${FOLDS}-fold cross-validation, seed ${seed}`);
      const t0 = performance.now();
      const r = await crossValidateQueryAdapter({ queries, queryIds: dataset.queries.map((q) => q.id), documents: space, qrels: dataset.qrels }, FOLDS, trainOptions(seed));
      const seconds = (performance.now() - t0) / 1000;
      perSeed.push({ ...r, seed, seconds });
      console.log(`${name} (${documents} documents, ${r.queries} queries), seed ${seed}: ${FOLDS}-fold dense nDCG@10 ${f4(r.baseNdcg10)} -> ${f4(r.adaptedNdcg10)} (${seconds.toFixed(1)} s); folds ${r.folds.map((f) => `${f4(f.baseNdcg10)}->${f4(f.adaptedNdcg10)}${f.adapted ? '' : ' (no adapter)'}`).join(', ')}`);
    }
    console.log(`${name}: ${sharing} of ${dataset.queries.length} queries share a relevant document with another query (each fold's relevant documents are kept out of the other folds' training)`);
    return { perSeed, documents, sharing };
  } finally {
    await collection.close();
  }
}

// ---------------------------------------------------------------------------------------------

const load0 = loadavg()[0];
const git = gitState();
const encoder = await loadEncoder(DEFAULT_MODEL);
try {
  console.log(`bench:adapter — rank ${RANK}, learningRate ${LEARNING_RATE}, seeds ${SEEDS.join(', ')} (headline: ${SEEDS[0]}); ${machine()}; commit ${git.commit}${git.srcDirty ? ' (src/ has uncommitted changes)' : ''}`);
  const sectionSeconds: Record<string, number> = {};
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await run();
    } finally {
      sectionSeconds[name] = round((performance.now() - t0) / 1000, 1);
    }
  };
  const syn = ONLY.has('synthetic') ? await timed('synthetic', synthetic) : undefined;
  const sci = ONLY.has('scifact') ? await timed('scifact', () => scifact(encoder)) : undefined;
  const cran = ONLY.has('cv') ? await timed('cranfield', () => crossValidate(encoder, 'cranfield')) : undefined;
  const cisi = ONLY.has('cv') ? await timed('cisi', () => crossValidate(encoder, 'cisi')) : undefined;

  const cvFigures = (cv: Awaited<ReturnType<typeof crossValidate>> | undefined): Record<string, unknown> | undefined => cv === undefined ? undefined : {
    documents: cv.documents, folds: FOLDS, queries: cv.perSeed[0].queries, queries_sharing_a_relevant_document: cv.sharing,
    per_seed: cv.perSeed.map((r) => ({
      seed: r.seed, ndcg10_base: round(r.baseNdcg10), ndcg10: round(r.adaptedNdcg10), seconds: round(r.seconds, 1),
      folds: r.folds.map((f) => ({ fold: f.fold, queries: f.queries, ndcg10_base: round(f.baseNdcg10), ndcg10: round(f.adaptedNdcg10), adapted: f.adapted, ...(f.reason === undefined ? {} : { reason: f.reason }), seconds: round(f.seconds, 2) })),
    })),
  };
  const synRuns = (syn?.runs ?? []) as { recall10: number }[];
  const h = sci?.perSeed[0];
  /** The figures the acceptance checks read, for one seed (by index) or averaged over the seeds. */
  interface Figures { adapted?: boolean; unseen?: number; hybrid?: number; trainSeconds?: number; cranfield?: number; cisi?: number; cisiBase?: number; synthetic?: number }
  const figuresOf = (i: number): Figures => ({
    adapted: sci?.perSeed[i].adapted, unseen: sci?.perSeed[i].unseen_ndcg10, hybrid: sci?.perSeed[i].hybrid_ndcg10, trainSeconds: sci?.perSeed[i].train_seconds,
    cranfield: cran?.perSeed[i].adaptedNdcg10, cisi: cisi?.perSeed[i].adaptedNdcg10, cisiBase: cisi?.perSeed[i].baseNdcg10, synthetic: synRuns[i]?.recall10,
  });
  const meanOf = (xs: (number | undefined)[]): number | undefined => (xs.some((x) => x === undefined) ? undefined : (xs as number[]).reduce((a, b) => a + b, 0) / xs.length);
  const perSeedFigures = SEEDS.map((_, i) => figuresOf(i));
  const meanFigures: Figures = {
    adapted: sci === undefined ? undefined : perSeedFigures.every((f) => f.adapted === true),
    ...Object.fromEntries((['unseen', 'hybrid', 'trainSeconds', 'cranfield', 'cisi', 'cisiBase', 'synthetic'] as const).map((k) => [k, meanOf(perSeedFigures.map((f) => f[k]))])),
  };
  const checks = (f: Figures): Record<string, boolean> => {
    const out: Record<string, boolean> = {};
    if (sci !== undefined) {
      out.scifact_adapter_returned = f.adapted === true;
      out.scifact_unseen_ndcg10 = f.unseen! >= TARGET.scifactUnseen;
      out.scifact_hybrid_not_below_base = f.hybrid! >= (sci.figures.base as { hybrid_ndcg10: number }).hybrid_ndcg10;
      out.train_seconds = f.trainSeconds! <= TARGET.trainSeconds;
      out.apply_ms = sci.applyMs <= TARGET.applyMs;
    }
    if (cran !== undefined) out.cranfield_cv_ndcg10 = f.cranfield! >= TARGET.cranfieldCv;
    if (cisi !== undefined) out.cisi_cv_not_below_base = f.cisi! >= f.cisiBase! - TARGET.cisiSlack;
    if (syn !== undefined) {
      out.synthetic_recall10 = f.synthetic! >= TARGET.syntheticRecall10;
      out.synthetic_base_recall10_low = (syn.base_recall10 as number) < TARGET.syntheticBaseRecall10Below;
    }
    return out;
  };
  const passes = checks(perSeedFigures[0]);
  const everySeed = Object.fromEntries(Object.keys(passes).map((k) => [k, perSeedFigures.every((f) => checks(f)[k])]));
  const seedMean = checks(meanFigures);
  const seedSpread = (pick: (i: number) => number | undefined): ReturnType<typeof spread> | undefined => {
    const xs = SEEDS.map((_, i) => pick(i));
    return xs.some((x) => x === undefined) ? undefined : spread(xs as number[]);
  };
  const totalSeconds = (performance.now() - started) / 1000;
  console.log(`\npasses (seed ${SEEDS[0]}): ${Object.entries(passes).map(([k, v]) => `${k} ${v ? 'yes' : 'NO'}`).join(', ')}`);
  console.log(`passes for every seed (${SEEDS.join(', ')}): ${Object.entries(everySeed).map(([k, v]) => `${k} ${v ? 'yes' : 'NO'}`).join(', ')}`);
  console.log(`passes on the mean over the seeds: ${Object.entries(seedMean).map(([k, v]) => `${k} ${v ? 'yes' : 'NO'}`).join(', ')}`);
  console.log(`total ${totalSeconds.toFixed(0)} s; load average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at the end`);
  const v = versions(encoder);
  console.log(JSON.stringify({
    bench: 'adapter',
    date: new Date().toISOString(),
    machine: machine(),
    commit: git.commit,
    src_uncommitted_changes: git.srcDirty,
    model: v.model,
    options: { rank: RANK, learningRate: LEARNING_RATE, seed: SEEDS[0], seeds: SEEDS, other: 'the library defaults of TrainQueryAdapterOptions (epochs, patience, batch, scale, hard negatives, validation share)' },
    scifact_ndcg10: h?.ndcg10,
    scifact_ndcg10_base: sci === undefined ? undefined : (sci.figures.base as { ndcg10: number }).ndcg10,
    scifact_unseen_ndcg10: h?.unseen_ndcg10,
    scifact_unseen_ndcg10_base: sci === undefined ? undefined : (sci.figures.base as { unseen_ndcg10: number }).unseen_ndcg10,
    scifact_seen_ndcg10: h?.seen_ndcg10,
    scifact_seen_ndcg10_base: sci === undefined ? undefined : (sci.figures.base as { seen_ndcg10: number }).seen_ndcg10,
    scifact_hybrid_ndcg10: h?.hybrid_ndcg10,
    scifact_hybrid_ndcg10_base: sci === undefined ? undefined : (sci.figures.base as { hybrid_ndcg10: number }).hybrid_ndcg10,
    cranfield_cv_ndcg10: cran === undefined ? undefined : round(cran.perSeed[0].adaptedNdcg10),
    cranfield_cv_ndcg10_base: cran === undefined ? undefined : round(cran.perSeed[0].baseNdcg10),
    cisi_cv_ndcg10: cisi === undefined ? undefined : round(cisi.perSeed[0].adaptedNdcg10),
    cisi_cv_ndcg10_base: cisi === undefined ? undefined : round(cisi.perSeed[0].baseNdcg10),
    train_seconds: h?.train_seconds,
    train_cpu_seconds: h?.train_cpu_seconds,
    apply_ms: sci === undefined ? undefined : round(sci.applyMs, 5),
    encode_query_ms: sci === undefined ? undefined : (sci.figures.encode_one_query_ms as number),
    synthetic_recall10: synRuns[0]?.recall10,
    synthetic_base_recall10: syn?.base_recall10,
    epochs: h?.epochs,
    best_epoch: h?.best_epoch,
    validation: h === undefined ? undefined : { queries: h.validation_queries, ndcg10_base: h.validation_ndcg10_base, ndcg10: h.validation_ndcg10 },
    spread: {
      scifact_ndcg10: seedSpread((i) => sci?.perSeed[i].ndcg10),
      scifact_unseen_ndcg10: seedSpread((i) => sci?.perSeed[i].unseen_ndcg10),
      scifact_seen_ndcg10: seedSpread((i) => sci?.perSeed[i].seen_ndcg10),
      scifact_hybrid_ndcg10: seedSpread((i) => sci?.perSeed[i].hybrid_ndcg10),
      cranfield_cv_ndcg10: seedSpread((i) => cran?.perSeed[i].adaptedNdcg10),
      cisi_cv_ndcg10: seedSpread((i) => cisi?.perSeed[i].adaptedNdcg10),
      train_seconds: seedSpread((i) => sci?.perSeed[i].train_seconds),
      train_cpu_seconds: seedSpread((i) => sci?.perSeed[i].train_cpu_seconds),
      synthetic_recall10: seedSpread((i) => synRuns[i]?.recall10),
    },
    passes,
    passes_every_seed: everySeed,
    passes_seed_mean: seedMean,
    scifact: sci === undefined ? undefined : { ...sci.figures, per_seed: sci.perSeed },
    cranfield: cvFigures(cran),
    cisi: cvFigures(cisi),
    synthetic: syn,
    targets: TARGET,
    load_average: { start: round(load0, 2), end: round(loadavg()[0], 2) },
    total_seconds: round(totalSeconds, 1),
    section_seconds: sectionSeconds,
  }));
} finally {
  await encoder.close();
}
