/**
 * The peers of bench:keyword, over the same documents and queries as the collection.
 *
 *  - SQLite FTS5 (better-sqlite3, a dependency of biencoder): a CONTENTLESS table (content=''), so it
 *    holds the index only, not the texts; tokenizer 'porter unicode61 remove_diacritics 2' (the one
 *    collections used while their keyword search was FTS5); rowid = document number; one transaction per 10,000 rows; queries are
 *    keywordMatchExpression's (each non-stopword word quoted, OR-ed), ranked by bm25(), top 10.
 *  - LanceDB (@lancedb/lancedb, pinned, installed on demand into .cache/bench/lancedb, not a
 *    dependency): a table (id, text, vector float32[100]) added in batches of 50,000 rows; an FTS
 *    index on text (Index.fts() with its defaults) and an IVF_PQ vector index (cosine, numPartitions
 *    = its default sqrt(rows), numSubVectors 25 = 4 dims each: its default for 100-d would be 1
 *    sub-vector, since 100 is divisible by neither 16 nor 8). Queries pass the query's words (lanceWords:
 *    punctuation out, as our analyzer splits them). Full-text search:
 *    query().fullTextSearch(words).limit(10); a query with no word left returns nothing (and its hybrid is
 *    the vector search alone), as in the collection; hybrid: query().nearestTo(vector).distanceType('cosine')
 *    .fullTextSearch(words).limit(10), which fuses with LanceDB's default reranker (RRF, k 60) in its
 *    native code. The vector search runs on its defaults (nprobes 20, no refine). LANCE_CPU_THREADS is
 *    set to max(4, cores) unless given: at Lance's default (one per core, 2 here) building the FTS
 *    index over more than ~10,000 of these documents deadlocks.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { FTS5_TOKENIZER, keywordMatchExpression, keywordTerms } from './fts5-query.ts';
import type { Corpus } from './keyword-data.ts';

export { FTS5_TOKENIZER };
export const FTS5_TRANSACTION_ROWS = 10_000;

export class Fts5Peer {
  readonly path: string;
  #db: Database.Database;
  #query: Database.Statement<[string], { rowid: number; score: number }>;
  rows = 0;

  constructor(path: string) {
    this.path = path;
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS t USING fts5(text, content='', tokenize='${FTS5_TOKENIZER}')`);
    this.#query = this.#db.prepare('SELECT rowid, bm25(t) AS score FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10');
  }

  /** Adds documents rows..n-1 (texts regenerated from the corpus); returns the seconds spent. */
  build(corpus: Corpus, n: number): number {
    const insert = this.#db.prepare('INSERT INTO t (rowid, text) VALUES (?, ?)');
    const tx = this.#db.transaction((start: number, texts: string[]) => {
      for (let r = 0; r < texts.length; r++) insert.run(start + r, texts[r]);
    });
    let seconds = 0;
    for (let start = this.rows; start < n; start += FTS5_TRANSACTION_ROWS) {
      const rows = Math.min(FTS5_TRANSACTION_ROWS, n - start);
      const { texts } = corpus.batch(start, rows, false);
      const t = performance.now();
      tx(start, texts);
      seconds += (performance.now() - t) / 1000;
    }
    const t = performance.now();
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    seconds += (performance.now() - t) / 1000;
    this.rows = n;
    return seconds;
  }

  /** The top-10 document numbers of a query text ([] when no word is left to match, as in the collection). */
  search(text: string): number[] {
    const expression = keywordMatchExpression(text);
    if (expression === undefined) return [];
    return this.#query.all(expression).map((r) => r.rowid);
  }

  close(): void {
    this.#db.close();
  }
}

// ---------------------------------------------------------------- LanceDB

export const LANCEDB_PACKAGE = '@lancedb/lancedb@0.31.0';
export const LANCEDB_ADD_ROWS = 50_000;
export const LANCEDB_SUB_VECTORS = 25;
const lancedbDir = fileURLToPath(new URL('../.cache/bench/lancedb/', import.meta.url));

/** The parts of the LanceDB API used here (its types live in .cache, outside the type-checked tree). */
interface LanceQuery {
  fullTextSearch(query: string): LanceQuery;
  nearestTo(vector: Float32Array): LanceQuery;
  distanceType(type: 'cosine'): LanceQuery;
  select(columns: string[]): LanceQuery;
  limit(n: number): LanceQuery;
  toArray(): Promise<Record<string, unknown>[]>;
}
interface LanceTable {
  add(rows: Record<string, unknown>[]): Promise<unknown>;
  createIndex(column: string, options: { config: unknown; replace?: boolean }): Promise<void>;
  countRows(): Promise<number>;
  query(): LanceQuery;
  close?(): void;
}
interface LanceDb {
  createTable(name: string, rows: Record<string, unknown>[], options?: { mode?: 'create' | 'overwrite' }): Promise<LanceTable>;
  close?(): void;
}
interface LanceModule {
  connect(uri: string): Promise<LanceDb>;
  Index: { fts(options?: object): unknown; ivfPq(options?: object): unknown };
}

