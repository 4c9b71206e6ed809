/** Text analysis for keyword (BM25) search: one analyzer per language, independent of any store. */
export { ANALYZER_VERSION, createAnalyzer, sameAnalyzerSpec } from './analyzer.ts';
export type { Analyzer, AnalyzerSpec, QueryStopwords, QueryTermsOptions } from './analyzer.ts';
export { ANALYZER_LANGUAGES, isAnalyzerLanguage } from './languages.ts';
export type { AnalyzerLanguage } from './languages.ts';
export { ENGLISH_STOPWORDS } from './english-stopwords.ts';
