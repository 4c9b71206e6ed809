/**
 * SQLite FTS5 queries as biencoder made them before it had its own keyword engine (schema version 2
 * collections): the benchmarks' FTS5 peer runs them. User text is never passed to MATCH as syntax:
 * it is split into words (runs of Unicode letters, marks and digits), optionally stripped of English
 * stopwords, and every word becomes a double-quoted FTS5 string, joined with OR:
 * `"drug" OR "resistance"`. Quotes, `*`, `NEAR`, `-`, `:`, `^` and parentheses are plain text.
 */
import { ENGLISH_STOPWORDS } from '../src/analysis/index.ts';
import { BiencoderError } from '../src/errors.ts';
import type { KeywordQueryOptions } from '../src/collection/keyword-query.ts';

/** The tokenizer of the FTS5 table collections had (schema version 2). */
export const FTS5_TOKENIZER = 'porter unicode61 remove_diacritics 2';

/** The words of a query as the keyword search uses them: lower-cased, stopwords dropped (by default), duplicates removed. */
export function keywordTerms(text: string, options: KeywordQueryOptions = {}): string[] {
  if (typeof text !== 'string') throw new BiencoderError('INVALID_ARGUMENT', `a keyword query must be a string, got ${typeof text}`);
  const stopwords = options.stopwords ?? 'english';
  if (stopwords !== 'english' && stopwords !== 'default' && stopwords !== 'none') {
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
