import { BiencoderError } from '../errors.ts';
import type { EncodeOptions, Embeddings, Encoder, Metric, Prompts, Role } from './encoder.ts';

export interface BiEncoderOptions {
  /** The encoder for documents, and for queries too unless `query` is given (shared weights). */
  readonly document: Encoder;
  /** A separate query encoder (asymmetric bi-encoder). Its dims must equal the document encoder's. */
  readonly query?: Encoder;
  /** Prompts per role overriding the models' own (from config_sentence_transformers.json). '' removes one. */
  readonly prompts?: Prompts;
  /** The similarity to rank with. Default: the document model's similarity function. */
  readonly metric?: Metric;
}

/**
 * Embeds queries and documents into one vector space: one shared encoder, or a query encoder and
 * a document encoder. Each side applies its role's prompt (e5's "query: " / "passage: ", BGE's instruction).
 */
export class BiEncoder {
  readonly queryEncoder: Encoder;
  readonly documentEncoder: Encoder;
  readonly metric: Metric;
  readonly #prompts: Prompts;

  constructor(options: BiEncoderOptions) {
    this.documentEncoder = options.document;
    this.queryEncoder = options.query ?? options.document;
    if (this.queryEncoder.dims !== this.documentEncoder.dims) {
      throw new BiencoderError(
        'DIMENSION_MISMATCH',
        `query encoder ${this.queryEncoder.modelId} gives ${this.queryEncoder.dims}-d vectors, document encoder ${this.documentEncoder.modelId} gives ${this.documentEncoder.dims}-d`,
      );
    }
    this.metric = options.metric ?? this.documentEncoder.similarity;
    this.#prompts = options.prompts ?? {};
  }

  get dims(): number {
    return this.documentEncoder.dims;
  }

  /** True when queries and documents go through the same encoder. */
  get shared(): boolean {
    return this.queryEncoder === this.documentEncoder;
  }

  /** The prompt that the given role's texts get. */
  promptFor(role: Role): string {
    const encoder = role === 'query' ? this.queryEncoder : this.documentEncoder;
    return this.#prompts[role] ?? encoder.prompts[role] ?? '';
  }

  encodeQueries(texts: readonly string[], options: Omit<EncodeOptions, 'role' | 'prompt'> = {}): Promise<Embeddings> {
    return this.queryEncoder.encode(texts, { ...options, role: 'query', prompt: this.promptFor('query') });
  }

  encodeDocuments(texts: readonly string[], options: Omit<EncodeOptions, 'role' | 'prompt'> = {}): Promise<Embeddings> {
    return this.documentEncoder.encode(texts, { ...options, role: 'document', prompt: this.promptFor('document') });
  }

  async close(): Promise<void> {
    await this.documentEncoder.close();
    if (!this.shared) await this.queryEncoder.close();
  }
}
