export { chunkDocuments, chunkId, chunkText, parseChunkId } from './chunker.ts';
export type { Chunk, ChunkOptions, ChunkSource, TokenCounter } from './chunker.ts';
