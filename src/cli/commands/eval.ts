import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { adapterRows } from '../eval-adapter.ts';
import { BiencoderError } from '../../errors.ts';
import type { Encoder } from '../../encoders/encoder.ts';
import { DEFAULT_MODEL, loadEncoder } from '../../encoders/load-encoder.ts';
import { modelOptions, encoderOptionsFrom, type ModelCliOptions } from '../model-options.ts';
import { loadBeirDataset } from '../../eval/beir.ts';
import {
  EVAL_MODES, INDEX_KINDS, cacheCollectionDir, runDataset, tuneConvexWeight,
  type EvalMode, type HybridVariant, type IndexKind, type RetrieverResult, type WeightTuning,
} from '../../eval/runner.ts';
import { buildReport, formatTable, versions, type RerankedRetrieverResult } from '../../eval/report.ts';
import type { BeirDataset } from '../../eval/beir.ts';
import { evaluateRun } from '../../eval/metrics.ts';
import { Collection } from '../../collection/collection.ts';
import type { RetrieverOptions } from '../../retriever/retriever.ts';
import { runQueries } from '../../retriever/run-queries.ts';
import { checkRerankOptions, rerankOptions, retrieverFrom, type RerankCliOptions } from '../rerank-options.ts';
import { metricsChartSvg } from '../../eval/chart.ts';
import { runTatoeba, runXquad } from '../../eval/crosslingual.ts';
import { DEFAULT_CONVEX_WEIGHT, DEFAULT_RRF_K, resolveHybridOptions } from '../../retriever/fusion.ts';

interface EvalCliOptions extends ModelCliOptions, RerankCliOptions {
  rerankOn?: string;
  adapter?: string;
  cv?: string;
  dataset?: string;
  split: string;
  index: string;
  mode: string;
  fusion: string;
  weight?: string;
  tuneOn?: string;
  rrfK?: string;
  stopwords: 'english' | 'none';
  k: string;
  out?: string;
  chart?: string;
  collection?: string;
  perQuery?: boolean;
  ignoreIdenticalIds?: boolean;
  task?: 'beir' | 'xquad' | 'tatoeba';
  lang?: string;
  docLang?: string;
}

const TABLE_METRICS = ['ndcg@10', 'recall@100', 'mrr@10', 'map@10', 'precision@10'];
const CHART_METRICS = ['ndcg@10', 'recall@100', 'mrr@10'];

function list<T extends string>(value: string, allowed: readonly T[], what: string, all = false): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (all && items.length === 1 && items[0] === 'all') return [...allowed];
  const bad = items.filter((s) => !allowed.includes(s as T));
  if (items.length === 0 || bad.length > 0) {
    throw new BiencoderError('INVALID_ARGUMENT', `--${what} takes a comma-separated list of ${allowed.join(', ')}${all ? ' (or all)' : ''}; got ${JSON.stringify(value)}`);
  }
  return [...new Set(items as T[])];
}

function number(value: string | undefined, what: string, check: (n: number) => boolean, expected: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !check(n)) throw new BiencoderError('INVALID_ARGUMENT', `--${what} must be ${expected}, got ${JSON.stringify(value)}`);
  return n;
}

function writeOut(path: string, text: string): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileSync(path, text);
}

function modelSlug(model: string): string {
  return basename(model.replace(/[\\/]+$/, '')).replace(/[^\w.-]+/g, '_') || 'model';
}

