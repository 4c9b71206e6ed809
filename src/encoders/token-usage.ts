import type { Encoder } from './encoder.ts';

/** Tokens the model actually read for these texts: each text's count, at most the model's maxTokens. */
export function tokensRead(encoder: Encoder, texts: readonly string[]): number {
  return encoder.countTokens(texts).reduce((s, n) => s + Math.min(n, encoder.maxTokens), 0);
}
