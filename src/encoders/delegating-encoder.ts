/**
 * An encoder that stands in front of another: every property and method goes to `inner` unless a
 * subclass overrides it (the server's micro-batcher, test and bench wrappers that count or time calls).
 */
import type { EncodeOptions, Embeddings, Encoder, Metric, Prompts } from './encoder.ts';

export class DelegatingEncoder implements Encoder {
  constructor(readonly inner: Encoder) {}

  get modelId(): string {
    return this.inner.modelId;
  }
  get revision(): string | undefined {
    return this.inner.revision;
  }
  get dims(): number {
    return this.inner.dims;
  }
  get normalized(): boolean {
    return this.inner.normalized;
  }
  get maxTokens(): number {
    return this.inner.maxTokens;
  }
  get prompts(): Prompts {
    return this.inner.prompts;
  }
  get similarity(): Metric {
    return this.inner.similarity;
  }
  get truncateDim(): number | undefined {
    return this.inner.truncateDim;
  }

  encode(texts: readonly string[], options?: EncodeOptions): Promise<Embeddings> {
    return this.inner.encode(texts, options);
  }

  countTokens(texts: readonly string[]): number[] {
    return this.inner.countTokens(texts);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
