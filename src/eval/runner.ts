/**
 * Runs retrievers over a BEIR dataset and evaluates them.
 *
 * One collection per (dataset, model) holds the documents, their f32 vectors and the BM25 index:
 * CACHE/flat (a flat, exact index). Every other index kind is a sibling collection (CACHE/hnsw,
 * CACHE/i8, CACHE/binary) filled from the stored vectors with upsertVectors: nothing is embedded
 * twice. Rerunning finds the collections and embeds only documents that are new or changed.
 *
 * Retrievers: dense over each index kind (the query vectors are encoded once and searched in every
 * index), keyword (BM25, SQLite FTS5) and hybrid (reciprocal-rank fusion, and convex fusion of
 * normalized scores) computed from the flat dense run and the keyword run with the same fusion
 * functions that Collection.search({ mode: 'hybrid' }) uses, over the same candidates per side
 * (default max(k, DEFAULT_HYBRID_CANDIDATES)).
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BiencoderError, throwIfAborted } from '../errors.ts';
import type { Encoder } from '../encoders/encoder.ts';
import type { Matrix } from '../matrix.ts';
import { Collection, type SearchHit } from '../collection/collection.ts';
import { resolveIndexSpec, type IndexSpec, type IndexSpecInput } from '../index/index-spec.ts';
import { idsMatching } from '../ingest/stored-documents.ts';
import type { KeywordStopwords } from '../collection/keyword-query.ts';
import {
  combineConvex, fuseRankings, prepareConvexFusion, resolveHybridOptions, type ResolvedHybridOptions, DEFAULT_NORMALIZATION, DEFAULT_RRF_K, SCORE_NORMALIZATIONS,
  type ConvexInputs, type FusionMethod, type ScoreNormalization, type Scored,
} from '../retriever/fusion.ts';
import { documentText, type BeirDataset } from './beir.ts';
import { evaluateRun, type Evaluation, type MetricValues, type Qrels, type Run } from './metrics.ts';

export type IndexKind = 'flat' | 'hnsw' | 'i8' | 'binary';
export const INDEX_KINDS: readonly IndexKind[] = ['flat', 'hnsw', 'i8', 'binary'];
/** The index spec behind each kind: HNSW with the index module's defaults; i8 and binary are quantized HNSW + exact f32 rescoring. */
export const INDEX_KIND_SPECS: Readonly<Record<IndexKind, IndexSpecInput>> = {
  flat: { kind: 'flat' },
  hnsw: { kind: 'hnsw' },
  i8: { kind: 'hnsw', quantization: 'i8' },
  binary: { kind: 'hnsw', quantization: 'b1' },
};

export type EvalMode = 'dense' | 'keyword' | 'hybrid';
export const EVAL_MODES: readonly EvalMode[] = ['dense', 'keyword', 'hybrid'];

export interface CorpusBuild {
  readonly documents: number;
  /** Documents embedded by this run (0 when the cached collection was complete). */
  readonly embedded: number;
  readonly seconds: number;
  /** Documents per second of the run that embedded the corpus (taken from the cache's build record when nothing was embedded now). */
  readonly docsPerSecond: number | null;
  readonly cached: boolean;
}

export interface RetrieverResult {
  readonly name: string;
  readonly mode: EvalMode;
  readonly index?: IndexSpec;
  readonly fusion?: { readonly method: FusionMethod; readonly weight?: number; readonly normalization?: ScoreNormalization; readonly rrfK?: number; readonly candidates: number };
  readonly keyword?: { readonly stopwords: KeywordStopwords };
  readonly metrics: MetricValues;
  /** Queries per second of the search alone (query vectors already encoded; hybrid includes both searches and the fusion). */
  readonly searchQueriesPerSecond: number;
  readonly evaluation: Evaluation;
}

export interface DatasetRun {
  readonly dataset: string;
  readonly split: string;
  readonly queries: number;
  readonly corpus: CorpusBuild;
  readonly queryEncoding: { readonly queries: number; readonly seconds: number; readonly queriesPerSecond: number };
  readonly retrievers: readonly RetrieverResult[];
}

export interface HybridVariant {
  readonly name: string;
  readonly fusion: FusionMethod;
  readonly weight?: number;
  /** Convex fusion's normalization; default DEFAULT_NORMALIZATION. */
  readonly normalization?: ScoreNormalization;
  readonly rrfK?: number;
  /** Candidates per side; default max(k, DEFAULT_HYBRID_CANDIDATES), as in Collection.search. */
  readonly candidates?: number;
}

