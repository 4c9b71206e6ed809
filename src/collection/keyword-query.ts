/**
 * Keyword query options, apart from the engine (src/keyword) and the analyzers (src/analysis) so
 * that the collection's option types depend on neither. Queries are never parsed as syntax: the
 * analyzer cuts them into words.
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
