/**
 * The searches of a pgvector collection (PgvectorCollection validates the call, this runs it): dense,
 * keyword and hybrid, each query one statement on a pooled connection (search-statements.ts), hybrid
 * one more for the winners' rows.
 * - Dense: an HNSW scan on a connection whose session has hnsw.ef_search and, on pgvector >= 0.8,
 *   hnsw.iterative_scan = relaxed_order (set once per connection and value: #withSession), so filtered
 *   scans keep going until k rows match; rows re-sorted by score (relaxed order). Selective filters
 *   (#selective) are searched exactly, their equality conditions through the GIN index on metadata
 *   (where()); an HNSW scan that still comes up short of k is re-run exactly: k results whenever k match.
 * - Keyword: BM25 in SQL over the postings (keyword-postings.ts), the query's terms from the same analyzer.
 * - Hybrid: both candidate lists in one statement, fused by the embedded store's code (fuseRankings).
 */
import { BiencoderError, throwIfAborted } from '../../errors.ts';
import type { Analyzer } from '../../analysis/index.ts';
import type { Encoder } from '../../encoders/encoder.ts';
import type { Matrix } from '../../matrix.ts';
import type { IndexMetric } from '../../index/vector-index.ts';
import { fuseRankings, type resolveHybridOptions, type Scored } from '../../retriever/fusion.ts';
import type { EmbedQueriesOptions, SearchHit, SearchOptions } from '../collection.ts';
import type { QueryAdapter } from '../../tune/query-adapter.ts';
import { queryMatrix } from '../document-input.ts';
import type { FilterNode, Metadata } from '../filter.ts';
import type { Manifest } from '../manifest.ts';
import { sqlState, storeError, type Pool, type PoolClient } from './connection.ts';
import { SqlParams, compileFilterToSql, containmentHint } from './filter-sql.ts';
import { noNul } from './input.ts';
import { bm25Placeholders, weightedTerms } from './keyword-postings.ts';
import { MAX_EF_SEARCH, quoteIdent, tableNames, type VectorType } from './schema.ts';
import { denseSql, hybridCandidatesSql, keywordSql, type StatementTarget } from './search-statements.ts';
import { estimateFilterFraction } from './selectivity.ts';
import { toVectorSend } from './vector-codec.ts';

/** Filters matching at most this fraction of the documents are searched exactly (see #selective). */
const EXACT_FILTER_FRACTION = 0.05;
const SELECTIVITY_CACHE_SIZE = 64;
/** A filter's selectivity estimate is reused this long (the collection's own writes drop it at once). */
const SELECTIVITY_TTL_MS = 30_000;

export interface PgvectorSearchInit {
  readonly pool: Pool;
  readonly manifest: Manifest;
  /** The target URL with its password hidden, for messages. */
  readonly url: string;
  readonly collection: string;
  readonly vectorType: VectorType;
  readonly encoder: Encoder | undefined;
  readonly analyzer: Analyzer;
  readonly iterativeScan: boolean;
  /** CLOSED when the collection was closed meanwhile. */
  readonly assertOpen: () => void;
  /** The collection's query adapter now (it may be set or removed while the collection is open); throws when it could not be loaded. */
  readonly adapter: () => QueryAdapter | undefined;
}

export class PgvectorSearch {
  readonly #pool: Pool;
  readonly #manifest: Manifest;
  readonly #url: string;
  readonly #collection: string;
  readonly #dims: number;
  readonly #metric: IndexMetric;
  readonly #table: string;
  readonly #statements: StatementTarget;
  readonly #encoder: Encoder | undefined;
  readonly #analyzer: Analyzer;
  readonly #iterativeScan: boolean;
  readonly #assertOpen: () => void;
  readonly #adapter: () => QueryAdapter | undefined;
  /** Filter (JSON) -> whether it is selective, estimated at a time (ms). */
  readonly #selectivity = new Map<string, { readonly at: number; readonly selective: boolean }>();
  /** The hnsw.ef_search each pooled connection's session has (set once, not per search). */
  readonly #sessionEf = new WeakMap<PoolClient, number>();

