/**
 * The statements the `pg` client sends, counted and captured for bench:pgvector: pg.Client.prototype.query
 * wrapped once, recording only while a recording is open. Every statement a PgvectorCollection sends
 * goes through it (pool.query and pooled clients alike), so the count is its round trips to the server
 * (node-postgres sends one statement per query() call and waits for its reply).
 */
import pg from 'pg';

export interface SentStatement {
  readonly text: string;
  readonly values: readonly unknown[];
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

let recording: SentStatement[] | undefined;
let installed = false;
/** The hnsw.* session settings last sent by a store (set_config('hnsw.ef_search', $1, false), ...). */
let hnswSettings: Record<string, string> = {};

function install(): void {
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  proto.query = function query(this: pg.Client, ...args: unknown[]): unknown {
    const first = args[0] as string | { text?: string; values?: unknown[] } | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    const values = (Array.isArray(args[1]) ? args[1] : typeof first === 'object' ? first?.values : undefined) ?? [];
    if (recording !== undefined) recording.push({ text, values: [...values] });
    const ef = /set_config\('hnsw\.ef_search',\s*(?:\$(\d+)|'(\d+)')/.exec(text);
    if (ef !== null) {
      hnswSettings = { 'hnsw.ef_search': ef[1] !== undefined ? String(values[Number(ef[1]) - 1]) : ef[2] };
      const iterative = /set_config\('hnsw\.iterative_scan',\s*'(\w+)'/.exec(text);
      if (iterative !== null) hnswSettings['hnsw.iterative_scan'] = iterative[1];
    }
    return original.apply(this, args);
  };
}

/**
 * The hnsw.* settings of the last set_config a store sent (its session's, as it sets them once per
 * connection and value); {} before any. Watched from the module's import on.
 */
export function lastHnswSettings(): Readonly<Record<string, string>> {
  return { ...hnswSettings };
}

/** Runs fn and returns what it returned with the statements sent meanwhile (recordings do not nest). */
export async function recordStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: SentStatement[] }> {
  if (recording !== undefined) throw new Error('recordStatements does not nest');
  const statements: SentStatement[] = [];
  recording = statements;
  try {
    const result = await fn();
    return { result, statements };
  } finally {
    recording = undefined;
  }
}

/** The first line of a statement, whitespace collapsed and cut at `max` characters: for logs. */
export function statementHead(text: string, max = 110): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

install();
