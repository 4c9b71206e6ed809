/**
 * The server's reranking stage: one cross-encoder loaded at start (`serve --rerank MODEL`) and one
 * Retriever per open collection, kept across requests so that its measured cost estimate (what a
 * latency budget relies on) carries over from one request to the next.
 */
import type { CollectionApi } from '../collection/collection-api.ts';
import { BiencoderError } from '../errors.ts';
import type { CrossEncoder } from '../rerank/cross-encoder.ts';
import { DEFAULT_RERANK_CANDIDATES, Retriever, checkBudget, checkCandidates } from '../retriever/retriever.ts';

export interface ServerRerankOptions {
  /** The cross-encoder (already loaded; the caller closes it after the server). */
  readonly reranker: CrossEncoder;
  /** Candidates reranked when a request names no `top`. Default 100. */
  readonly candidates?: number;
  /** Latency budget per search when a request names no `budgetMs`. Default: none. */
  readonly budgetMs?: number;
}

export class ServerReranker {
  readonly reranker: CrossEncoder;
  readonly candidates: number;
  readonly budgetMs: number | undefined;
  // Keyed by the Collection object: a collection closed and reopened (a data-dir collection recreated) gets a new one.
  readonly #retrievers = new WeakMap<CollectionApi, Retriever>();

  constructor(options: ServerRerankOptions) {
    if (typeof options !== 'object' || options === null) throw new BiencoderError('INVALID_ARGUMENT', 'rerank must be an object { reranker, candidates?, budgetMs? }');
    const { reranker, candidates = DEFAULT_RERANK_CANDIDATES, budgetMs } = options;
    if (typeof reranker !== 'object' || reranker === null || typeof (reranker as Partial<CrossEncoder>).scoreTokenized !== 'function') {
      throw new BiencoderError('INVALID_ARGUMENT', 'rerank.reranker must be a CrossEncoder (loadCrossEncoder)');
    }
    this.reranker = reranker;
    this.candidates = checkCandidates(candidates, 'rerank.candidates');
    this.budgetMs = budgetMs === undefined ? undefined : checkBudget(budgetMs, 'rerank.budgetMs');
  }

  /** The retriever of this collection (created on first use). */
  retrieverFor(collection: CollectionApi): Retriever {
    let retriever = this.#retrievers.get(collection);
    if (retriever === undefined) {
      retriever = new Retriever({
        collection, reranker: this.reranker, candidates: this.candidates,
        ...(this.budgetMs === undefined ? {} : { budgetMs: this.budgetMs }),
      });
      this.#retrievers.set(collection, retriever);
    }
    return retriever;
  }
}
