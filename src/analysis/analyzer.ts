/**
 * Analyzers: the one definition of how text becomes keyword (BM25) terms, shared by every store's
 * keyword index and its queries so that documents and queries always meet on the same terms.
 *
 * Per word: case folding (foldCase), segmentation (WordSplitter), stemming (STEMMERS), removal of
 * optional marks (removeMarks). English removes marks before stemming, as FTS5's `porter
 * unicode61 remove_diacritics 2` did (Porter's rules know only a-z); the Snowball stemmers read
 * accents (French -ité, Turkish ı/ş, Romanian ă/ț), so the other languages remove them after.
 *
 * 'auto' serves collections that mix languages: it folds and segments every script as above but
 * neither stems nor drops stopwords, since no one language's rules fit every word. The cost is
 * recall on inflected words (a query's "running" does not find "runs") and some noise from
 * stopwords in queries; see bench/xquad-keyword.ts for the figures.
 */
import { BiencoderError } from '../errors.ts';
import { foldCase, removeMarks } from './fold.ts';
import { type AnalyzerLanguage, type CanonicalLanguage, canonicalLanguage } from './languages.ts';
import { type CjkTerms, WordSplitter } from './segment.ts';
import { STEMMERS, type Stemmer } from './stemmers.ts';
import { STOPWORD_LISTS } from './stopwords.ts';

export interface AnalyzerSpec {
  /** The canonical language code ('en' for 'english'), or 'auto'. */
  readonly language: string;
  /** What the analyzer does, e.g. "unicode-words+porter". */
  readonly name: string;
  /** Bumped whenever terms() could give other terms for some text. */
  readonly version: number;
}

export type QueryStopwords = 'default' | 'english' | 'none';

export interface QueryTermsOptions {
  /** 'default' (or 'english', the name of this option before analyzers) drops the language's stopwords; 'none' keeps them. */
  readonly stopwords?: QueryStopwords;
}

export interface Analyzer {
  /** Recorded in a collection's manifest: an index is only valid for the analyzer that built it. */
  readonly spec: AnalyzerSpec;
  /** Index-side terms of a text, in text order, repeats kept (term frequency counts them). Stopwords are kept: BM25's document length counts them. */
  terms(text: string): string[];
  /**
   * Query-side terms: terms()'s normalization, the language's stopwords dropped unless stopwords is
   * 'none', repeated words removed, in order of first appearance. Repeats are removed by word, before
   * stemming, as the FTS5 query did: two words that share a stem ("computer computers") give that
   * stem twice, and a scorer that sums over the list weighs it twice. Deduplicating stems instead
   * cost 0.008 nDCG@10 on cisi (0.3148 -> 0.3071; scifact and cranfield within 0.001).
   */
  queryTerms(text: string, options?: QueryTermsOptions): string[];
}

/** Whether two analyzer identities are the same (an index made by one is valid for the other). */
export function sameAnalyzerSpec(a: AnalyzerSpec | undefined, b: AnalyzerSpec): boolean {
  return a !== undefined && a.language === b.language && a.name === b.name && a.version === b.version;
}

/** The version of every analyzer's output; bump it with any change to what terms() returns. */
export const ANALYZER_VERSION = 1;

/** How one language analyzes; exported for the benchmarks that compare choices. */
export interface AnalyzerSettings {
  readonly stemmer: Stemmer | undefined;
  readonly stopwords: readonly string[];
  /** Remove optional marks (removeMarks); Vietnamese keeps its tone marks. */
  readonly removeMarks: boolean;
  /** Remove marks before stemming (English) rather than after. */
  readonly foldBeforeStem: boolean;
  readonly cjk: CjkTerms;
  /** Locale of Intl.Segmenter ('und' for 'auto'). */
  readonly locale: string;
}

export function defaultSettings(language: CanonicalLanguage): AnalyzerSettings {
  return {
    stemmer: STEMMERS[language],
    stopwords: STOPWORD_LISTS[language] ?? [],
    removeMarks: language !== 'vi',
    foldBeforeStem: language === 'en',
    cjk: 'words+bigrams',
    locale: language === 'auto' ? 'und' : language,
  };
}

/** Stems cached per analyzer: words repeat (Zipf), stemming them is most of the work. */
const STEM_CACHE_LIMIT = 100_000;

export function createAnalyzer(language: AnalyzerLanguage | (string & {}) = 'en'): Analyzer {
  if (typeof language !== 'string') throw new BiencoderError('INVALID_ARGUMENT', `an analyzer language must be a string, got ${typeof language}`);
  const canonical = canonicalLanguage(language);
  return analyzerWith(canonical, defaultSettings(canonical));
}

export function analyzerWith(language: CanonicalLanguage, settings: AnalyzerSettings): Analyzer {
  const splitter = new WordSplitter(settings.locale, settings.cjk);
  const turkishCase = language === 'tr';
  const stemmer = settings.stemmer;
  const fold = settings.removeMarks ? removeMarks : (word: string): string => word;
  const stops = new Set(settings.stopwords.map((w) => fold(foldCase(w, turkishCase))));
  const cache = new Map<string, string>();

  const termOf = (word: string): string => {
    let term = cache.get(word);
    if (term !== undefined) return term;
    if (stemmer === undefined) term = fold(word);
    else if (settings.foldBeforeStem) term = stemmer.stem(fold(word));
    else term = fold(stemmer.stem(word));
    if (cache.size >= STEM_CACHE_LIMIT) cache.clear();
    cache.set(word, term);
    return term;
  };

  const segmentation = settings.cjk === 'words' ? 'unicode-words' : `unicode-words+cjk-${settings.cjk}`;
  const spec: AnalyzerSpec = Object.freeze({
    language,
    name: `${segmentation}+${stemmer?.name ?? 'no-stemmer'}`,
    version: ANALYZER_VERSION,
  });

  return Object.freeze({
    spec,
    terms(text: string): string[] {
      checkText(text);
      const out: string[] = [];
      splitter.split(foldCase(text, turkishCase), {
        word: (word, spaced) => out.push(spaced ? termOf(word) : word),
        bigram: (gram) => out.push(gram),
      });
      return out;
    },
    queryTerms(text: string, options: QueryTermsOptions = {}): string[] {
      checkText(text);
      const dropStopwords = queryStopwords(options) !== 'none' && stops.size > 0;
      const seen = new Set<string>();
      const out: string[] = [];
      const add = (key: string, term: string): void => {
        if (seen.has(key)) return;
        seen.add(key);
        out.push(term);
      };
      splitter.split(foldCase(text, turkishCase), {
        word: (word, spaced) => {
          const key = spaced ? fold(word) : word;
          if (dropStopwords && stops.has(key)) return;
          add(key, spaced ? termOf(word) : word);
        },
        bigram: (gram) => add(gram, gram),
      });
      return out;
    },
  });
}

function checkText(text: unknown): asserts text is string {
  if (typeof text !== 'string') throw new BiencoderError('INVALID_ARGUMENT', `text to analyze must be a string, got ${text === null ? 'null' : typeof text}`);
}

function queryStopwords(options: QueryTermsOptions): QueryStopwords {
  if (options === null || typeof options !== 'object') throw new BiencoderError('INVALID_ARGUMENT', 'queryTerms options must be an object');
  const stopwords = options.stopwords ?? 'default';
  if (stopwords !== 'default' && stopwords !== 'english' && stopwords !== 'none') {
    throw new BiencoderError('INVALID_ARGUMENT', `stopwords must be "default", "english" or "none", got ${JSON.stringify(stopwords)}`);
  }
  return stopwords;
}
