import { BiencoderError, throwIfAborted } from '../errors.ts';
import { checkSearchMode, type Collection, type SearchHit, type SearchMode } from '../collection/collection.ts';
import type { MetadataFilter } from '../collection/filter.ts';
import { keywordTerms, type KeywordQueryOptions } from '../collection/keyword-query.ts';
import { prepareTexts } from '../encoders/text-input.ts';
import type { CrossEncoder } from '../rerank/cross-encoder.ts';
import { RerankCostModel } from './cost-model.ts';
import { resolveHybridOptions, type HybridOptions } from './fusion.ts';

export interface RetrieverOptions {
  /** Where the bi-encoder stage searches; it must have been opened with its encoder. */
  readonly collection: Collection;
  /** The cross-encoder that reranks the candidates. Without one, search() is the bi-encoder stage alone. */
  readonly reranker?: CrossEncoder;
  /** How many of the first stage's top hits the reranker sees (top-N). Default 100. */
  readonly candidates?: number;
  /**
   * How the first stage ranks the query (Collection.search's modes): 'dense' (default) embeds the query
   * and searches the vectors; 'keyword' is BM25 over the texts; 'hybrid' fuses both (see `hybrid`).
   */
  readonly mode?: SearchMode;
  /** Hybrid fusion options of the first stage (mode 'hybrid'); Collection.search's defaults otherwise. */
  readonly hybrid?: HybridOptions;
  /** Keyword query analysis of the first stage (modes 'keyword' and 'hybrid'). */
  readonly keyword?: KeywordQueryOptions;
  /**
   * Latency budget of a whole search() call in milliseconds. The reranker then scores only as many of the
   * top candidates as its measured cost says fit in what is left after embedding and searching; the others
   * follow in retrieval order. Default: no budget (every candidate is reranked).
   */
  readonly budgetMs?: number;
  /** For a reranker with several labels: the one that ranks (index or name). */
  readonly rerankLabel?: number | string;
  /**
   * Seeds the reranker's cost estimate (ms per token) before anything was measured. Default: none, so the
   * first budgeted search measures a small probe batch first.
   */
  readonly initialMsPerToken?: number;
}

export interface RetrieveOptions {
  /** Hits to return. Default 10. */
  readonly k?: number;
  readonly filter?: MetadataFilter;
  /** HNSW search breadth (see Collection.search). */
  readonly ef?: number;
  readonly signal?: AbortSignal;
  /** Overrides the retriever's candidates for this call. */
  readonly candidates?: number;
  /** Overrides the retriever's first-stage mode for this call. */
  readonly mode?: SearchMode;
  /** Overrides the retriever's budget for this call (null: no budget). */
  readonly budgetMs?: number | null;
  /** false: skip the reranker for this call. Default true. */
  readonly rerank?: boolean;
}

export interface RetrievedHit extends SearchHit {
  /** The score that placed the hit: its rerank score when it was reranked, else its retrieval score. */
  readonly score: number;
  /** The first stage's score: the bi-encoder's similarity (dense), -BM25 (keyword) or the fused score (hybrid). */
  readonly retrievalScore: number;
  /** The cross-encoder's score (after its activation), or null when the hit was not reranked. */
  readonly rerankScore: number | null;
  /** 0-based position in the first stage's ranking. */
  readonly retrievalRank: number;
}

export interface RetrievalTimings {
  /** Embedding the query (dense mode; 0 in keyword and hybrid modes, where searchMs includes it). */
  readonly embedMs: number;
  /** The first stage's search (hybrid: embedding the query, both searches and the fusion). */
  readonly searchMs: number;
  /** Tokenizing and scoring the pairs (0 without a reranker). */
  readonly rerankMs: number;
  readonly totalMs: number;
}

export interface RetrievalResult {
  /** The top k: reranked hits by rerank score, then any candidates left out (budget, no text) in retrieval order. */
  readonly hits: RetrievedHit[];
  readonly timings: RetrievalTimings;
  /** How many candidates the cross-encoder scored. */
  readonly reranked: number;
  /** How many hits the first stage returned (max(k, candidates) at most). */
  readonly candidates: number;
  /** The first stage's mode. */
  readonly mode: SearchMode;
  /** The budget applied, or null. */
  readonly budgetMs: number | null;
}