export interface RunDatasetOptions {
  readonly encoder: Encoder;
  /** Directory for this dataset's collections (CACHE/flat, CACHE/hnsw, ...). */
  readonly cacheDir: string;
  /** Default ['flat']. */
  readonly indexes?: readonly IndexKind[];
  /** Default all three. */
  readonly modes?: readonly EvalMode[];
  /** Hybrid variants; default RRF (k 60). */
  readonly hybrid?: readonly HybridVariant[];
  /** Retrieval depth per query; default 100. Hybrid variants take their own candidates per side (see HybridVariant). */
  readonly k?: number;
  readonly cutoffs?: readonly number[];
  readonly stopwords?: KeywordStopwords;
  readonly ignoreIdenticalIds?: boolean;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

const BUILD_RECORD = 'build.json';
const BATCH = 256;

/** Opens (or creates and fills) CACHE/flat with the dataset's corpus. */
/** Where the collection of an index kind lives in an eval cache: CACHE/<kind> ('flat' holds the corpus itself). */
export function cacheCollectionDir(cacheDir: string, kind: IndexKind): string {
  return join(cacheDir, kind);
}

export async function ensureCorpusCollection(dataset: BeirDataset, encoder: Encoder, cacheDir: string, options: { log?: (line: string) => void; signal?: AbortSignal } = {}): Promise<{ collection: Collection; build: CorpusBuild }> {
  const dir = cacheCollectionDir(cacheDir, 'flat');
  mkdirSync(cacheDir, { recursive: true });
  const collection = existsSync(join(dir, 'manifest.json'))
    ? await Collection.open(dir, { encoder })
    : await Collection.create(dir, { encoder, index: { kind: 'flat' } });
  try {
    const docs = dataset.corpus.map((d) => ({ id: d.id, text: documentText(d) })).filter((d) => d.text !== '');
    const t0 = performance.now();
    let embedded = 0;
    for (let i = 0; i < docs.length; i += BATCH) {
      throwIfAborted(options.signal);
      const r = await collection.upsert(docs.slice(i, i + BATCH), { signal: options.signal });
      embedded += r.embedded;
      if (r.embedded > 0) options.log?.(`${dataset.name}: embedded ${Math.min(i + BATCH, docs.length)}/${docs.length} documents`);
    }
    const wanted = new Set(docs.map((d) => d.id));
    if (collection.count() !== wanted.size) await removeOthers(collection, wanted);
    await collection.flush();
    const seconds = (performance.now() - t0) / 1000;
    const recordPath = join(cacheDir, BUILD_RECORD);
    let docsPerSecond: number | null = null;
    if (embedded > 0) {
      docsPerSecond = embedded / seconds;
      writeFileSync(recordPath, `${JSON.stringify({ embedded, seconds, docsPerSecond, at: new Date().toISOString() }, null, 2)}\n`);
    } else if (existsSync(recordPath)) {
      docsPerSecond = (JSON.parse(readFileSync(recordPath, 'utf8')) as { docsPerSecond: number }).docsPerSecond;
    }
    return { collection, build: { documents: docs.length, embedded, seconds, docsPerSecond, cached: embedded === 0 } };
  } catch (error) {
    await collection.close();
    throw error;
  }
}

async function removeOthers(collection: Collection, wanted: Set<string>): Promise<void> {
  // Only reachable when a cache was built from another version of the corpus.
  const ids = allIds(collection).filter((id) => !wanted.has(id));
  if (ids.length > 0) await collection.delete(ids);
}

/** Opens (or derives from `source`'s stored vectors) the collection CACHE/<kind>. */
export async function ensureIndexCollection(source: Collection, kind: IndexKind, cacheDir: string, encoder: Encoder): Promise<Collection> {
  if (kind === 'flat') return source;
  const dir = cacheCollectionDir(cacheDir, kind);
  const spec = resolveIndexSpec(INDEX_KIND_SPECS[kind]);
  let target = existsSync(join(dir, 'manifest.json')) ? await Collection.open(dir, { encoder }) : undefined;
  if (target !== undefined && JSON.stringify(target.manifest.index) !== JSON.stringify(spec)) {
    throw new BiencoderError('INVALID_ARGUMENT', `${dir} holds a ${JSON.stringify(target.manifest.index)} index, not the ${kind} spec ${JSON.stringify(spec)}; remove it to rebuild`);
  }
  target ??= await Collection.create(dir, { encoder, index: spec });
  // Always synced: upsertVectors leaves identical documents untouched, so a current copy costs one read of the vectors.
  const ids = allIds(source);
  for (let i = 0; i < ids.length; i += 1024) {
    const docs = await source.get(ids.slice(i, i + 1024), { vectors: true });
    await target.upsertVectors(docs.map((d) => ({ id: d!.id, vector: d!.vector!, text: d!.text, metadata: d!.metadata })));
  }
  if (target.count() !== ids.length) await removeOthers(target, new Set(ids));
  await target.flush();
  return target;
}

/** Every stored id, in insertion order (the Collection API has no listing). */
function allIds(collection: Collection): string[] {
  return idsMatching(collection.dir, {});
}

function toRun(queryIds: readonly string[], hits: readonly (readonly SearchHit[])[]): Map<string, Scored<string>[]> {
  const run = new Map<string, Scored<string>[]>();
  queryIds.forEach((qid, i) => run.set(qid, hits[i].map((h) => ({ id: h.id, score: h.score }))));
  return run;
}

/**
 * A hybrid variant's fusion options for a search of k results, by Collection.search's defaults and rules
 * (resolveHybridOptions); `candidates` overrides the variant's.
 */
export function variantOptions(variant: HybridVariant, k: number, candidates = variant.candidates): ResolvedHybridOptions {
  return resolveHybridOptions({ fusion: variant.fusion, weight: variant.weight, normalization: variant.normalization, rrfK: variant.rrfK, candidates }, k);
}

/** The candidates per side a hybrid variant fuses for a search of k results (Collection.search's rule). */
export function variantCandidates(variant: HybridVariant, k: number): number {
  return variantOptions(variant, k).candidates;
}

/**
 * Fuses two runs query by query, keeping k per query. Each side gives `candidates` (taken as is)
 * or else the variant's candidates by Collection.search's rule, max(k, candidates ?? DEFAULT_HYBRID_CANDIDATES).
 */
export function fuseRuns(dense: Run, keyword: Run, variant: HybridVariant, k: number, candidates?: number): Map<string, Scored<string>[]> {
  const options = variantOptions(variant, k, candidates);
  const perSide = candidates ?? options.candidates;
  const out = new Map<string, Scored<string>[]>();
  for (const [qid, d] of dense) out.set(qid, fuseRankings(d.slice(0, perSide), (keyword.get(qid) ?? []).slice(0, perSide), options, k));
  return out;
}

export interface WeightTuning {
  readonly weight: number;
  readonly metric: string;
  readonly best: number;
  readonly grid: readonly { readonly weight: number; readonly value: number }[];
}

/**
 * Grid search of the convex dense weight maximizing a metric (default nDCG@10) for one
 * normalization (default DEFAULT_NORMALIZATION) and candidates per side (default k); ties keep
 * the smaller weight.
 */
export function tuneConvexWeight(
  dense: Run, keyword: Run, qrels: Qrels, options: { k?: number; candidates?: number; step?: number; metric?: string; normalization?: ScoreNormalization } = {},
): WeightTuning {
  const k = options.k ?? 100;
  const tuning = tuneConvexFusion(dense, keyword, qrels, {
    normalizations: [options.normalization ?? DEFAULT_NORMALIZATION], candidates: [options.candidates ?? k], step: options.step ?? 0.05, metric: options.metric, k,
  });
  return { weight: tuning.weight, metric: tuning.metric, best: tuning.best, grid: tuning.grid.map((g) => ({ weight: g.weight, value: g.value })) };
}

export interface FusionTuning {
  readonly normalization: ScoreNormalization;
  readonly candidates: number;
  readonly weight: number;
  readonly metric: string;
  /** The metric at the chosen configuration. */
  readonly best: number;
  /** Every configuration tried, in search order. */
  readonly grid: readonly { readonly normalization: ScoreNormalization; readonly candidates: number; readonly weight: number; readonly value: number }[];
}

export interface TuneConvexFusionOptions {
  /** Default every normalization (SCORE_NORMALIZATIONS). */
  readonly normalizations?: readonly ScoreNormalization[];
  /** Candidates per side to try; default [100]. The runs must hold at least the largest. */
  readonly candidates?: readonly number[];
  /** Weight grid step over [0, 1]; default 0.01. */
  readonly step?: number;
  /** Default 'ndcg@10'; any metric@cutoff of evaluateRun. */
  readonly metric?: string;
  /** Hits kept per query before evaluation, as runDataset's k; default 100 (at least the metric's cutoff). */
  readonly k?: number;
}

/**
 * Joint grid search of convex fusion's normalization, candidates per side and dense weight,
 * maximizing a metric (default nDCG@10) over the judged queries. The winner must beat the best so
 * far by more than 1e-12, so ties keep the earlier configuration: normalizations in the given order,
 * fewer candidates, smaller weight. Each list is normalized once per (normalization, candidates) and
 * the weights reuse it (prepareConvexFusion + combineConvex, the functions convexFusion is made of).
 */
export function tuneConvexFusion(dense: Run, keyword: Run, qrels: Qrels, options: TuneConvexFusionOptions = {}): FusionTuning {
  const normalizations = options.normalizations ?? SCORE_NORMALIZATIONS;
  const candidateCounts = options.candidates ?? [100];
  const step = options.step ?? 0.01;
  const metric = options.metric ?? 'ndcg@10';
  const cutoff = /^[a-z]+@(\d+)$/.exec(metric);
  if (cutoff === null) throw new BiencoderError('INVALID_ARGUMENT', `metric must look like name@cutoff (e.g. ndcg@10), got ${JSON.stringify(metric)}`);
  const depth = Math.max(Number(cutoff[1]), options.k ?? 100);
  if (!(step > 0 && step <= 1)) throw new BiencoderError('INVALID_ARGUMENT', `step must be in (0, 1], got ${String(step)}`);
  if (normalizations.length === 0 || candidateCounts.length === 0) throw new BiencoderError('INVALID_ARGUMENT', 'normalizations and candidates must not be empty');
  for (const c of candidateCounts) if (!Number.isInteger(c) || c < 1) throw new BiencoderError('INVALID_ARGUMENT', `candidates must be positive integers, got ${String(c)}`);
  const grid: { normalization: ScoreNormalization; candidates: number; weight: number; value: number }[] = [];
  let best: (typeof grid)[number] | undefined;
  for (const normalization of normalizations) {
    for (const candidates of [...candidateCounts].sort((a, b) => a - b)) {
      const prepared = new Map<string, ConvexInputs<string>>();
      for (const [qid, d] of dense) prepared.set(qid, prepareConvexFusion(d.slice(0, candidates), (keyword.get(qid) ?? []).slice(0, candidates), normalization));
      for (let i = 0; i <= Math.round(1 / step); i++) {
        const weight = Math.min(1, Math.round(i * step * 1e6) / 1e6);
        const fused = new Map<string, Scored<string>[]>();
        for (const [qid, inputs] of prepared) fused.set(qid, combineConvex(inputs, weight, depth));
        const value = evaluateRun(fused, qrels, { cutoffs: [Number(cutoff[1])] }).mean[metric];
        if (value === undefined) throw new BiencoderError('INVALID_ARGUMENT', `unknown metric ${metric}`);
        const entry = { normalization, candidates, weight, value };
        grid.push(entry);
        if (best === undefined || value > best.value + 1e-12) best = entry;
      }
    }
  }
  return { normalization: best!.normalization, candidates: best!.candidates, weight: best!.weight, metric, best: best!.value, grid };
}

/** Encodes the split's queries once and returns their vectors. */
export async function encodeQueries(encoder: Encoder, texts: readonly string[], signal?: AbortSignal): Promise<{ matrix: Matrix; seconds: number }> {
  const t0 = performance.now();
  const e = await encoder.encode([...texts], { role: 'query', signal });
  return { matrix: { data: e.data, rows: e.rows, dims: e.dims }, seconds: (performance.now() - t0) / 1000 };
}

/** The flat dense and keyword runs: k deep, or as deep as the hybrid variants' candidates when hybrid ran. */
export interface SplitRuns {
  readonly dense: Map<string, Scored<string>[]>;
  readonly keyword: Map<string, Scored<string>[]>;
}

/** Evaluates every requested retriever on the dataset's split. */
export async function runDataset(dataset: BeirDataset, options: RunDatasetOptions): Promise<DatasetRun & { runs: SplitRuns }> {
  const k = options.k ?? 100;
  const cutoffs = options.cutoffs ?? [1, 3, 5, 10, 100];
  const indexes = options.indexes ?? ['flat'];
  const modes = options.modes ?? EVAL_MODES;
  const stopwords = options.stopwords ?? 'english';
  const variants = options.hybrid ?? [{ name: 'hybrid_rrf', fusion: 'rrf' as const, rrfK: DEFAULT_RRF_K }];
  const log = options.log ?? ((): void => undefined);
  const evaluate = (run: Run): Evaluation => evaluateRun(run, dataset.qrels, { cutoffs, ignoreIdenticalIds: options.ignoreIdenticalIds });
  const { collection, build } = await ensureCorpusCollection(dataset, options.encoder, options.cacheDir, { log, signal: options.signal });
  const opened: Collection[] = [collection];
  try {
    const queryIds = dataset.queries.map((q) => q.id);
    const texts = dataset.queries.map((q) => q.text);
    const needDense = modes.includes('dense') || modes.includes('hybrid');
    const encoded = needDense ? await encodeQueries(options.encoder, texts, options.signal) : undefined;
    const retrievers: RetrieverResult[] = [];
    // Hybrid variants fuse `depth` candidates per side: the flat and keyword runs are searched that
    // deep for them (timed as part of the hybrid search), apart from the k-deep runs reported as
    // dense and BM25 retrievers.
    const hybrid = modes.includes('hybrid');
    const depth = hybrid ? Math.max(k, ...variants.map((v) => variantCandidates(v, k))) : k;
    let flatRun: Map<string, Scored<string>[]> | undefined;
    let flatSeconds = 0;
    const searchDense = async (target: Collection, depthNow: number): Promise<{ run: Map<string, Scored<string>[]>; seconds: number }> => {
      const t0 = performance.now();
      const hits = await target.searchBatch(encoded!.matrix, { k: depthNow, signal: options.signal });
      return { seconds: (performance.now() - t0) / 1000, run: toRun(queryIds, hits) };
    };
    if (modes.includes('dense')) {
      for (const kind of indexes) {
        throwIfAborted(options.signal);
        const target = await ensureIndexCollection(collection, kind, options.cacheDir, options.encoder);
        if (target !== collection) opened.push(target);
        const { run, seconds } = await searchDense(target, k);
        if (kind === 'flat') ({ run: flatRun, seconds: flatSeconds } = { run, seconds });
        const evaluation = evaluate(run);
        retrievers.push({ name: kind, mode: 'dense', index: target.manifest.index, metrics: evaluation.mean, searchQueriesPerSecond: queryIds.length / seconds, evaluation });
        log(`${dataset.name}: ${kind}: nDCG@10 ${fmt(evaluation.mean['ndcg@10'])}`);
      }
    }
    if (hybrid && (flatRun === undefined || depth > k)) {
      throwIfAborted(options.signal);
      ({ run: flatRun, seconds: flatSeconds } = await searchDense(collection, depth));
    }
    let keywordRun: Map<string, Scored<string>[]> | undefined;
    let keywordSeconds = 0;
    const searchKeyword = async (depthNow: number): Promise<void> => {
      const t0 = performance.now();
      const hits = await collection.searchBatch(texts, { k: depthNow, mode: 'keyword', keyword: { stopwords }, signal: options.signal });
      keywordSeconds = (performance.now() - t0) / 1000;
      keywordRun = toRun(queryIds, hits);
    };
    if (modes.includes('keyword')) {
      await searchKeyword(k);
      const evaluation = evaluate(keywordRun!);
      retrievers.push({ name: 'bm25', mode: 'keyword', keyword: { stopwords }, metrics: evaluation.mean, searchQueriesPerSecond: queryIds.length / keywordSeconds, evaluation });
      log(`${dataset.name}: bm25: nDCG@10 ${fmt(evaluation.mean['ndcg@10'])}`);
    }
    if (hybrid && (keywordRun === undefined || depth > k)) await searchKeyword(depth);
    if (hybrid) {
      for (const v of variants) {
        const t0 = performance.now();
        const resolved = variantOptions(v, k);
        const candidates = resolved.candidates;
        const fused = fuseRuns(flatRun!, keywordRun!, v, k, candidates);
        const seconds = flatSeconds + keywordSeconds + (performance.now() - t0) / 1000;
        const evaluation = evaluate(fused);
        retrievers.push({
          name: v.name, mode: 'hybrid', keyword: { stopwords },
          fusion: { method: v.fusion, ...(v.fusion === 'convex' ? { weight: resolved.weight, normalization: resolved.normalization } : { rrfK: resolved.rrfK }), candidates },
          metrics: evaluation.mean, searchQueriesPerSecond: queryIds.length / seconds, evaluation,
        });
        log(`${dataset.name}: ${v.name}: nDCG@10 ${fmt(evaluation.mean['ndcg@10'])}`);
      }
    }
    const qe = encoded?.seconds ?? 0;
    return {
      dataset: dataset.name, split: dataset.split, queries: queryIds.length, corpus: build,
      queryEncoding: { queries: encoded ? queryIds.length : 0, seconds: qe, queriesPerSecond: qe > 0 ? queryIds.length / qe : 0 },
      retrievers,
      runs: { dense: flatRun ?? new Map(), keyword: keywordRun ?? new Map() },
    };
  } finally {
    for (const c of opened.reverse()) await c.close();
  }
}

function fmt(x: number | undefined): string {
  return x === undefined ? '-' : x.toFixed(4);
}
