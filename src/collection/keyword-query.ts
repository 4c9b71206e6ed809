/**
 * The query side of keyword search, apart from the FTS5 table (keyword-index.ts) so that the
 * collection's option types do not depend on the store.
 *
 * Queries: user text is never passed to MATCH as syntax. It is split into words (runs of Unicode
 * letters, marks and digits), optionally stripped of English stopwords, and every word becomes a
 * double-quoted FTS5 string, joined with OR: `"drug" OR "resistance"`. So quotes, `*`, `NEAR`, `-`,
 * `:`, `^` and parentheses in a query are plain text, never operators.
 */
import { ENGLISH_STOPWORDS } from '../analysis/english-stopwords.ts';
import { BiencoderError } from '../errors.ts';

/** Lucene's English stop set; defined with the analyzers, re-exported here for existing imports. */
export { ENGLISH_STOPWORDS };

export type KeywordStopwords = 'default' | 'english' | 'none';

export interface KeywordQueryOptions {
  /**
   * 'default' drops the stopwords of the collection's language from the query (not from the index);
   * 'english' is the same (its name before analyzers had languages); 'none' keeps every word.
   */
  readonly stopwords?: KeywordStopwords;
}

/** Validates keyword query options (INVALID_ARGUMENT). */
export function checkKeywordOptions(options: KeywordQueryOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw new BiencoderError('INVALID_ARGUMENT', 'keyword options must be an object');
  const s = options.stopwords;
  if (s !== undefined && s !== 'default' && s !== 'english' && s !== 'none') {
    throw new BiencoderError('INVALID_ARGUMENT', `keyword stopwords must be "default", "english" or "none", got ${JSON.stringify(s)}`);
  }
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
