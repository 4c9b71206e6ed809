export { chunkDocuments, chunkId, chunkText, createChunker, parseChunkId } from './chunker.ts';
export type { Chunk, Chunker, ChunkOptions, ChunkSource, TokenCounter } from './chunker.ts';
