/**
 * The root entry point of biencoder: encoders, vector indexes, collections, retrieval, reranking,
 * chunking and ingest. It loads no HTTP server, PostgreSQL client or TF.js: those live behind
 * subpath exports (`biencoder/server`, `biencoder/pgvector`, `biencoder/eval`), and a postgres://
 * target given to openCollection() loads the pgvector store on first use.
 */
export { BiencoderError, isBiencoderError, type ErrorCode } from './errors.ts';
export { createMatrix, matrixFrom, matrixFromRows, matrixRow, matrixRows, normalizeRows, type Matrix } from './matrix.ts';

// Encoders
export type { Encoder, EncodeOptions, EncodeProgress, Embeddings, Metric, Prompts, Role } from './encoders/encoder.ts';
export { BiEncoder, type BiEncoderOptions } from './encoders/bi-encoder.ts';
export { similarity, similarityMatrix, pairwiseSimilarity, METRICS } from './encoders/similarity.ts';
export { loadEncoder, DEFAULT_MODEL, type LoadEncoderOptions } from './encoders/load-encoder.ts';
export { TruncatedEncoder, withTruncateDim } from './encoders/truncated-encoder.ts';
export { OnnxEncoder, loadOnnxEncoder, type OnnxEncoderOptions } from './encoders/onnx/onnx-encoder.ts';
export type { Dtype, SentenceTransformerConfig } from './encoders/onnx/model-config.ts';
export type { PoolingMode } from './encoders/onnx/pooling.ts';
export { resolveModel, listCachedModels, type ModelSourceOptions, type ResolvedModel } from './encoders/onnx/model-source.ts';
export { loadUseLite, UseLiteEncoder, USE_LITE_DEFAULT_ROUTE, type UseLiteOnnxFile, type UseLiteOptions, type UseLiteRoute } from './encoders/use-lite/use-lite-encoder.ts';

// Chunking
export { chunkDocuments, chunkId, chunkText, createChunker, parseChunkId, type Chunk, type Chunker, type ChunkOptions, type ChunkSource, type TokenCounter } from './chunking/chunker.ts';
export {
  CHUNK_METADATA_KEY,
  groupByDocument,
  searchDocuments,
  chunkMetadataOf,
  parentMetadata,
  type ChunkMetadata,
  type DocumentHit,
  type SearchDocumentsOptions,
} from './chunking/group-by-document.ts';

// Vector indexes
export type { VectorIndex, IndexMetric, IndexMatches, IndexSearchOptions, Key, Keys } from './index/vector-index.ts';
export { FlatIndex, type FlatIndexOptions } from './index/flat-index.ts';
export { HnswIndex, type HnswIndexOptions, type HnswSearchOptions, type Quantization, type FilterStrategy } from './index/hnsw-index.ts';
export { createIndex, loadIndex, resolveIndexSpec, DEFAULT_INDEX_SPEC, type IndexSpec, type IndexSpecInput } from './index/index-spec.ts';
export { DEFAULT_RESCORE } from './quantize/rescore.ts';

// Collections (the directory store; openCollection/createCollection take a postgres:// URL too)
export {
  Collection,
  DEFAULT_COLLECTION_INDEX,
  DEFAULT_UNNORMALIZED_INDEX,
  defaultCollectionIndex,
  SEARCH_MODES,
  type CreateCollectionOptions,
  type OpenCollectionOptions,
  type DocumentInput,
  type VectorDocumentInput,
  type StoredDocument,
  type SearchHit,
  type SearchOptions,
  type EmbedQueriesOptions,
  type EncoderDescriptor,
  type SearchMode,
  type TextWithVector,
  type WriteOptions,
} from './collection/collection.ts';
export type { CollectionApi, CollectionApiInfo } from './collection/collection-api.ts';
export { openCollection, createCollection, isPostgresTarget, readTargetManifest, type OpenTargetOptions, type CreateTargetOptions } from './collection/open-collection.ts';
export type { Manifest } from './collection/manifest.ts';
export { checkCollection, type CheckReport, type CheckProblem } from './collection/check.ts';
export { parseFilter, matchesFilter, type MetadataFilter, type Metadata, type JsonValue } from './collection/filter.ts';
export type { KeywordQueryOptions, KeywordStopwords } from './collection/keyword-query.ts';
// Keyword analysis (the analyzers every store's keyword search uses)
export { createAnalyzer, ANALYZER_LANGUAGES, isAnalyzerLanguage, type Analyzer, type AnalyzerSpec, type AnalyzerLanguage } from './analysis/index.ts';

// Retrieval and reranking
export { Retriever, type RetrieverOptions, type RetrieveOptions, type RetrievedHit, type RetrievalResult, type RetrievalTimings, type RetrieveRequest, type PipelineHit, type PipelineResult, type PipelineTimings } from './retriever/retriever.ts';
export {
  reciprocalRankFusion,
  convexFusion,
  DEFAULT_CONVEX_WEIGHT,
  DEFAULT_FUSION,
  DEFAULT_RRF_K,
  DEFAULT_HYBRID_CANDIDATES,
  DEFAULT_NORMALIZATION,
  type HybridOptions,
  type FusionMethod,
  type Scored,
  type ScoreNormalization,
} from './retriever/fusion.ts';
export { DEFAULT_TEXT_SEARCH_MODE } from './retriever/default-mode.ts';
// Query adapters (trained from a collection's judgements; applied to its text queries)
export {
  QueryAdapter, trainQueryAdapter, crossValidateQueryAdapter, tuneCollection, collectionSpace, matrixSpace, meanNdcg10,
  type AdapterTrainingData, type DocumentSpace, type TrainQueryAdapterOptions, type TrainQueryAdapterResult, type AdapterEpoch,
  type CrossValidationFold, type CrossValidationResult, type TuneCollectionOptions, type TuneCollectionResult, type QueryAdapterHeader,
} from './tune/index.ts';
export { CrossEncoder, loadCrossEncoder, type CrossEncoderOptions, type GraphChoice, type ScoreOptions, type PairScores, type RankOptions, type RankedDocument, type TextPair } from './rerank/cross-encoder.ts';
export type { Activation } from './rerank/activation.ts';
export type { PairTruncation } from './rerank/pair-tokenizer.ts';

// Ingest: files and records into a collection, chunked
export { indexDocuments, type IndexDocumentsOptions, type IndexCounts, type IndexProgress, type IndexSummary, type PartialDocument } from './ingest/index-documents.ts';
export { resolveInputs, SUPPORTED_EXTENSIONS, type InputFile, type InputFormat, type ResolvedInputs } from './ingest/input-files.ts';
export { readDocuments, readInputs } from './ingest/read-documents.ts';
export type { SourceDocument } from './ingest/source-document.ts';
