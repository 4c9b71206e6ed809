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
 */
import { keywordMatchExpression, type KeywordQueryOptions } from './keyword-query.ts';
import type { Db } from './store.ts';

export const KEYWORD_TABLE = 'docs_fts';
export const KEYWORD_TOKENIZER = 'porter unicode61 remove_diacritics 2';

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