/** Installs (once) and imports LanceDB; throws with the reason when it cannot be had. */
export async function loadLancedb(): Promise<{ lancedb: LanceModule; version: string }> {
  const pkgDir = join(lancedbDir, 'node_modules/@lancedb/lancedb');
  if (!existsSync(join(pkgDir, 'package.json'))) {
    console.log(`installing ${LANCEDB_PACKAGE} into ${lancedbDir} (not a dependency) ...`);
    mkdirSync(lancedbDir, { recursive: true });
    try {
      execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', lancedbDir, LANCEDB_PACKAGE], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim().split('\n').slice(-3).join(' ');
      throw new Error(`npm install ${LANCEDB_PACKAGE} failed: ${stderr || (error as Error).message}`, { cause: error });
    }
  }
  // Lance's CPU pool defaults to one thread per core; with 2 (this machine) building an FTS index over
  // more than ~10,000 of these documents deadlocks (every thread parked, the promise never settles),
  // so the pool gets 4 unless the caller chose. Lance's warnings (one per query) are silenced likewise.
  process.env.LANCE_CPU_THREADS ??= String(Math.max(4, cpus().length));
  process.env.LANCEDB_LOG ??= 'error';
  const { version } = (await import(pathToFileURL(join(pkgDir, 'package.json')).href, { with: { type: 'json' } })).default as { version: string };
  const mod = (await import(pathToFileURL(join(pkgDir, 'dist/index.js')).href)) as LanceModule & { default?: LanceModule };
  return { lancedb: typeof mod.connect === 'function' ? mod : mod.default!, version };
}

/**
 * The query text as LanceDB gets it: its words (runs of letters, marks and digits, as our analyzer
 * splits them), space-separated, none dropped (LanceDB's own tokenizer does the rest). A raw `"` would
 * make LanceDB parse a phrase query, which its default index (no positions) refuses.
 */
export function lanceWords(text: string): string {
  return keywordTerms(text, { stopwords: 'none' }).join(' ');
}

export class LancedbPeer {
  readonly dir: string;
  readonly #lancedb: LanceModule;
  #db: LanceDb | undefined;
  #table: LanceTable | undefined;
  rows = 0;

  private constructor(lancedb: LanceModule, dir: string) {
    this.#lancedb = lancedb;
    this.dir = dir;
  }

  static async open(lancedb: LanceModule, dir: string): Promise<LancedbPeer> {
    const peer = new LancedbPeer(lancedb, dir);
    peer.#db = await lancedb.connect(dir);
    return peer;
  }

  /** Adds documents rows..n-1; returns the seconds spent in createTable/add (the row conversion included). */
  async add(corpus: Corpus, n: number): Promise<number> {
    let seconds = 0;
    for (let start = this.rows; start < n; start += LANCEDB_ADD_ROWS) {
      const rows = Math.min(LANCEDB_ADD_ROWS, n - start);
      const { texts, vectors } = corpus.batch(start, rows);
      const t = performance.now();
      const data = texts.map((text, r) => ({ id: `d${start + r}`, text, vector: Array.from(vectors.subarray(r * 100, (r + 1) * 100)) }));
      if (this.#table === undefined) this.#table = await this.#db!.createTable('docs', data, { mode: 'overwrite' });
      else await this.#table.add(data);
      seconds += (performance.now() - t) / 1000;
    }
    this.rows = n;
    return seconds;
  }

  /** (Re)builds the FTS and the IVF_PQ index over all rows; returns the seconds of each. */
  async index(): Promise<{ fts_seconds: number; vector_seconds: number }> {
    let t = performance.now();
    await this.#table!.createIndex('text', { config: this.#lancedb.Index.fts(), replace: true });
    const fts = (performance.now() - t) / 1000;
    t = performance.now();
    await this.#table!.createIndex('vector', { config: this.#lancedb.Index.ivfPq({ distanceType: 'cosine', numSubVectors: LANCEDB_SUB_VECTORS }), replace: true });
    return { fts_seconds: fts, vector_seconds: (performance.now() - t) / 1000 };
  }

  async fts(text: string): Promise<string[]> {
    const words = lanceWords(text);
    if (words === '') return [];
    const rows = await this.#table!.query().fullTextSearch(words).select(['id', '_score']).limit(10).toArray();
    return rows.map((r) => r.id as string);
  }

  async hybrid(text: string, vector: Float32Array): Promise<string[]> {
    const words = lanceWords(text);
    const q = this.#table!.query().nearestTo(vector).distanceType('cosine');
    const rows = await (words === '' ? q : q.fullTextSearch(words)).select(['id']).limit(10).toArray();
    return rows.map((r) => r.id as string);
  }

  close(): void {
    this.#table?.close?.();
    this.#db?.close?.();
  }
}