export function evalCommand(): Command {
  const cmd = new Command('eval')
    .description(
      'Evaluate retrieval: dense (per index kind), BM25 and hybrid on a BEIR-format dataset (nDCG, MRR, Recall, MAP, P at 1/3/5/10/100),\n' +
        'and with --rerank MODEL one retriever followed by a cross-encoder (a "<retriever>+rerank" row, see --rerank-on),\n' +
        'or the cross-lingual tasks --task xquad (Recall@1/@10) and --task tatoeba (bitext mining accuracy, both directions).\n' +
        'Prints a table; --out writes a JSON report, --chart an SVG bar chart of the metrics per retriever.',
    )
    .option('--dataset <dir>', 'BEIR dataset directory (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv); for --task xquad|tatoeba the data directory (default ../shared/data/TASK)')
    .option('--split <name>', 'qrels split: test, train, dev', 'test')
    .option('--index <kinds>', `dense index kinds, comma-separated: ${INDEX_KINDS.join(', ')} or all`, 'flat')
    .option('--mode <modes>', `retrievers, comma-separated: ${EVAL_MODES.join(', ')}`, EVAL_MODES.join(','))
    .option('--fusion <methods>', 'hybrid fusion(s), comma-separated: rrf, convex', 'rrf,convex')
    .option('--weight <w>', `convex fusion: weight of the dense scores in [0, 1] (default ${DEFAULT_CONVEX_WEIGHT}, tuned on scifact train)`)
    .option('--tune-on <split>', 'tune the convex weight on this split of the dataset (e.g. train; grid 0..1 step 0.01 over the same candidates the evaluation fuses, best nDCG@10), then evaluate --split with it')
    .option('--rrf-k <n>', `reciprocal-rank fusion constant (default ${DEFAULT_RRF_K})`)
    .addOption(new Option('--stopwords <set>', 'stopwords dropped from BM25 queries').choices(['english', 'none']).default('english'))
    .option('--k <n>', 'results retrieved per query (hybrid fuses max(k, 1000) candidates per side)', '100')
    .option('--out <file>', 'write the JSON report here')
    .option('--chart <file>', 'write an SVG chart of nDCG@10, Recall@100 and MRR@10 per retriever here')
    .option('--collection <dir>', 'where the collections of this dataset and model live (default .cache/eval/DATASET-MODEL); reused when present')
    .option('--per-query', 'include per-query metrics in the JSON report')
    .option('--ignore-identical-ids', "BEIR's rule for ArguAna/Quora-like sets: drop a hit whose id equals the query id")
    .addOption(new Option('--task <task>', 'beir (default), xquad or tatoeba').choices(['beir', 'xquad', 'tatoeba']).default('beir'))
    .option('--lang <code>', 'xquad: question language (default en); tatoeba: the non-English language (default deu)')
    .option('--doc-lang <code>', 'xquad: paragraph language (default: same as --lang)')
    .option('--adapter <split>', 'add a "flat+adapter" row: dense search with a query adapter trained on this split of the dataset (e.g. train; see biencoder tune)')
    .option('--cv <k>', 'add a "flat+adapter(cvK)" row: K-fold cross-validation of query adapters over the evaluated split (for datasets without a train split)')
    .option('--rerank-on <retriever>', 'with --rerank: the evaluated retriever whose candidates the cross-encoder reranks, as "<retriever>+rerank" (default: hybrid_convex, else the first hybrid, else flat, else bm25)');
  modelOptions(cmd);
  rerankOptions(cmd);
  return cmd.action(async (opts: EvalCliOptions, command: Command) => {
    checkRerankOptions(command, opts);
    if (opts.rerankOn !== undefined && opts.rerank === undefined) command.error('--rerank-on needs --rerank MODEL', { exitCode: 2, code: 'biencoder.rerankUsage' });
    const model = opts.model ?? DEFAULT_MODEL;
    if (opts.task === 'xquad' || opts.task === 'tatoeba') {
      if (opts.rerank !== undefined) throw new BiencoderError('INVALID_ARGUMENT', `--rerank evaluates a BEIR dataset's retrieval; --task ${opts.task} has no reranking stage`);
      const dir = opts.dataset ?? join('..', 'shared', 'data', opts.task);
      const encoder = await loadEncoder(model, encoderOptionsFrom(opts));
      try {
        await crossLingual(opts, encoder, dir);
      } finally {
        await encoder.close();
      }
      return;
    }
    if (opts.dataset === undefined) throw new BiencoderError('INVALID_ARGUMENT', 'eval needs --dataset DIR (a BEIR-format directory), or --task xquad|tatoeba');
    const indexes = list<IndexKind>(opts.index, INDEX_KINDS, 'index', true);
    const modes = list<EvalMode>(opts.mode, EVAL_MODES, 'mode');
    const fusions = list(opts.fusion, ['rrf', 'convex'] as const, 'fusion');
    const k = number(opts.k, 'k', (n) => Number.isInteger(n) && n >= 1 && n <= 10_000, 'an integer in 1..10000')!;
    let weight = number(opts.weight, 'weight', (n) => n >= 0 && n <= 1, 'a number in [0, 1]') ?? DEFAULT_CONVEX_WEIGHT;
    if (opts.tuneOn !== undefined && opts.weight !== undefined) throw new BiencoderError('INVALID_ARGUMENT', 'give --weight or --tune-on, not both');
    if (opts.tuneOn !== undefined && opts.tuneOn === opts.split) throw new BiencoderError('INVALID_ARGUMENT', `--tune-on ${opts.tuneOn} is the evaluated split: tune on another split (e.g. train) so the figures stay honest`);
    const folds = number(opts.cv, 'cv', (n) => Number.isInteger(n) && n >= 2 && n <= 20, 'an integer in 2..20');
    const rrfK = number(opts.rrfK, 'rrf-k', (n) => Number.isFinite(n) && n >= 0, 'a number >= 0') ?? DEFAULT_RRF_K;
    const dataset = loadBeirDataset(opts.dataset, { split: opts.split });
    if (dataset.queries.length === 0) throw new BiencoderError('INVALID_INPUT', `${dataset.dir}: no query of split ${opts.split} has a judgement`);
    const cacheDir = opts.collection ?? join('.cache', 'eval', `${dataset.name}-${modelSlug(model)}`);
    const tuneSet = opts.tuneOn === undefined ? undefined : loadBeirDataset(opts.dataset, { split: opts.tuneOn, skipCorpus: true });
    let variants: HybridVariant[] = fusions.map((f) => (f === 'rrf' ? { name: 'hybrid_rrf', fusion: 'rrf', rrfK } : { name: 'hybrid_convex', fusion: 'convex', weight }));
    if (opts.rerankOn !== undefined) {
      // Checked before anything runs: the names runDataset gives its retrievers.
      const names = [...(modes.includes('dense') ? indexes : []), ...(modes.includes('keyword') ? ['bm25'] : []), ...(modes.includes('hybrid') ? variants.map((v) => v.name) : [])];
      if (!names.includes(opts.rerankOn)) throw new BiencoderError('INVALID_ARGUMENT', `--rerank-on takes one of the evaluated retrievers (${names.join(', ')}); got ${JSON.stringify(opts.rerankOn)}`);
    }
    const encoder = await loadEncoder(model, encoderOptionsFrom(opts));
    try {
      const log = (line: string): void => void process.stderr.write(`${line}\n`);
      log(`${dataset.name} (${opts.split}): ${dataset.corpus.length} documents, ${dataset.queries.length} judged queries; collections in ${cacheDir}`);
      let tuning: (WeightTuning & { split: string }) | undefined;
      if (tuneSet !== undefined) {
        log(`tuning the convex weight on ${tuneSet.split} (${tuneSet.queries.length} queries)`);
        // Tune on the runs the evaluation fuses: a hybrid search's default candidates per side for k results.
        const candidates = resolveHybridOptions(undefined, k).candidates;
        const tuneRun = await runDataset({ ...tuneSet, corpus: dataset.corpus }, { encoder, cacheDir, modes: ['dense', 'keyword'], k: candidates, stopwords: opts.stopwords, log });
        tuning = { split: tuneSet.split, ...tuneConvexWeight(tuneRun.runs.dense, tuneRun.runs.keyword, tuneSet.qrels, { k, candidates, step: 0.01 }) };
        weight = tuning.weight;
        variants = variants.map((v) => (v.fusion === 'convex' ? { ...v, weight } : v));
        process.stdout.write(`convex weight tuned on ${tuning.split}: ${weight} (nDCG@10 ${tuning.best.toFixed(4)} there)\n`);
      }
      const run = await runDataset(dataset, {
        encoder, cacheDir, indexes, modes, hybrid: variants, k, stopwords: opts.stopwords, ignoreIdenticalIds: opts.ignoreIdenticalIds, log,
      });
      const rows = run.retrievers.map((r) => ({ name: r.name, metrics: r.metrics, extra: `${r.searchQueriesPerSecond.toFixed(0)} q/s` }));
      const reranked: RerankedRetrieverResult[] = [];
      if (opts.rerank !== undefined) {
        const row = await rerankRow(dataset, run.retrievers, opts, { encoder, cacheDir, k, stopwords: opts.stopwords, log });
        reranked.push(row);
        const m = row.rerank.meanMs;
        rows.push({
          name: row.name, metrics: row.metrics,
          extra: `${m.total.toFixed(1)} ms/q (embed ${m.embed.toFixed(1)}, search ${m.search.toFixed(1)}, rerank ${m.rerank.toFixed(1)}; ${row.rerank.rerankedPerQuery.toFixed(0)} reranked/q)`,
        });
      }
      const adapted = opts.adapter === undefined && folds === undefined ? [] : await adapterRows(dataset, { adapterSplit: opts.adapter, folds, datasetDir: opts.dataset }, {
        encoder, cacheDir, k, ignoreIdenticalIds: opts.ignoreIdenticalIds, log,
      });
      for (const a of adapted) rows.push({ name: a.name, metrics: a.evaluation.mean, extra: '' });
      process.stdout.write(`${dataset.name} ${opts.split}: ${run.queries} queries, model ${encoder.modelId}, k ${k}\n`);
      process.stdout.write(`${formatTable(rows, TABLE_METRICS)}\n`);
      const docsPerSecond = run.corpus.docsPerSecond === null ? 'unknown' : run.corpus.docsPerSecond.toFixed(1);
      process.stdout.write(`corpus: ${run.corpus.documents} documents (${run.corpus.embedded} embedded now, encode ${docsPerSecond} docs/s); queries encoded at ${run.queryEncoding.queriesPerSecond.toFixed(1)}/s\n`);
      if (opts.out) {
        const report = {
          ...buildReport(run, encoder, { perQuery: opts.perQuery, reranked }), ...(tuning ? { convexTuning: tuning } : {}),
          ...(adapted.length > 0 ? { adapters: adapted.map((a) => ({ name: a.name, metrics: a.evaluation.mean, ...a.detail })) } : {}),
        };
        writeOut(opts.out, `${JSON.stringify(report, null, 2)}\n`);
        process.stdout.write(`report: ${opts.out}\n`);
      }
      if (opts.chart) {
        writeOut(opts.chart, metricsChartSvg([...run.retrievers, ...reranked].map((r) => ({ name: r.name, values: r.metrics })), { title: `${dataset.name} (${opts.split}), ${encoder.modelId}`, metrics: CHART_METRICS }));
        process.stdout.write(`chart: ${opts.chart}\n`);
      }
    } finally {
      await encoder.close();
    }
  });
}

