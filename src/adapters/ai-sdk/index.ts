/**
 * biencoder/ai-sdk: a Vercel AI SDK provider (ai 6, @ai-sdk/provider 3) over biencoder's models.
 */
export { createBiencoder, type BiencoderProvider, type BiencoderProviderSettings, type BiencoderEmbeddingSettings } from './provider.ts';
