/**
 * Evaluation reports: the JSON written by `biencoder eval --out` and the table it prints.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type { Encoder } from '../encoders/encoder.ts';
import type { DatasetRun, RetrieverResult } from './runner.ts';

export interface Versions {
  readonly biencoder: string;
  readonly node: string;
  readonly sqlite: string;
  readonly usearch: string | null;
  readonly model: { readonly id: string; readonly revision: string | null; readonly dims: number };
}

/**
 * A retriever followed by a cross-encoder (`eval --rerank`): the first stage is the evaluated retriever
 * `rerank.route`, run one query at a time through a Retriever; metrics in the reranked order (keepOrder).
 */
export interface RerankedRetrieverResult extends RetrieverResult {
  readonly rerank: {
    /** The cross-encoder's model id. */
    readonly model: string;
    /** The name of the retriever whose candidates were reranked. */
    readonly route: string;
    /** Candidates per query the cross-encoder scored at most (--rerank-top). */
    readonly top: number;
    /** Mean candidates per query it did score (fewer: a budget, documents without text, short result lists). */
    readonly rerankedPerQuery: number;
    /** Latency budget per query, or null. */
    readonly budgetMs: number | null;
    /** Mean milliseconds per query of each stage, one query at a time (hybrid: searchMs includes embedding). */
    readonly meanMs: { readonly embed: number; readonly search: number; readonly rerank: number; readonly total: number };
  };
}

export interface EvalReport {
  readonly format: 'biencoder-eval-report';
  readonly createdAt: string;
  readonly versions: Versions;
  readonly dataset: string;
  readonly split: string;
  readonly queries: number;
  readonly corpus: DatasetRun['corpus'];
  readonly queryEncoding: DatasetRun['queryEncoding'];
  readonly retrievers: readonly (Omit<RetrieverResult, 'evaluation'> | Omit<RerankedRetrieverResult, 'evaluation'>)[];
  /** query id -> retriever -> metrics, when asked for. */
  readonly perQuery?: Record<string, Record<string, Record<string, number>>>;
  readonly notes?: readonly string[];
}

function packageVersion(url: URL): string | null {
  try {
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/** usearch's version, found where Node resolves it from here (hoisted or nested in an install). */
function usearchVersion(): string | null {
  try {
    const main = createRequire(import.meta.url).resolve('usearch');
    const root = main.slice(0, main.lastIndexOf(`${sep}usearch${sep}`) + `${sep}usearch${sep}`.length);
    return packageVersion(pathToFileURL(join(root, 'package.json')));
  } catch {
    return null;
  }
}

export function versions(encoder: Pick<Encoder, 'modelId' | 'revision' | 'dims'>): Versions {
  const db = new Database(':memory:');
  const sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  return {
    biencoder: packageVersion(new URL('../../package.json', import.meta.url)) ?? 'unknown',
    node: process.version,
    sqlite,
    usearch: usearchVersion(),
    model: { id: encoder.modelId, revision: encoder.revision ?? null, dims: encoder.dims },
  };
}

export function buildReport(
  run: DatasetRun,
  encoder: Pick<Encoder, 'modelId' | 'revision' | 'dims'>,
  options: { perQuery?: boolean; notes?: readonly string[]; /** Rows of `eval --rerank`, after the run's own. */ reranked?: readonly RerankedRetrieverResult[] } = {},
): EvalReport {
  const all: readonly RetrieverResult[] = [...run.retrievers, ...(options.reranked ?? [])];
  const report: EvalReport = {
    format: 'biencoder-eval-report',
    createdAt: new Date().toISOString(),
    versions: versions(encoder),
    dataset: run.dataset,
    split: run.split,
    queries: run.queries,
    corpus: run.corpus,
    queryEncoding: run.queryEncoding,
    retrievers: all.map(({ evaluation: _e, ...rest }) => rest),
    ...(options.notes ? { notes: options.notes } : {}),
  };
  if (!options.perQuery) return report;
  const perQuery: Record<string, Record<string, Record<string, number>>> = {};
  for (const r of all) {
    for (const [qid, values] of r.evaluation.perQuery) (perQuery[qid] ??= {})[r.name] = values;
  }
  return { ...report, perQuery };
}

/** A fixed-width table: one row per retriever, one column per metric. */
export function formatTable(rows: readonly { readonly name: string; readonly metrics: Readonly<Record<string, number>>; readonly extra?: string }[], metrics: readonly string[]): string {
  const nameWidth = Math.max(9, ...rows.map((r) => r.name.length));
  const header = ['retriever'.padEnd(nameWidth), ...metrics.map((m) => m.padStart(10))].join('  ');
  const lines = rows.map((r) => [r.name.padEnd(nameWidth), ...metrics.map((m) => (r.metrics[m] === undefined ? '-' : r.metrics[m].toFixed(4)).padStart(10)), r.extra ?? ''].join('  ').trimEnd());
  return [header, '-'.repeat(header.length), ...lines].join('\n');
}