/** The retriever --rerank reranks by default: the hybrid the CLI searches with, else dense (flat), else BM25. */
function defaultRerankRoute(retrievers: readonly RetrieverResult[]): RetrieverResult | undefined {
  return retrievers.find((r) => r.name === 'hybrid_convex') ?? retrievers.find((r) => r.mode === 'hybrid')
    ?? retrievers.find((r) => r.name === 'flat') ?? retrievers.find((r) => r.mode === 'dense') ?? retrievers.find((r) => r.mode === 'keyword');
}

/**
 * eval --rerank: the chosen retriever's first stage, run query by query through a Retriever over the same
 * collection and options (index kind, fusion, stopwords), its top --rerank-top reranked by the cross-encoder,
 * evaluated in the reranked order (rerank scores and the rest's retrieval scores are on different scales).
 */
async function rerankRow(
  dataset: BeirDataset, retrievers: readonly RetrieverResult[], opts: EvalCliOptions,
  run: { encoder: Encoder; cacheDir: string; k: number; stopwords: 'english' | 'none'; log: (line: string) => void },
): Promise<RerankedRetrieverResult> {
  const route = opts.rerankOn === undefined ? defaultRerankRoute(retrievers) : retrievers.find((r) => r.name === opts.rerankOn);
  if (route === undefined) {
    throw new BiencoderError('INVALID_ARGUMENT', `--rerank-on takes one of the evaluated retrievers (${retrievers.map((r) => r.name).join(', ') || 'none'}); got ${JSON.stringify(opts.rerankOn)}`);
  }
  const firstStage: Pick<RetrieverOptions, 'mode' | 'hybrid' | 'keyword'> = route.mode === 'dense'
    ? { mode: 'dense' }
    : {
      mode: route.mode,
      keyword: { stopwords: route.keyword?.stopwords ?? run.stopwords },
      ...(route.fusion === undefined ? {} : {
        hybrid: {
          fusion: route.fusion.method, candidates: route.fusion.candidates,
          ...(route.fusion.weight === undefined ? {} : { weight: route.fusion.weight }),
          ...(route.fusion.normalization === undefined ? {} : { normalization: route.fusion.normalization }),
          ...(route.fusion.rrfK === undefined ? {} : { rrfK: route.fusion.rrfK }),
        },
      }),
    };
  // runDataset has just built and synced the collections of this cache: open the route's one, read-only.
  const kind: IndexKind = route.mode === 'dense' && (INDEX_KINDS as readonly string[]).includes(route.name) ? route.name as IndexKind : 'flat';
  const target = await Collection.open(cacheCollectionDir(run.cacheDir, kind), { encoder: run.encoder, readOnly: true });
  try {
    const { retriever, reranker, close } = await retrieverFrom(target, opts, firstStage);
    try {
      run.log(`rerank: ${route.name} top ${retriever.candidates} with ${reranker!.modelId}, ${dataset.queries.length} queries one at a time`);
      const summary = await runQueries(retriever, dataset.queries, {
        k: run.k,
        onQuery: (done, total) => {
          if (done % 50 === 0 || done === total) run.log(`rerank: ${done}/${total} queries`);
        },
      });
      const evaluation = evaluateRun(summary.run, dataset.qrels, { keepOrder: true, ignoreIdenticalIds: opts.ignoreIdenticalIds });
      const perQueryMs = summary.meanMs.search + summary.meanMs.rerank;
      const { evaluation: _e, metrics: _m, searchQueriesPerSecond: _q, ...routeSpec } = route;
      return {
        ...routeSpec,
        name: `${route.name}+rerank`,
        metrics: evaluation.mean,
        searchQueriesPerSecond: perQueryMs > 0 ? 1000 / perQueryMs : 0,
        evaluation,
        rerank: {
          model: reranker!.modelId,
          route: route.name,
          top: retriever.candidates,
          rerankedPerQuery: summary.queries > 0 ? summary.reranked / summary.queries : 0,
          budgetMs: retriever.budgetMs ?? null,
          meanMs: summary.meanMs,
        },
      };
    } finally {
      await close();
    }
  } finally {
    await target.close();
  }
}

