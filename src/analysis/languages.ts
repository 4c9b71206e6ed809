/**
 * The languages an analyzer can be made for: ISO 639-1 codes, 'english' (today's option name, an
 * alias of 'en') and 'auto' (no language: for collections that mix languages).
 */
import { BiencoderError } from '../errors.ts';

export const ANALYZER_LANGUAGES = [
  'auto', 'english',
  'ar', 'da', 'de', 'el', 'en', 'es', 'fi', 'fr', 'hi', 'hu', 'id', 'it', 'ja', 'nl', 'no', 'pt', 'ro', 'ru', 'sv', 'th', 'tr', 'vi', 'zh',
] as const;

export type AnalyzerLanguage = (typeof ANALYZER_LANGUAGES)[number];

/** An analyzer language with its aliases resolved ('english' -> 'en'). */
export type CanonicalLanguage = Exclude<AnalyzerLanguage, 'english'>;

const LANGUAGE_SET: ReadonlySet<string> = new Set(ANALYZER_LANGUAGES);

export function isAnalyzerLanguage(s: string): s is AnalyzerLanguage {
  return typeof s === 'string' && LANGUAGE_SET.has(s);
}

/** The canonical code of a language; INVALID_ARGUMENT for anything not in ANALYZER_LANGUAGES. */
export function canonicalLanguage(language: string): CanonicalLanguage {
  if (!isAnalyzerLanguage(language)) {
    throw new BiencoderError('INVALID_ARGUMENT', `unsupported analyzer language ${JSON.stringify(language)}; supported: ${ANALYZER_LANGUAGES.join(', ')}`);
  }
  return language === 'english' ? 'en' : language;
}
