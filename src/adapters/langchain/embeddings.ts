/**
 * LangChain.js `Embeddings` over a biencoder Encoder: documents are embedded with the model's document
 * prompt, queries with its query prompt (asymmetric models such as e5 or bge need both), in batches.
 */
import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { BiencoderError } from '../../errors.ts';
import type { Encoder } from '../../encoders/encoder.ts';
import { matrixToArrays } from '../../matrix.ts';

export interface BiencoderEmbeddingsParams extends EmbeddingsParams {
  /** The loaded encoder (loadEncoder(), loadOnnxEncoder()); the caller closes it. */
  readonly encoder: Encoder;
  /** Texts per encode() call in embedDocuments. Default 64. */
  readonly batchSize?: number;
  /** Cancels embedding in progress (every call made with this instance). maxRetries defaults to 0. */
  readonly signal?: AbortSignal;
}

export class BiencoderEmbeddings extends Embeddings {
  readonly encoder: Encoder;
  readonly batchSize: number;
  readonly signal: AbortSignal | undefined;

  constructor(params: BiencoderEmbeddingsParams) {
    // A local model fails the same way on a retry: no retries unless asked for (LangChain's default is 6).
    super({ maxRetries: 0, ...params });
    if (params?.encoder === undefined || typeof params.encoder.encode !== 'function') {
      throw new BiencoderError('INVALID_ARGUMENT', 'BiencoderEmbeddings needs { encoder } (loadEncoder())');
    }
    const batchSize = params.batchSize ?? 64;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new BiencoderError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${String(batchSize)}`);
    this.encoder = params.encoder;
    this.batchSize = batchSize;
    this.signal = params.signal;
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < documents.length; i += this.batchSize) {
      const batch = documents.slice(i, i + this.batchSize);
      out.push(...(await this.caller.call(() => this.#encode(batch, 'document'))));
    }
    return out;
  }

  async embedQuery(document: string): Promise<number[]> {
    const [vector] = await this.caller.call(() => this.#encode([document], 'query'));
    return vector;
  }

  async #encode(texts: string[], role: 'document' | 'query'): Promise<number[][]> {
    return matrixToArrays(await this.encoder.encode(texts, { role, ...(this.signal ? { signal: this.signal } : {}) }));
  }
}
