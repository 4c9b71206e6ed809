/**
 * The keyword (BM25) side of a collection: an SQLite FTS5 index over docs.text, kept in sync by
 * triggers inside the same transactions that write the documents.
 *
 *   docs_fts   FTS5, external content (content='docs', content_rowid='key'): the index stores only
 *              tokens; texts are read from docs. Tokenizer 'porter unicode61 remove_diacritics 2'
 *              (Unicode word boundaries, case folding, accents removed, Porter stemming).
 *   triggers   docs_fts_insert / docs_fts_delete / docs_fts_update mirror every INSERT, DELETE and
 *              text UPDATE of docs, so an upsert or delete changes documents, vectors and the keyword
 *              index atomically (one SQLite transaction) and a crash can never leave them apart.
 *
 * Ranking is FTS5's bm25() (k1 = 1.2, b = 0.75, Robertson/Sparck-Jones idf floored at 1e-6);
 * SQLite returns it negated (lower is better) and we return -bm25 so that higher is better.
 *
 * Queries: user text is never passed to MATCH as syntax. It is split into words (runs of Unicode
 * letters, marks and digits), optionally stripped of English stopwords, and every word becomes a
 * double-quoted FTS5 string, joined with OR: `"drug" OR "resistance"`. So quotes, `*`, `NEAR`, `-`,
 * `:`, `^` and parentheses in a query are plain text, never operators.
 */
import { BiencoderError } from '../errors.ts';
import type { Db } from './store.ts';

export const KEYWORD_TABLE = 'docs_fts';
export const KEYWORD_TOKENIZER = 'porter unicode61 remove_diacritics 2';

/**
 * Lucene's English stop set (EnglishAnalyzer / Elasticsearch's `_english_`), the analyzer behind
 * BEIR's BM25 baseline.
 */
export const ENGLISH_STOPWORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not', 'of', 'on', 'or',
  'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with',
]);

export type KeywordStopwords = 'english' | 'none';

export interface KeywordQueryOptions {
  /** Drop English stopwords from the query (not from the index). Default 'english'. */
  readonly stopwords?: KeywordStopwords;
}

/** Creates the FTS5 table and its triggers, and indexes every stored document. Call inside a transaction. */
export function createKeywordIndex(db: Db): void {
  db.exec(`
    CREATE VIRTUAL TABLE ${KEYWORD_TABLE} USING fts5(text, content='docs', content_rowid='key', tokenize='${KEYWORD_TOKENIZER}');
    CREATE TRIGGER docs_fts_insert AFTER INSERT ON docs BEGIN
      INSERT INTO ${KEYWORD_TABLE} (rowid, text) VALUES (new.key, new.text);
    END;
    CREATE TRIGGER docs_fts_delete AFTER DELETE ON docs BEGIN
      INSERT INTO ${KEYWORD_TABLE} (${KEYWORD_TABLE}, rowid, text) VALUES ('delete', old.key, old.text);
    END;
    CREATE TRIGGER docs_fts_update AFTER UPDATE OF text ON docs BEGIN
      INSERT INTO ${KEYWORD_TABLE} (${KEYWORD_TABLE}, rowid, text) VALUES ('delete', old.key, old.text);
      INSERT INTO ${KEYWORD_TABLE} (rowid, text) VALUES (new.key, new.text);
    END;
    INSERT INTO ${KEYWORD_TABLE} (${KEYWORD_TABLE}) VALUES ('rebuild');
  `);
}

/** Whether the database has the keyword index (collections created before schema version 2 get it on their first writable open). */
export function hasKeywordIndex(db: Db): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(KEYWORD_TABLE) !== undefined;
}

/** The words of a query as the keyword search uses them: lower-cased, stopwords dropped (by default), duplicates removed. */
export function keywordTerms(text: string, options: KeywordQueryOptions = {}): string[] {
  if (typeof text !== 'string') throw new BiencoderError('INVALID_ARGUMENT', `a keyword query must be a string, got ${typeof text}`);
  const stopwords = options.stopwords ?? 'english';
  if (stopwords !== 'english' && stopwords !== 'none') {
    throw new BiencoderError('INVALID_ARGUMENT', `keyword stopwords must be "english" or "none", got ${JSON.stringify(stopwords)}`);
  }
  const words = text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
  const out = new Set<string>();
  for (const w of words) if (stopwords === 'none' || !ENGLISH_STOPWORDS.has(w)) out.add(w);
  return [...out];
}

/**
 * A safe FTS5 MATCH expression for user text (each word quoted, OR-ed), or undefined when no word is
 * left (an empty, punctuation-only or stopword-only query matches nothing).
 */
export function keywordMatchExpression(text: string, options: KeywordQueryOptions = {}): string | undefined {
  const terms = keywordTerms(text, options);
  if (terms.length === 0) return undefined;
  // Terms hold only letters, marks and digits, so they contain no '"'; doubling is belt and braces.
  return terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(' OR ');
}

export interface KeywordMatch {
  readonly key: number;
  /** -bm25(): higher is better. */
  readonly score: number;
}

/** Top-k BM25 search, optionally restricted by a compiled metadata filter (SQL over docs.metadata). */
export function keywordSearch(
  db: Db,
  text: string,
  k: number,
  options: KeywordQueryOptions & { readonly filter?: { readonly sql: string; readonly params: Record<string, string | number> } } = {},
): KeywordMatch[] {
  const expression = keywordMatchExpression(text, options);
  if (expression === undefined || k === 0) return [];
  const where = options.filter === undefined ? '' : ` AND docs_fts.rowid IN (SELECT key FROM docs WHERE ${options.filter.sql})`;
  const sql = `SELECT rowid AS key, -bm25(${KEYWORD_TABLE}) AS score FROM ${KEYWORD_TABLE} WHERE ${KEYWORD_TABLE} MATCH @match${where} ORDER BY bm25(${KEYWORD_TABLE}), rowid LIMIT @limit`;
  return db.prepare(sql).all({ ...(options.filter?.params ?? {}), match: expression, limit: k }) as KeywordMatch[];
}