/** Candidates the first stage hands to the reranker when none are asked for. */
export const DEFAULT_RERANK_CANDIDATES = 100;
const DEFAULT_K = 10;
/** Candidates scored first to measure the reranker's cost when nothing was measured yet. */
const PROBE_PAIRS = 8;

/**
 * Two-stage retrieval: the first stage's top-N candidates from a collection (dense by default, or keyword
 * or hybrid), reranked by a cross-encoder, cut to the top k. Reports per-stage timings. With a latency budget, it reranks only the candidates that
 * fit, from a running estimate of the reranker's cost per token.
 */
export class Retriever {
  readonly collection: Collection;
  readonly reranker: CrossEncoder | undefined;
  readonly candidates: number;
  readonly budgetMs: number | undefined;
  readonly rerankLabel: number | string | undefined;
  readonly mode: SearchMode;
  readonly hybrid: HybridOptions | undefined;
  readonly keyword: KeywordQueryOptions | undefined;
  /** The reranker's measured cost; shared by every call of this retriever. */
  readonly costModel: RerankCostModel;

  constructor(options: RetrieverOptions) {
    if (typeof options !== 'object' || options === null) throw invalid('Retriever options must be an object with a collection');
    const { collection, reranker } = options;
    if (typeof collection !== 'object' || collection === null || typeof (collection as Partial<Collection>).search !== 'function') {
      throw invalid('collection must be a Collection');
    }
    if (reranker !== undefined && (typeof reranker !== 'object' || reranker === null || typeof (reranker as Partial<CrossEncoder>).scoreTokenized !== 'function')) {
      throw invalid('reranker must be a CrossEncoder');
    }
    this.collection = collection;
    this.reranker = reranker;
    this.candidates = checkCandidates(options.candidates ?? DEFAULT_RERANK_CANDIDATES);
    this.budgetMs = options.budgetMs === undefined ? undefined : checkBudget(options.budgetMs);
    this.rerankLabel = options.rerankLabel;
    this.mode = checkSearchMode(options.mode ?? 'dense');
    if (options.hybrid !== undefined) resolveHybridOptions(options.hybrid, 1); // validates now
    if (options.keyword !== undefined) keywordTerms('', options.keyword);
    this.hybrid = options.hybrid;
    this.keyword = options.keyword;
    if (reranker !== undefined) reranker.labelIndex(options.rerankLabel); // validates now, not at the first search
    this.costModel = new RerankCostModel(options.initialMsPerToken);
  }

