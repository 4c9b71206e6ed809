/**
 * LlamaIndex.TS `BaseEmbedding` over a biencoder Encoder: texts (nodes) are embedded with the model's
 * document prompt, queries with its query prompt, in batches of embedBatchSize.
 */
import { BaseEmbedding } from '@llamaindex/core/embeddings';
import type { MessageContentDetail } from '@llamaindex/core/llms';
import { BiencoderError } from '../../errors.ts';
import type { Encoder, Role } from '../../encoders/encoder.ts';
import { matrixToArrays } from '../../matrix.ts';

export interface BiencoderLlamaEmbeddingOptions {
  /** The loaded encoder; the caller closes it. */
  readonly encoder: Encoder;
  /** Texts per encode() call. Default 64. */
  readonly embedBatchSize?: number;
}

export class BiencoderLlamaEmbedding extends BaseEmbedding {
  readonly encoder: Encoder;

  constructor(options: BiencoderLlamaEmbeddingOptions) {
    super();
    if (options?.encoder === undefined || typeof options.encoder.encode !== 'function') throw new BiencoderError('INVALID_ARGUMENT', 'BiencoderLlamaEmbedding needs { encoder }');
    this.encoder = options.encoder;
    const size = options.embedBatchSize ?? 64;
    if (!Number.isInteger(size) || size < 1) throw new BiencoderError('INVALID_ARGUMENT', `embedBatchSize must be a positive integer, got ${String(size)}`);
    this.embedBatchSize = size;
    // Whole batches in one encode() call (the base class embeds one text at a time).
    this.getTextEmbeddings = (texts: string[]) => this.#encode(texts, 'document');
  }

  async getTextEmbedding(text: string): Promise<number[]> {
    return (await this.#encode([text], 'document'))[0];
  }

  override async getQueryEmbedding(query: MessageContentDetail): Promise<number[] | null> {
    const text = typeof query === 'string' ? query : query.type === 'text' ? query.text : undefined;
    return text === undefined ? null : (await this.#encode([text], 'query'))[0];
  }

  async #encode(texts: string[], role: Role): Promise<number[][]> {
    return matrixToArrays(await this.encoder.encode(texts, { role }));
  }
}
