/**
 * The options of bench:keyword (bench/keyword.ts), parsed apart from the bench so that a test can
 * check them without building anything.
 */
import { parseArgs } from 'node:util';

export interface KeywordBenchOptions {
  /** Documents at the full size (default 1,000,000). */
  readonly docs: number;
  /** Documents at the small size (default 100,000; 0, or >= docs: no small size). */
  readonly smallDocs: number;
  /** Timed queries per measurement (default 1,000). */
  readonly queries: number;
  /** Timed queries of the filtered keyword search (default: --queries; the first ones of the same list). */
  readonly filteredQueries: number;
  /** Documents per upsertVectors call (default 1,000). */
  readonly batch: number;
  /** Seed of the document and query streams (default 1). */
  readonly seed: number;
  /** Where the collection and the peers' databases go (default: a new temporary directory). */
  readonly dir: string | undefined;
  /** Keep the files afterwards (default false: removed). */
  readonly keep: boolean;
  readonly skipFts5: boolean;
  readonly skipLancedb: boolean;
  readonly skipXquad: boolean;
  readonly skipQuality: boolean;
}

export const KEYWORD_BENCH_USAGE = 'usage: npm run bench:keyword -- [--docs N] [--small-docs N] [--queries N] [--filtered-queries N] [--batch N] [--seed N] [--dir DIR] [--keep] [--skip-fts5] [--skip-lancedb] [--skip-xquad] [--skip-quality]';

function integer(name: string, value: string, min: number): number {
  const text = value.replaceAll('_', '');
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}\n${KEYWORD_BENCH_USAGE}`);
  return n;
}

/** Parses the command line (without node and the script); throws an Error with the usage on a bad option. */
export function parseKeywordBenchArgs(argv: readonly string[]): KeywordBenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        docs: { type: 'string', default: '1000000' },
        'small-docs': { type: 'string', default: '100000' },
        queries: { type: 'string', default: '1000' },
        'filtered-queries': { type: 'string' },
        batch: { type: 'string', default: '1000' },
        seed: { type: 'string', default: '1' },
        dir: { type: 'string' },
        keep: { type: 'boolean', default: false },
        'skip-fts5': { type: 'boolean', default: false },
        'skip-lancedb': { type: 'boolean', default: false },
        'skip-xquad': { type: 'boolean', default: false },
        'skip-quality': { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${KEYWORD_BENCH_USAGE}`, { cause: error });
  }
  const docs = integer('docs', values.docs, 1);
  const smallDocs = integer('small-docs', values['small-docs'], 0);
  const queries = integer('queries', values.queries, 1);
  const filteredQueries = values['filtered-queries'] === undefined ? queries : Math.min(queries, integer('filtered-queries', values['filtered-queries'], 1));
  return {
    docs,
    smallDocs: smallDocs >= docs ? 0 : smallDocs,
    queries,
    filteredQueries,
    batch: integer('batch', values.batch, 1),
    seed: integer('seed', values.seed, 0),
    dir: values.dir,
    keep: values.keep,
    skipFts5: values['skip-fts5'],
    skipLancedb: values['skip-lancedb'],
    skipXquad: values['skip-xquad'],
    skipQuality: values['skip-quality'],
  };
}
