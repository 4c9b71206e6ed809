export { Retriever, type RetrieverOptions, type RetrieveOptions, type RetrievedHit, type RetrievalResult, type RetrievalTimings } from './retriever.ts';
export { RerankCostModel } from './cost-model.ts';
export { runQueries, type QueryRunSummary } from './run-queries.ts';
export {
  reciprocalRankFusion, convexFusion, minMaxNormalize, normalizeScores, prepareConvexFusion, combineConvex, fuseRankings, resolveHybridOptions,
  DEFAULT_CONVEX_WEIGHT, DEFAULT_FUSION, DEFAULT_RRF_K, DEFAULT_HYBRID_CANDIDATES, DEFAULT_NORMALIZATION, SCORE_NORMALIZATIONS,
  type HybridOptions, type ResolvedHybridOptions, type FusionMethod, type Scored, type ScoreNormalization, type NormalizedScores, type ConvexInputs,
} from './fusion.ts';
export { DEFAULT_TEXT_SEARCH_MODE } from './default-mode.ts';
export { documentsInOrder, type RetrievedDocument } from './retrieved-documents.ts';
