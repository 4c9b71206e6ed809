/**
 * The retrieval pipeline every door calls (CLI search, the server's search route, eval's rerank rows, the
 * framework adapters): query (text or vector) -> first stage on any CollectionApi (dense | keyword |
 * hybrid) -> optional cross-encoder rerank (candidates, latency budget) -> chunks, or documents placed by
 * their best chunk -> optional whole documents, with per-stage timings. Doors parse input and format
 * output; the stages are composed here only.
 */
import { BiencoderError, throwIfAborted } from '../errors.ts';
import { checkSearchMode, type SearchHit, type SearchMode, type SearchOptions } from '../collection/collection.ts';
import type { CollectionApi } from '../collection/collection-api.ts';
import type { Metadata, MetadataFilter } from '../collection/filter.ts';
import { chunkMetadataOf, searchDocuments } from '../chunking/group-by-document.ts';
import { wholeDocument, type WholeDocument } from '../chunking/whole-document.ts';
import { defaultTextSearchMode } from './default-mode.ts';
import { documentsInOrder } from './retrieved-documents.ts';
import { checkKeywordOptions, type KeywordQueryOptions } from '../collection/keyword-query.ts';
import { prepareTexts } from '../encoders/text-input.ts';
import type { CrossEncoder } from '../rerank/cross-encoder.ts';
import { RerankCostModel } from './cost-model.ts';
import { resolveHybridOptions, type HybridOptions } from './fusion.ts';

export interface RetrieverOptions {
  /**
   * Where the bi-encoder stage searches: a directory collection or a pgvector one (any CollectionApi). Text
   * queries in dense or hybrid mode need it opened with its encoder.
   */
  readonly collection: CollectionApi;
  /** The cross-encoder that reranks the candidates. Without one, search() is the bi-encoder stage alone. */
  readonly reranker?: CrossEncoder;
  /** How many of the first stage's top hits the reranker sees (top-N). Default 100. */
  readonly candidates?: number;
  /**
   * How the first stage ranks the query (Collection.search's modes): 'dense' embeds the query and searches
   * the vectors; 'keyword' is BM25 over the texts; 'hybrid' fuses both (see `hybrid`). Default: the
   * collection's default ranking of a text query (defaultTextSearchMode: hybrid where the store serves it,
   * else dense); a vector query is always dense.
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
  /** false: skip the reranker for this call. Default true (with a text query; a vector query cannot be reranked). */
  readonly rerank?: boolean;
  /** false: embed the query without the collection's query adapter (to compare). Default true. */
  readonly adapter?: boolean;
}

export interface RetrieveRequest extends RetrieveOptions {
  /** 'documents' (default): documents placed by their best chunk; 'chunks': the chunks themselves. */
  readonly results?: 'documents' | 'chunks';
  /** Attach each hit's whole document (reassembled from its chunks when chunked). Default false. */
  readonly wholeDocuments?: boolean;
}

/** One result of retrieve(): a chunk, or a document placed by its best chunk. */
export interface PipelineHit {
  /** The chunk id ('chunks'), or the document id ('documents'). */
  readonly id: string;
  /** The score that placed the hit: its rerank score when reranked, else its retrieval score. */
  readonly score: number;
  /** The chunk's text (for a document: its best chunk's). */
  readonly text: string;
  /** The chunk's metadata ('chunks'), or the document's (without _chunk) ('documents'). */
  readonly metadata: Metadata;
  /** For a stored chunk: where it lies in its document. */
  readonly chunk?: { readonly id: string; readonly parent: string; readonly index: number; readonly start: number; readonly end: number };
  readonly retrievalScore: number;
  /** The cross-encoder's score, or null when not reranked. */
  readonly rerankScore: number | null;
  /** 0-based position in the first stage's ranking (documents: their best chunk's). */
  readonly retrievalRank: number;
  /** With wholeDocuments: the whole document the hit comes from (absent if it was deleted meanwhile). */
  readonly document?: { readonly id: string; readonly text: string };
}