  constructor(init: PgvectorSearchInit) {
    this.#pool = init.pool;
    this.#manifest = init.manifest;
    this.#url = init.url;
    this.#collection = init.collection;
    this.#dims = init.manifest.dims;
    this.#metric = init.manifest.metric;
    const names = tableNames(init.collection);
    this.#table = quoteIdent(names.table);
    this.#statements = { table: names.table, terms: names.terms, collection: init.collection, dims: this.#dims, vectorType: init.vectorType, metric: this.#metric };
    this.#encoder = init.encoder;
    this.#analyzer = init.analyzer;
    this.#iterativeScan = init.iterativeScan;
    this.#assertOpen = init.assertOpen;
    this.#adapter = init.adapter;
  }

  /** Drops the filters' selectivity estimates (after a write of this collection's). */
  forgetSelectivity(): void {
    this.#selectivity.clear();
  }

  async #db<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw storeError(error, what, this.#url);
    }
  }

  /** Text queries and vectors as one matrix of query vectors. */
  queryMatrix(queries: readonly (string | Float32Array)[] | Matrix, options: SearchOptions | EmbedQueriesOptions): Promise<Matrix> {
    return queryMatrix(queries, {
      adapter: options.adapter === false ? undefined : this.#adapter,
      dims: this.#dims,
      metric: this.#metric,
      encoder: this.#encoder,
      encoderRequired: () => new BiencoderError('ENCODER_REQUIRED', `text queries need an encoder but the collection at ${this.#url} was opened without one (pass { encoder } when opening, or search with vectors)`),
      signal: options.signal,
      rule: noNul,
    });
  }

  /**
   * How a dense search of `want` results runs: an HNSW scan with hnsw.ef_search = ef, or an exact scan
   * (flat collections, and selective filters: see #selective). With iterative scans (pgvector >= 0.8)
   * ef stays the collection's (or the search's) whatever `want` is, as the scan goes on until it has
   * `want` rows: dense searches (k 10) and hybrid ones (1,000 candidates) then share a session
   * setting, instead of flipping it, one more round trip, at each change. Before 0.8 an HNSW scan
   * returns at most ef rows, so ef is raised to want (up to 1,000).
   */
  async #denseRoute(want: number, filter: FilterNode | undefined, options: SearchOptions): Promise<{ ef: number | undefined; exact: boolean }> {
    const spec = this.#manifest.index;
    if (spec.kind !== 'hnsw') return { ef: undefined, exact: true };
    const asked = options.ef ?? spec.expansionSearch;
    const ef = Math.min(MAX_EF_SEARCH, this.#iterativeScan ? asked : Math.max(asked, Math.min(want, MAX_EF_SEARCH)));
    const exact = filter !== undefined && await this.#selective(filter, options.filter!);
    return { ef: exact ? undefined : ef, exact };
  }

  async dense(queries: readonly (string | Float32Array)[] | Matrix, k: number, filter: FilterNode | undefined, options: SearchOptions): Promise<SearchHit[][]> {
    const matrix = await this.queryMatrix(queries, options);
    this.#assertOpen();
    if (matrix.rows === 0) return [];
    if (k === 0) return Array.from({ length: matrix.rows }, () => []);
    throwIfAborted(options.signal);
    const route = await this.#db('estimating the filter', () => this.#denseRoute(k, filter, options));
    const params = new SqlParams();
    const statement = { vector: params.add(null), limit: params.add(k), where: filter === undefined ? undefined : this.where(filter, params, route.exact), rows: true };
    return this.#db('searching', () => this.#withSession(route.ef, async (client) => {
      let exact = route.exact;
      const results: SearchHit[][] = [];
      for (let q = 0; q < matrix.rows; q++) {
        throwIfAborted(options.signal);
        params.values[0] = toVectorSend(matrix.data.subarray(q * this.#dims, (q + 1) * this.#dims));
        type Row = { id: string; text: string; metadata: Metadata; score: number };
        let { rows } = await client.query<Row>(denseSql(this.#statements, { ...statement, exact }), params.values);
        if (rows.length < k && !exact) {
          // The HNSW scan ended before k rows matched: exact scans for the remaining queries.
          exact = true;
          ({ rows } = await client.query<Row>(denseSql(this.#statements, { ...statement, exact }), params.values));
        }
        rows.sort((a, b) => b.score - a.score); // relaxed_order scans may return neighbours slightly out of order
        results.push(rows.map((r) => ({ id: r.id, score: r.score, text: r.text, metadata: r.metadata })));
      }
      return results;
    }));
  }

  /**
   * Keyword search: BM25 in SQL (keyword-postings.ts), one statement a query. Hybrid: each query's
   * dense and keyword candidates in one statement, fused here by the embedded store's code
   * (fuseRankings), then one statement reads the rows of every query's winners.
   */
  async keywordOrHybrid(
    texts: readonly string[], vectors: readonly (Float32Array | undefined)[], k: number, filter: FilterNode | undefined, options: SearchOptions,
    hybrid: ReturnType<typeof resolveHybridOptions> | undefined,
  ): Promise<SearchHit[][]> {
    throwIfAborted(options.signal);
    if (texts.length === 0) return [];
    if (k === 0) return texts.map(() => []);
    const matrix = hybrid === undefined ? undefined : await this.queryMatrix(texts.map((t, i) => vectors[i] ?? t), options);
    this.#assertOpen();
    const queries = texts.map((t) => weightedTerms(this.#analyzer.queryTerms(t, options.keyword)));
    const params = new SqlParams();
    const keyword = {
      terms: params.add(null), weights: params.add(null), collectionName: params.add(this.#collection), limit: params.add(hybrid?.candidates ?? k),
      bm25: bm25Placeholders(params), where: undefined as string | undefined, rows: hybrid === undefined,
    };
    if (hybrid === undefined || matrix === undefined) {
      if (filter !== undefined) keyword.where = this.where(filter, params, true);
      const sql = keywordSql(this.#statements, keyword);
      return this.#db('searching', () => this.#withSession(undefined, async (client) => {
        const results: SearchHit[][] = [];
        for (const q of queries) {
          throwIfAborted(options.signal);
          if (q.terms.length === 0) {
            results.push([]);
            continue;
          }
          params.values[0] = q.terms;
          params.values[1] = q.weights;
          const { rows } = await client.query<{ id: string; text: string; metadata: Metadata; score: number }>(sql, params.values);
          results.push(rows.map((r) => ({ id: r.id, score: r.score, text: r.text, metadata: r.metadata })));
        }
        return results;
      }));
    }
    const want = hybrid.candidates;
    const route = await this.#db('estimating the filter', () => this.#denseRoute(want, filter, options));
    const dense = { vector: params.add(null), limit: keyword.limit, where: undefined as string | undefined, exact: route.exact, rows: false };
    const vectorIndex = params.values.length - 1;
    if (filter !== undefined) dense.where = keyword.where = this.where(filter, params, route.exact);
    return this.#db('searching', () => this.#withSession(route.ef, async (client) => {
      const fused: Scored<string>[][] = [];
      for (let qi = 0; qi < queries.length; qi++) {
        throwIfAborted(options.signal);
        params.values[0] = queries[qi].terms;
        params.values[1] = queries[qi].weights;
        params.values[vectorIndex] = toVectorSend(matrix.data.subarray(qi * this.#dims, (qi + 1) * this.#dims));
        type Row = { side: number; id: string; score: number };
        let { rows } = await client.query<Row>(hybridCandidatesSql(this.#statements, dense, keyword), params.values);
        const denseCount = (list: Row[]): number => list.reduce((n, r) => n + (r.side === 0 ? 1 : 0), 0);
        if (denseCount(rows) < k && !dense.exact) {
          dense.exact = true; // as in dense search: exact scans once the HNSW scan comes up short
          ({ rows } = await client.query<Row>(hybridCandidatesSql(this.#statements, dense, keyword), params.values));
        }
        const denseList = rows.filter((r) => r.side === 0).sort((a, b) => b.score - a.score).map((r) => ({ id: r.id, score: r.score }));
        const keywordList = rows.filter((r) => r.side === 1).map((r) => ({ id: r.id, score: r.score }));
        fused.push(fuseRankings(denseList, keywordList, hybrid, k));
      }
      const ids = [...new Set(fused.flatMap((list) => list.map((h) => h.id)))];
      const { rows } = await client.query<{ id: string; text: string; metadata: Metadata }>(`SELECT id, text, metadata FROM ${this.#table} WHERE id = ANY($1::text[])`, [ids]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      // a winner deleted since its candidates were read is skipped
      return fused.map((list) => list.flatMap((h) => {
        const row = byId.get(h.id);
        return row === undefined ? [] : [{ id: h.id, score: h.score, text: row.text, metadata: row.metadata }];
      }));
    }));
  }

  /**
   * A filter's SQL; with `indexed`, behind the condition the GIN index on metadata serves when the filter
   * has one (containmentHint): for exact scans and deletes, which then read only the candidate rows.
   * HNSW searches go without it, so that the planner keeps the graph for filters that match many rows.
   */
  where(filter: FilterNode, params: SqlParams, indexed: boolean): string {
    const hint = indexed ? containmentHint(filter, params) : undefined;
    const sql = compileFilterToSql(filter, params);
    return hint === undefined ? sql : `(${hint} AND ${sql})`;
  }

  /**
   * Runs searches on one pooled connection whose session has hnsw.ef_search = ef (and iterative scans
   * on pgvector >= 0.8): set once per connection and value, so that a search is one statement, one round trip.
   */
  async #withSession<T>(ef: number | undefined, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      if (ef !== undefined && this.#sessionEf.get(client) !== ef) {
        this.#sessionEf.delete(client);
        await client.query(`SELECT set_config('hnsw.ef_search', $1, false)${this.#iterativeScan ? `, set_config('hnsw.iterative_scan', 'relaxed_order', false)` : ''}`, [String(ef)]);
        this.#sessionEf.set(client, ef);
      }
      return await fn(client);
    } catch (error) {
      broken = sqlState(error) === undefined && !(error instanceof BiencoderError); // no reply from the server: do not reuse the connection
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Whether a filter matches at most EXACT_FILTER_FRACTION of the documents. An HNSW scan with such a
   * filter visits many neighbours for each one that passes and still misses some (recall@10 0.85 for a
   * 1% filter over 50k clustered vectors in bench:pgvector), while an exact scan evaluates the filter
   * on every row anyway and computes few distances. Estimated from a bounded sample (selectivity.ts),
   * never a scan of the whole table; reused for SELECTIVITY_TTL_MS, and dropped by this handle's writes.
   */
  async #selective(filter: FilterNode, original: unknown): Promise<boolean> {
    const key = JSON.stringify(original);
    const cached = this.#selectivity.get(key);
    if (cached !== undefined && performance.now() - cached.at < SELECTIVITY_TTL_MS) return cached.selective;
    const params = new SqlParams();
    const sql = compileFilterToSql(filter, params);
    const { fraction } = await estimateFilterFraction(this.#pool, this.#table, sql, params.values);
    const selective = fraction <= EXACT_FILTER_FRACTION;
    this.#selectivity.delete(key);
    if (this.#selectivity.size >= SELECTIVITY_CACHE_SIZE) this.#selectivity.delete(this.#selectivity.keys().next().value!);
    this.#selectivity.set(key, { at: performance.now(), selective });
    return selective;
  }
}
