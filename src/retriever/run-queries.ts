import { BiencoderError } from '../errors.ts';
import type { Retriever, RetrieveOptions } from './retriever.ts';

export interface QueryRunSummary {
  /** query id -> hits in the retriever's final order (score: the score that placed each hit). */
  readonly run: Map<string, Array<{ id: string; score: number }>>;
  readonly queries: number;
  /** Mean per-stage milliseconds per query. */
  readonly meanMs: { readonly embed: number; readonly search: number; readonly rerank: number; readonly total: number };
  /** Candidates the cross-encoder scored, over all queries. */
  readonly reranked: number;
}

/**
 * Runs a Retriever over a list of queries (one at a time, as a service would) and collects a run
 * (query id -> ranked hits) for evaluation, with mean stage timings.
 */
export async function runQueries(
  retriever: Retriever,
  queries: ReadonlyArray<{ readonly id: string; readonly text: string }>,
  options: RetrieveOptions & { readonly onQuery?: (done: number, total: number) => void } = {},
): Promise<QueryRunSummary> {
  if (!Array.isArray(queries)) throw new BiencoderError('INVALID_ARGUMENT', 'queries must be an array of { id, text }');
  const run = new Map<string, Array<{ id: string; score: number }>>();
  const sum = { embed: 0, search: 0, rerank: 0, total: 0 };
  let reranked = 0;
  for (const [i, q] of queries.entries()) {
    const result = await retriever.search(q.text, options);
    run.set(q.id, result.hits.map((h) => ({ id: h.id, score: h.score })));
    sum.embed += result.timings.embedMs;
    sum.search += result.timings.searchMs;
    sum.rerank += result.timings.rerankMs;
    sum.total += result.timings.totalMs;
    reranked += result.reranked;
    options.onQuery?.(i + 1, queries.length);
  }
  const n = Math.max(1, queries.length);
  return {
    run,
    queries: queries.length,
    meanMs: { embed: sum.embed / n, search: sum.search / n, rerank: sum.rerank / n, total: sum.total / n },
    reranked,
  };
}