  async search(query: string, options: RetrieveOptions = {}): Promise<RetrievalResult> {
    const started = performance.now();
    if (typeof query !== 'string') throw invalid(`query must be a string, got ${query === null ? 'null' : typeof query}`);
    prepareTexts([query]);
    const k = options.k ?? DEFAULT_K;
    if (!Number.isInteger(k) || k < 0) throw invalid(`k must be a non-negative integer, got ${String(k)}`);
    const candidates = checkCandidates(options.candidates ?? this.candidates);
    const budget = options.budgetMs === null ? undefined : options.budgetMs === undefined ? this.budgetMs : checkBudget(options.budgetMs);
    const reranker = options.rerank === false ? undefined : this.reranker;
    const mode = options.mode === undefined ? this.mode : checkSearchMode(options.mode);
    const encoder = this.collection.encoder;
    if (encoder === undefined && mode !== 'keyword') {
      throw new BiencoderError('ENCODER_REQUIRED', `the Retriever embeds queries with the collection's encoder (mode ${mode}), but the collection at ${this.collection.dir} was opened without one`);
    }
    throwIfAborted(options.signal);

    // Dense: embed here (timed apart), then search the vector. Keyword and hybrid search the text itself
    // (the collection embeds it for hybrid).
    let searched: string | Float32Array = query;
    if (mode === 'dense') {
      const embedded = await encoder!.encode([query], { role: 'query', signal: options.signal });
      searched = embedded.data.slice(0, embedded.dims);
    }
    const afterEmbed = performance.now();
    const wanted = reranker === undefined ? k : Math.max(k, candidates);
    const found = await this.collection.search(searched, {
      k: wanted,
      mode,
      signal: options.signal,
      ...(options.filter === undefined ? {} : { filter: options.filter }),
      ...(options.ef === undefined ? {} : { ef: options.ef }),
      ...(mode === 'hybrid' && this.hybrid !== undefined ? { hybrid: this.hybrid } : {}),
      ...(mode !== 'dense' && this.keyword !== undefined ? { keyword: this.keyword } : {}),
    });
    const afterSearch = performance.now();

    const rerankScores = new Map<number, number>(); // retrieval rank -> rerank score
    if (reranker !== undefined && found.length > 0 && k > 0) {
      // Only the top `candidates` are reranked; hits beyond them (k > candidates) follow in retrieval order.
      await this.#rerank(reranker, query, found.slice(0, candidates), rerankScores, started, budget, options.signal);
    }
    const afterRerank = performance.now();

    const hits: RetrievedHit[] = found.map((h, i) => {
      const rerankScore = rerankScores.get(i) ?? null;
      return { ...h, score: rerankScore ?? h.score, retrievalScore: h.score, rerankScore, retrievalRank: i };
    });
    const reranked = hits.filter((h) => h.rerankScore !== null).sort((a, b) => b.rerankScore! - a.rerankScore! || a.retrievalRank - b.retrievalRank);
    const rest = hits.filter((h) => h.rerankScore === null);
    return {
      hits: [...reranked, ...rest].slice(0, k),
      timings: {
        embedMs: mode === 'dense' ? afterEmbed - started : 0,
        searchMs: afterSearch - afterEmbed,
        rerankMs: afterRerank - afterSearch,
        totalMs: performance.now() - started,
      },
      reranked: rerankScores.size,
      candidates: found.length,
      mode,
      budgetMs: budget ?? null,
    };
  }

  /** Scores the top candidates that fit the budget (all of them without one) into `scores`. */
  async #rerank(
    reranker: CrossEncoder, query: string, found: readonly SearchHit[], scores: Map<number, number>,
    started: number, budget: number | undefined, signal: AbortSignal | undefined,
  ): Promise<void> {
    // Documents stored without text (upsertVectors) cannot be reranked: they keep their retrieval place.
    const rerankable = found.map((h, i) => ({ i, text: h.text })).filter((c) => c.text.trim() !== '');
    if (rerankable.length === 0) return;
    const label = reranker.labelIndex(this.rerankLabel);
    const pairs = reranker.tokenize(query, rerankable.map((c) => c.text));
    const run = async (from: number, to: number): Promise<void> => {
      if (to <= from) return;
      const t0 = performance.now();
      const out = await reranker.scoreTokenized(pairs.slice(from, to), { signal });
      this.costModel.observe(out.stats.tokens, performance.now() - t0);
      for (let j = 0; j < out.rows; j++) scores.set(rerankable[from + j].i, out.scores[j * out.labels + label]);
    };
    if (budget === undefined) {
      await run(0, pairs.length);
      return;
    }
    const tokens = pairs.map((p) => p.ids.length);
    let done = 0;
    if (this.costModel.msPerToken === undefined) {
      if (budget - (performance.now() - started) <= 0) return;
      done = Math.min(PROBE_PAIRS, pairs.length);
      await run(0, done);
    }
    const remaining = budget - (performance.now() - started);
    const fit = this.costModel.fits(tokens.slice(done), remaining);
    await run(done, done + fit);
  }
}

/** A candidates option (an integer in 1..10000); `what` names it in the error. */
export function checkCandidates(n: unknown, what = 'candidates'): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 10_000) throw invalid(`${what} must be an integer in 1..10000, got ${String(n)}`);
  return n;
}

/** A latency budget option (a positive finite number of milliseconds); `what` names it in the error. */
export function checkBudget(ms: unknown, what = 'budgetMs'): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw invalid(`${what} must be a positive number of milliseconds, got ${String(ms)}`);
  return ms;
}

function invalid(message: string): BiencoderError {
  return new BiencoderError('INVALID_ARGUMENT', message);
}
