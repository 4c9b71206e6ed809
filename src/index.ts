// The public API of biencoder.
export { BiencoderError, isBiencoderError, type ErrorCode } from './errors.ts';
export { createMatrix, matrixFrom, matrixFromRows, matrixRow, matrixRows, normalizeRows, type Matrix } from './matrix.ts';
export type { Encoder, EncodeOptions, EncodeProgress, Embeddings, Metric, Prompts, Role } from './encoders/encoder.ts';
export { BiEncoder, type BiEncoderOptions } from './encoders/bi-encoder.ts';
export { similarity, similarityMatrix, pairwiseSimilarity, METRICS } from './encoders/similarity.ts';
export { prepareTexts } from './encoders/text-input.ts';
export { loadEncoder, DEFAULT_MODEL, type LoadEncoderOptions } from './encoders/load-encoder.ts';
export { OnnxEncoder, loadOnnxEncoder, type OnnxEncoderOptions } from './encoders/onnx/onnx-encoder.ts';
export { DTYPE_SUFFIX, type Dtype, type SentenceTransformerConfig } from './encoders/onnx/model-config.ts';
export type { PoolingMode } from './encoders/onnx/pooling.ts';
export { resolveModel, listCachedModels, parseHubId, type ModelSourceOptions, type ResolvedModel } from './encoders/onnx/model-source.ts';
export { loadUseLite, UseLiteEncoder, USE_LITE_DEFAULT_ROUTE, type UseLiteOnnxFile, type UseLiteOptions, type UseLiteRoute } from './encoders/use-lite/index.ts';
export * from './chunking/index.ts';
export type { VectorIndex, IndexMetric, IndexMatches, IndexSearchOptions, Key, Keys } from './index/vector-index.ts';
export { FlatIndex, type FlatIndexOptions } from './index/flat-index.ts';
export { HnswIndex, type HnswIndexOptions, type HnswSearchOptions, type Quantization, type FilterStrategy } from './index/hnsw-index.ts';
export { createIndex, loadIndex, resolveIndexSpec, DEFAULT_INDEX_SPEC, type IndexSpec, type IndexSpecInput } from './index/index-spec.ts';
export { DEFAULT_RESCORE } from './quantize/rescore.ts';
export {
  Collection,
  DEFAULT_COLLECTION_INDEX,
  SEARCH_MODES,
  type CreateCollectionOptions,
  type OpenCollectionOptions,
  type DocumentInput,
  type VectorDocumentInput,
  type StoredDocument,
  type SearchHit,
  type SearchOptions,
  type EncoderDescriptor,
  type SearchMode,
} from './collection/collection.ts';
export { checkCollection, type CheckReport, type CheckProblem } from './collection/check.ts';
export { parseFilter, matchesFilter, type MetadataFilter, type Metadata, type JsonValue } from './collection/filter.ts';
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
export * from './rerank/index.ts';
export * from './retriever/index.ts';
export { keywordTerms, keywordMatchExpression, ENGLISH_STOPWORDS, KEYWORD_TOKENIZER, type KeywordQueryOptions, type KeywordStopwords } from './collection/keyword-index.ts';
export * from './eval/index.ts';
export type { CollectionApi, CollectionApiInfo } from './collection/collection-api.ts';
export { openCollection, createCollection, isPostgresTarget, readTargetManifest, type OpenTargetOptions, type CreateTargetOptions } from './collection/open-collection.ts';
export { PgvectorCollection, type PgvectorOpenOptions, type PgvectorCreateOptions, type PgvectorInfo, type BuildIndexOptions } from './collection/pgvector/pgvector-collection.ts';
export { migrateCollection, type MigrateOptions, type MigrateProgress, type MigrateReport, type MigrateVerification } from './collection/pgvector/migrate.ts';
export { parsePgTarget, type PgTarget } from './collection/pgvector/target.ts';
export { createServer, DEFAULT_BODY_LIMIT, type ServerOptions } from './server/app.ts';
export type { ServerRerankOptions } from './server/rerank.ts';
export { BatchingEncoder, DEFAULT_MICRO_BATCH, type MicroBatchOptions } from './server/micro-batcher.ts';
export { HttpError, type HttpErrorCode, type ServerErrorCode } from './server/errors.ts';
export { COLLECTION_NAME_PATTERN } from './server/collection-registry.ts';
export {
  indexDocuments,
  documentRows,
  type IndexDocumentsOptions,
  type IndexCounts,
  type IndexProgress,
  type IndexSummary,
} from './ingest/index-documents.ts';
export { resolveInputs, formatOf, SUPPORTED_EXTENSIONS, type InputFile, type InputFormat, type ResolvedInputs } from './ingest/input-files.ts';
export { readDocuments, readInputs } from './ingest/read-documents.ts';
export { scanInputs, type InputScan } from './ingest/scan-inputs.ts';
export { recordToDocument, type SourceDocument } from './ingest/source-document.ts';
