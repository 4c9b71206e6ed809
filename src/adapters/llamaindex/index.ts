/**
 * biencoder/llamaindex: LlamaIndex.TS integrations over biencoder's core (needs @llamaindex/core).
 */
export { BiencoderLlamaEmbedding, type BiencoderLlamaEmbeddingOptions } from './embedding.ts';
export { BiencoderLlamaVectorStore, REF_DOC_ID_KEY, toBiencoderFilter, type BiencoderLlamaVectorStoreOptions } from './vector-store.ts';
