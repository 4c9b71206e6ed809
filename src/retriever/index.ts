export { Retriever, type RetrieverOptions, type RetrieveOptions, type RetrievedHit, type RetrievalResult, type RetrievalTimings } from './retriever.ts';
export { RerankCostModel } from './cost-model.ts';
export { runQueries, type QueryRunSummary } from './run-queries.ts';
