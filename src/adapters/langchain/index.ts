/**
 * biencoder/langchain: LangChain.js integrations, thin classes over biencoder's core (needs @langchain/core).
 */
export { BiencoderEmbeddings, type BiencoderEmbeddingsParams } from './embeddings.ts';
export { BiencoderVectorStore, type BiencoderVectorStoreArgs } from './vector-store.ts';
export { BiencoderRerank, type BiencoderRerankArgs } from './compressor.ts';