export interface PipelineTimings extends RetrievalTimings {
  /** Reading whole documents (0 unless asked for). */
  readonly readMs: number;
}

export interface PipelineResult {
  readonly hits: PipelineHit[];
  readonly results: 'documents' | 'chunks';
  readonly mode: SearchMode;
  /** Whether the cross-encoder stage ran. */
  readonly reranked: boolean;
  /** How many candidates the cross-encoder scored. */
  readonly rerankedCount: number;
  /** Candidates the reranker was to score (0 without reranking). */
  readonly rerankTop: number;
  /** Hits the first stage returned. */
  readonly candidates: number;
  readonly budgetMs: number | null;
  readonly timings: PipelineTimings;
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
  readonly collection: CollectionApi;
  readonly reranker: CrossEncoder | undefined;
  readonly candidates: number;
  readonly budgetMs: number | undefined;
  readonly rerankLabel: number | string | undefined;
  /** The first stage's mode, or undefined: the collection's default for text queries, dense for vectors. */
  readonly mode: SearchMode | undefined;
  readonly hybrid: HybridOptions | undefined;
  readonly keyword: KeywordQueryOptions | undefined;
  /** The reranker's measured cost; shared by every call of this retriever. */
  readonly costModel: RerankCostModel;

  constructor(options: RetrieverOptions) {
    if (typeof options !== 'object' || options === null) throw invalid('Retriever options must be an object with a collection');
    const { collection, reranker } = options;
    if (typeof collection !== 'object' || collection === null || typeof (collection as Partial<CollectionApi>).search !== 'function' || !Array.isArray((collection as Partial<CollectionApi>).searchModes)) {
      throw invalid('collection must be a collection (Collection or PgvectorCollection)');
    }
    if (reranker !== undefined && (typeof reranker !== 'object' || reranker === null || typeof (reranker as Partial<CrossEncoder>).scoreTokenized !== 'function')) {
      throw invalid('reranker must be a CrossEncoder');
    }
    this.collection = collection;
    this.reranker = reranker;
    this.candidates = checkCandidates(options.candidates ?? DEFAULT_RERANK_CANDIDATES);
    this.budgetMs = options.budgetMs === undefined ? undefined : checkBudget(options.budgetMs);
    this.rerankLabel = options.rerankLabel;
    this.mode = options.mode === undefined ? undefined : checkSearchMode(options.mode);
    if (options.hybrid !== undefined) resolveHybridOptions(options.hybrid, 1); // validates now
    checkKeywordOptions(options.keyword);
    this.hybrid = options.hybrid;
    this.keyword = options.keyword;
    if (reranker !== undefined) reranker.labelIndex(options.rerankLabel); // validates now, not at the first search
    this.costModel = new RerankCostModel(options.initialMsPerToken);
  }