async function crossLingual(opts: EvalCliOptions, encoder: Encoder, dir: string): Promise<void> {
  let result: Record<string, unknown>;
  if (opts.task === 'xquad') {
    const queryLanguage = opts.lang ?? 'en';
    const documentLanguage = opts.docLang ?? queryLanguage;
    const r = await runXquad(encoder, dir, { queryLanguage, documentLanguage });
    process.stdout.write(`xquad ${queryLanguage} questions -> ${documentLanguage} paragraphs (${r.questions} questions, ${r.paragraphs} paragraphs), model ${encoder.modelId}\n`);
    process.stdout.write(`${formatTable([{ name: `${queryLanguage}->${documentLanguage}`, metrics: r.metrics }], ['recall@1', 'recall@10', 'mrr@10'])}\n`);
    result = { ...r };
  } else {
    if (opts.docLang !== undefined) throw new BiencoderError('INVALID_ARGUMENT', '--doc-lang is for --task xquad; Tatoeba pairs --lang with English');
    const language = opts.lang ?? 'deu';
    const r = await runTatoeba(encoder, dir, { language });
    process.stdout.write(`tatoeba ${language}-eng (${r.pairs} pairs), model ${encoder.modelId}\n`);
    process.stdout.write(`${formatTable([{ name: `${language}-eng`, metrics: { [`${language}->eng`]: r.accuracyToEnglish, [`eng->${language}`]: r.accuracyFromEnglish } }], [`${language}->eng`, `eng->${language}`])}\n`);
    result = { ...r };
  }
  if (opts.out) {
    writeOut(opts.out, `${JSON.stringify({ format: 'biencoder-eval-report', createdAt: new Date().toISOString(), versions: versions(encoder), ...result }, null, 2)}\n`);
    process.stdout.write(`report: ${opts.out}\n`);
  }
  if (opts.chart) {
    const values = opts.task === 'xquad' ? (result.metrics as Record<string, number>) : { 'to-eng': result.accuracyToEnglish as number, 'from-eng': result.accuracyFromEnglish as number };
    writeOut(opts.chart, metricsChartSvg([{ name: `${opts.task}`, values }], { title: `${opts.task}, ${encoder.modelId}` }));
    process.stdout.write(`chart: ${opts.chart}\n`);
  }
}
