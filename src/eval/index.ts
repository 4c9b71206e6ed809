export { loadBeirDataset, loadJudgedQueries, parseQrels, documentText, type BeirDataset, type BeirDocument, type BeirQuery, type LoadBeirOptions } from './beir.ts';
export {
  evaluateRun, queryMetrics, trecOrder, metricKey, METRIC_NAMES, DEFAULT_CUTOFFS,
  type Qrels, type Run, type RankedHit, type MetricName, type MetricValues, type Evaluation, type EvaluateOptions,
} from './metrics.ts';
export {
  runDataset, tuneConvexWeight, tuneConvexFusion, variantCandidates, fuseRuns, encodeQueries, ensureCorpusCollection, ensureIndexCollection, INDEX_KINDS, INDEX_KIND_SPECS, EVAL_MODES,
  type IndexKind, type EvalMode, type RunDatasetOptions, type DatasetRun, type RetrieverResult, type CorpusBuild, type HybridVariant, type WeightTuning, type FusionTuning, type TuneConvexFusionOptions, type SplitRuns,
} from './runner.ts';
export { buildReport, formatTable, versions, type EvalReport, type Versions, type RerankedRetrieverResult } from './report.ts';
export { metricsChartSvg, type ChartSeries, type ChartOptions } from './chart.ts';
export {
  runXquad, runTatoeba, readXquad, readTatoeba, XQUAD_LANGUAGES, TATOEBA_LANGUAGES, type XquadResult, type TatoebaResult, type XquadParagraphs,
} from './crosslingual.ts';
