/**
 * A Vercel AI SDK provider (specification v3: `ai` 6) over biencoder's encoders and cross-encoders, run in
 * process: `embed`, `embedMany` and `rerank` from `ai` take its models.
 *
 *   const biencoder = createBiencoder();
 *   const { embeddings } = await embedMany({ model: biencoder.embeddingModel('use-lite'), values });
 *
 * Models are loaded on their first call (loadEncoder / loadCrossEncoder: the embedded default, a hub id or
 * a local ONNX directory) and kept until close(); models passed in `encoders` / `rerankers` are used as they
 * are and left open. Embeddings use the model's document prompt unless the model or the call says `role:
 * 'query'` (`providerOptions: { biencoder: { role: 'query' } }`): asymmetric models need the right one.
 */
import { NoSuchModelError, type EmbeddingModelV3, type EmbeddingModelV3CallOptions, type EmbeddingModelV3Result, type ProviderV3, type RerankingModelV3, type RerankingModelV3CallOptions } from '@ai-sdk/provider';
import { BiencoderError } from '../../errors.ts';
import type { Encoder, Role } from '../../encoders/encoder.ts';
import { loadEncoder, type LoadEncoderOptions } from '../../encoders/load-encoder.ts';
import { tokensRead } from '../../encoders/token-usage.ts';
import { loadCrossEncoder, type CrossEncoder, type CrossEncoderOptions } from '../../rerank/cross-encoder.ts';
import { matrixToArrays } from '../../matrix.ts';

export interface BiencoderProviderSettings {
  /** Encoders already loaded, by the model id the provider answers to (left open by close()). */
  readonly encoders?: Readonly<Record<string, Encoder>>;
  /** Cross-encoders already loaded, by model id (left open by close()). */
  readonly rerankers?: Readonly<Record<string, CrossEncoder>>;
  /** How other encoder ids are loaded (cache directory, offline, dtype). */
  readonly encoderOptions?: LoadEncoderOptions;
  /** How other cross-encoder ids are loaded. */
  readonly rerankerOptions?: CrossEncoderOptions;
}

export interface BiencoderEmbeddingSettings {
  /** The prompt role of the texts: 'document' (default) or 'query'. A call's providerOptions.biencoder.role overrides it. */
  readonly role?: Role;
  /** Texts per doEmbed call (the AI SDK splits embedMany by it). Default 256. */
  readonly maxEmbeddingsPerCall?: number;
}

export interface BiencoderProvider extends ProviderV3 {
  embeddingModel(modelId: string, settings?: BiencoderEmbeddingSettings): EmbeddingModelV3;
  textEmbeddingModel(modelId: string, settings?: BiencoderEmbeddingSettings): EmbeddingModelV3;
  rerankingModel(modelId: string): RerankingModelV3;
  /** Closes the models this provider loaded. */
  close(): Promise<void>;
}

const PROVIDER = 'biencoder';

/** Creates the provider. */
export function createBiencoder(settings: BiencoderProviderSettings = {}): BiencoderProvider {
  const encoders = new ModelCache<Encoder>(settings.encoders, (id) => loadEncoder(id, settings.encoderOptions));
  const rerankers = new ModelCache<CrossEncoder>(settings.rerankers, (id) => loadCrossEncoder(id, settings.rerankerOptions));
  const encoderFor = (id: string): Promise<Encoder> => encoders.get(id);
  const rerankerFor = (id: string): Promise<CrossEncoder> => rerankers.get(id);
  const embeddingModel = (modelId: string, s: BiencoderEmbeddingSettings = {}): EmbeddingModelV3 => new BiencoderEmbeddingModel(modelId, s, encoderFor);
  const noSuch = (modelId: string, modelType: 'languageModel' | 'imageModel'): never => {
    throw new NoSuchModelError({ modelId, modelType, message: `biencoder serves embedding and reranking models only, not ${modelType}s` });
  };
  return {
    specificationVersion: 'v3',
    embeddingModel,
    textEmbeddingModel: embeddingModel,
    rerankingModel: (modelId: string) => new BiencoderRerankingModel(modelId, rerankerFor),
    languageModel: (modelId: string) => noSuch(modelId, 'languageModel'),
    imageModel: (modelId: string) => noSuch(modelId, 'imageModel'),
    async close() {
      await Promise.all([encoders.close(), rerankers.close()]);
    },
  };
}

/** Models by id: the ones given, else loaded on first use (one load per id; a failed load is retried). */
class ModelCache<T extends { close(): Promise<void> }> {
  readonly #loaded = new Map<string, Promise<T>>();
  constructor(
    private readonly given: Readonly<Record<string, T>> | undefined,
    private readonly load: (id: string) => Promise<T>,
  ) {}

  get(id: string): Promise<T> {
    const given = this.given?.[id];
    if (given !== undefined) return Promise.resolve(given);
    let p = this.#loaded.get(id);
    if (p === undefined) {
      p = this.load(id);
      this.#loaded.set(id, p);
      p.catch(() => this.#loaded.delete(id));
    }
    return p;
  }

  /** Closes the models this cache loaded (not the given ones). */
  async close(): Promise<void> {
    const all = [...this.#loaded.values()];
    this.#loaded.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close()));
  }
}

class BiencoderEmbeddingModel implements EmbeddingModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider = PROVIDER;
  readonly maxEmbeddingsPerCall: number;
  readonly supportsParallelCalls = true;
  readonly #role: Role;

  constructor(
    readonly modelId: string,
    settings: BiencoderEmbeddingSettings,
    private readonly encoderFor: (id: string) => Promise<Encoder>,
  ) {
    this.#role = checkRole(settings.role ?? 'document');
    const max = settings.maxEmbeddingsPerCall ?? 256;
    if (!Number.isInteger(max) || max < 1) throw new BiencoderError('INVALID_ARGUMENT', `maxEmbeddingsPerCall must be a positive integer, got ${String(max)}`);
    this.maxEmbeddingsPerCall = max;
  }

  async doEmbed(options: EmbeddingModelV3CallOptions): Promise<EmbeddingModelV3Result> {
    const asked = options.providerOptions?.[PROVIDER]?.role;
    const role = asked === undefined ? this.#role : checkRole(asked);
    const encoder = await this.encoderFor(this.modelId);
    const m = await encoder.encode(options.values, { role, ...(options.abortSignal ? { signal: options.abortSignal } : {}) });
    return { embeddings: matrixToArrays(m), usage: { tokens: tokensRead(encoder, options.values) }, warnings: [] };
  }
}

class BiencoderRerankingModel implements RerankingModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider = PROVIDER;

  constructor(
    readonly modelId: string,
    private readonly rerankerFor: (id: string) => Promise<CrossEncoder>,
  ) {}

  async doRerank(options: RerankingModelV3CallOptions) {
    const reranker = await this.rerankerFor(this.modelId);
    // Objects are read as their JSON text (as the hosted rerank APIs the AI SDK wraps do).
    const texts = options.documents.type === 'text' ? options.documents.values : options.documents.values.map((v) => JSON.stringify(v));
    const ranked = await reranker.rank(options.query, texts, {
      ...(options.topN === undefined ? {} : { topK: options.topN }),
      ...(options.abortSignal ? { signal: options.abortSignal } : {}),
    });
    return { ranking: ranked.map((r) => ({ index: r.index, relevanceScore: r.score })), warnings: [] };
  }
}

function checkRole(role: unknown): Role {
  if (role !== 'query' && role !== 'document') throw new BiencoderError('INVALID_ARGUMENT', `role must be 'query' or 'document', got ${JSON.stringify(role)}`);
  return role;
}