  /**
   * The first stage's hits (chunks, as stored), the top candidates reranked when there is a reranker:
   * reranked hits by rerank score, then the others in retrieval order; at most k.
   */
  async search(query: string | Float32Array, options: RetrieveOptions = {}): Promise<RetrievalResult> {
    const started = performance.now();
    const text = checkQuery(query);
    const k = options.k ?? DEFAULT_K;
    if (!Number.isInteger(k) || k < 0) throw invalid(`k must be a non-negative integer, got ${String(k)}`);
    const candidates = checkCandidates(options.candidates ?? this.candidates);
    const budget = options.budgetMs === null ? undefined : options.budgetMs === undefined ? this.budgetMs : checkBudget(options.budgetMs);
    const reranker = options.rerank === false ? undefined : this.reranker;
    if (reranker !== undefined && !text) {
      throw invalid('reranking needs a text query: the cross-encoder reads the query text, which a vector does not give (pass rerank: false)');
    }
    const { mode, searched, afterEmbed } = await this.#embedQuery(query, options);
    const wanted = reranker === undefined ? k : Math.max(k, candidates);
    const found = await this.collection.search(searched, this.#searchOptions(mode, wanted, options));
    const afterSearch = performance.now();

    const rerankScores = new Map<number, number>(); // retrieval rank -> rerank score
    if (reranker !== undefined && found.length > 0 && k > 0) {
      // Only the top `candidates` are reranked; hits beyond them (k > candidates) follow in retrieval order.
      await this.#rerank(reranker, query as string, found.slice(0, candidates), rerankScores, started, budget, options.signal);
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
        embedMs: mode === 'dense' && text ? afterEmbed - started : 0,
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

  /**
   * The whole pipeline, as every door runs it: search() (first stage, optional rerank), then chunks or
   * documents placed by their best chunk, then optional whole documents. Documents without a reranker:
   * the first stage fetches chunks until k distinct documents are found (searchDocuments); with one, the
   * top max(k, candidates) chunks are reranked and each document takes its best chunk's place in that order.
   */
  async retrieve(query: string | Float32Array, request: RetrieveRequest = {}): Promise<PipelineResult> {
    const started = performance.now();
    const results = request.results ?? 'documents';
    if (results !== 'documents' && results !== 'chunks') throw invalid(`results must be 'documents' or 'chunks', got ${JSON.stringify(results)}`);
    const { results: _r, wholeDocuments, ...options } = request;
    void _r;
    const k = options.k ?? DEFAULT_K;
    const reranking = options.rerank !== false && this.reranker !== undefined;
    const top = checkCandidates(options.candidates ?? this.candidates);
    let hits: PipelineHit[];
    let first: Omit<RetrievalResult, 'hits'>;
    if (reranking || results === 'chunks') {
      // Documents: every candidate comes back, so that grouping sees the whole reranked list.
      const { hits: found, ...rest } = await this.search(query, { ...options, k: results === 'chunks' || !reranking ? k : Math.max(k, top) });
      first = rest;
      hits = results === 'chunks'
        ? found.map(chunkHit)
        : documentsInOrder(found, k).map(withParent);
    } else {
      ({ hits, first } = await this.#documentsWithoutRerank(query, { ...options, k }, started));
    }
    const beforeRead = performance.now();
    if (wholeDocuments === true) hits = await attachWholeDocuments(this.collection, hits);
    const readMs = performance.now() - beforeRead;
    return {
      hits,
      results,
      mode: first.mode,
      reranked: reranking,
      rerankedCount: first.reranked,
      rerankTop: reranking ? top : 0,
      candidates: first.candidates,
      budgetMs: first.budgetMs,
      timings: { ...first.timings, readMs, totalMs: performance.now() - started },
    };
  }

  /** Documents by best chunk, no rerank: chunks fetched (oversampled) until k distinct documents come back. */
  async #documentsWithoutRerank(query: string | Float32Array, options: RetrieveOptions & { k: number }, started: number): Promise<{ hits: PipelineHit[]; first: Omit<RetrievalResult, 'hits'> }> {
    const text = checkQuery(query);
    if (!Number.isInteger(options.k) || options.k < 0) throw invalid(`k must be a non-negative integer, got ${String(options.k)}`);
    const { mode, searched, afterEmbed } = await this.#embedQuery(query, options);
    const docs = await searchDocuments(this.collection, searched, this.#searchOptions(mode, options.k, options));
    const afterSearch = performance.now();
    const hits: PipelineHit[] = docs.map((d, i) => withParent({ ...d, retrievalScore: d.score, rerankScore: null, retrievalRank: i }));
    return {
      hits,
      first: {
        mode, reranked: 0, candidates: hits.length, budgetMs: null,
        timings: { embedMs: mode === 'dense' && text ? afterEmbed - started : 0, searchMs: afterSearch - afterEmbed, rerankMs: 0, totalMs: afterSearch - started },
      },
    };
  }

  /**
   * The first stage's mode and what it searches: in dense mode a text query is embedded here (timed apart:
   * afterEmbed); keyword and hybrid search the text itself (the collection embeds it for hybrid).
   */
  async #embedQuery(query: string | Float32Array, options: RetrieveOptions): Promise<{ mode: SearchMode; searched: string | Float32Array; afterEmbed: number }> {
    const text = typeof query === 'string';
    const mode = this.modeFor(query, options.mode);
    const encoder = this.collection.encoder;
    if (text && encoder === undefined && mode !== 'keyword') {
      throw new BiencoderError('ENCODER_REQUIRED', `the Retriever embeds queries with the collection's encoder (mode ${mode}), but the collection was opened without one`);
    }
    throwIfAborted(options.signal);
    let searched: string | Float32Array = query;
    if (mode === 'dense' && text) {
      // as the collection embeds queries: its encoder, then its query adapter unless adapter is false
      const embedded = await this.collection.embedQueries([query], { adapter: options.adapter, signal: options.signal });
      searched = embedded.data.slice(0, embedded.dims);
    }
    return { mode, searched, afterEmbed: performance.now() };
  }

  /** The collection search options of the first stage: k, mode, filter, ef, and this retriever's fusion and keyword settings. */
  #searchOptions(mode: SearchMode, k: number, options: RetrieveOptions): SearchOptions {
    return {
      k,
      mode,
      signal: options.signal,
      ...(options.filter === undefined ? {} : { filter: options.filter }),
      ...(options.ef === undefined ? {} : { ef: options.ef }),
      ...(options.adapter === undefined ? {} : { adapter: options.adapter }),
      ...(mode === 'hybrid' && this.hybrid !== undefined ? { hybrid: this.hybrid } : {}),
      ...(mode !== 'dense' && this.keyword !== undefined ? { keyword: this.keyword } : {}),
    };
  }

  /** The first stage's mode for this query: the call's, else the retriever's, else the collection's default (vectors: dense). */
  modeFor(query: string | Float32Array, mode: SearchMode | undefined): SearchMode {
    if (mode !== undefined) return checkSearchMode(mode);
    if (this.mode !== undefined) return this.mode;
    return typeof query === 'string' ? defaultTextSearchMode(this.collection) : 'dense';
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

/** A query is a text (checked as texts are) or a Float32Array; true for a text. */
function checkQuery(query: unknown): query is string {
  if (typeof query === 'string') {
    prepareTexts([query]);
    return true;
  }
  if (!(query instanceof Float32Array)) throw invalid(`query must be a string or a Float32Array, got ${query === null ? 'null' : typeof query}`);
  return false;
}

/** A document hit with its best chunk's parent (the document) named in the chunk, as PipelineHit has it. */
function withParent<T extends Omit<PipelineHit, 'chunk'> & { readonly chunk?: { readonly id: string; readonly index: number; readonly start: number; readonly end: number } }>({ chunk, ...d }: T): PipelineHit {
  return { ...d, ...(chunk ? { chunk: { ...chunk, parent: d.id } } : {}) };
}

/** A chunk hit of the first stage as the pipeline returns it. */
function chunkHit(h: RetrievedHit): PipelineHit {
  const c = chunkMetadataOf(h.metadata);
  return {
    id: h.id, score: h.score, text: h.text, metadata: h.metadata,
    ...(c ? { chunk: { id: h.id, parent: c.parent, index: c.index, start: c.start, end: c.end } } : {}),
    retrievalScore: h.retrievalScore, rerankScore: h.rerankScore, retrievalRank: h.retrievalRank,
  };
}

/** Each hit with its whole document (each parent read once; a document deleted meanwhile gets none). */
async function attachWholeDocuments(collection: CollectionApi, hits: readonly PipelineHit[]): Promise<PipelineHit[]> {
  const cache = new Map<string, Promise<WholeDocument | undefined>>();
  return Promise.all(hits.map(async (h) => {
    const parent = h.chunk?.parent;
    if (parent === undefined) return { ...h, document: { id: h.id, text: h.text } };
    let doc = cache.get(parent);
    if (doc === undefined) {
      doc = wholeDocument(collection, parent);
      cache.set(parent, doc);
    }
    const whole = await doc;
    return whole === undefined ? h : { ...h, document: { id: whole.id, text: whole.text } };
  }));
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
