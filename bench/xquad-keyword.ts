/**
 * Keyword (BM25) retrieval on XQuAD, one language at a time: each of the 1,190 questions searches the
 * 240 paragraphs of its own language for the one that answers it. Exact BM25 (test/helpers/exact-bm25.ts,
 * FTS5's formula), so the figures measure the analyzer alone.
 *
 *   node --import tsx bench/xquad-keyword.ts [--languages ar,de,...] [--data DIR]
 *
 * prints R@1 and R@10 per language for: "before", the keyword search's analysis before src/analysis
 * (runs of letters/marks/digits, lower-cased, no stemming, Lucene's English stopwords dropped from
 * queries); the language's own analyzer; 'auto'. Last stdout line: JSON of all figures.
 */
import { fileURLToPath } from 'node:url';
import { type Analyzer, createAnalyzer, ENGLISH_STOPWORDS } from '../src/analysis/index.ts';
import { readXquad, XQUAD_LANGUAGES } from '../src/eval/crosslingual.ts';
import { ExactBm25 } from '../test/helpers/exact-bm25.ts';

export const XQUAD_DIR = fileURLToPath(new URL('../../shared/data/xquad/', import.meta.url));

/** What the benchmark needs of an analyzer. */
export type KeywordAnalysis = Pick<Analyzer, 'terms' | 'queryTerms'>;

export interface XquadKeywordResult {
  readonly language: string;
  readonly paragraphs: number;
  readonly questions: number;
  readonly recallAt1: number;
  readonly recallAt10: number;
}

export interface XquadData {
  readonly paragraphs: readonly string[];
  readonly questions: readonly { readonly text: string; readonly paragraph: number }[];
}

/** The paragraphs of xquad.LANG.json and its questions, each with the index of its paragraph. */
export function loadXquadKeyword(language: string, dir = XQUAD_DIR): XquadData {
  const x = readXquad(dir, language);
  const questions = x.questions.map((q) => ({ text: q.text, paragraph: x.paragraphOf.get(q.id)! }));
  return { paragraphs: x.paragraphs, questions };
}

/** R@1 and R@10 of question -> paragraph keyword retrieval in one language with the given analysis. */
export function xquadKeywordRecall(language: string, analysis: KeywordAnalysis, data: XquadData = loadXquadKeyword(language)): XquadKeywordResult {
  const bm25 = new ExactBm25(data.paragraphs.map((p) => analysis.terms(p)));
  let at1 = 0;
  let at10 = 0;
  for (const q of data.questions) {
    const hits = bm25.search(analysis.queryTerms(q.text), 10);
    const rank = hits.findIndex((h) => h.index === q.paragraph);
    if (rank === 0) at1++;
    if (rank >= 0) at10++;
  }
  const n = data.questions.length;
  return { language, paragraphs: data.paragraphs.length, questions: n, recallAt1: at1 / n, recallAt10: at10 / n };
}

/** The keyword analysis before src/analysis: what src/collection/keyword-query.ts did to queries (FTS5 also stemmed and folded documents). */
export const BEFORE_ANALYSIS: KeywordAnalysis = {
  terms: (text) => text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [],
  queryTerms: (text) => [...new Set((text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? []).filter((w) => !ENGLISH_STOPWORDS.has(w)))],
};

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const languages = option('--languages')?.split(',') ?? [...XQUAD_LANGUAGES];
  const dir = option('--data') ?? XQUAD_DIR;
  const auto = createAnalyzer('auto');
  const rows: Record<string, Record<string, XquadKeywordResult>> = {};
  const pct = (r: XquadKeywordResult): string => `${r.recallAt1.toFixed(3)} ${r.recallAt10.toFixed(3)}`;
  console.log('lang  before R@1 R@10   own R@1 R@10   auto R@1 R@10');
  for (const language of languages) {
    const data = loadXquadKeyword(language, dir);
    const row = {
      before: xquadKeywordRecall(language, BEFORE_ANALYSIS, data),
      own: xquadKeywordRecall(language, createAnalyzer(language), data),
      auto: xquadKeywordRecall(language, auto, data),
    };
    rows[language] = row;
    console.log(`${language.padEnd(4)}  ${pct(row.before)}    ${pct(row.own)}    ${pct(row.auto)}`);
  }
  console.log(JSON.stringify(rows));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
