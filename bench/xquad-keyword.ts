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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type Analyzer, createAnalyzer, ENGLISH_STOPWORDS } from '../src/analysis/index.ts';
import { Collection } from '../src/collection/collection.ts';
import { FTS5_TOKENIZER, keywordMatchExpression } from './fts5-query.ts';
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
  return recallOf(language, data, data.questions.map((q) => bm25.search(analysis.queryTerms(q.text), 10).findIndex((h) => h.index === q.paragraph)));
}

/** R@1 and R@10 from each question's rank of its paragraph (-1: not found). */
function recallOf(language: string, data: XquadData, ranks: readonly number[]): XquadKeywordResult {
  let at1 = 0;
  let at10 = 0;
  for (const rank of ranks) {
    if (rank === 0) at1++;
    if (rank >= 0 && rank < 10) at10++;
  }
  const n = data.questions.length;
  return { language, paragraphs: data.paragraphs.length, questions: n, recallAt1: at1 / n, recallAt10: at10 / n };
}

/**
 * R@1 and R@10 through a real collection: the keyword engine with `analyzerLanguage`'s analyzer,
 * searched one question at a time with mode 'keyword'. The paragraphs' vectors are random (keyword
 * search does not read them).
 */
export async function xquadCollectionRecall(language: string, analyzerLanguage: string, data: XquadData = loadXquadKeyword(language)): Promise<XquadKeywordResult> {
  const dir = mkdtempSync(join(tmpdir(), 'biencoder-xquad-'));
  try {
    const c = await Collection.create(join(dir, 'c'), { encoder: { modelId: 'random', dims: 8 }, index: { kind: 'flat' }, language: analyzerLanguage });
    try {
      let seed = 1;
      const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
      await c.upsertVectors(data.paragraphs.map((text, i) => ({ id: String(i), text, vector: Array.from({ length: 8 }, random) })));
      const ranks: number[] = [];
      for (const q of data.questions) {
        const hits = await c.search(q.text, { mode: 'keyword', k: 10 });
        ranks.push(hits.findIndex((h) => Number(h.id) === q.paragraph));
      }
      return recallOf(language, data, ranks);
    } finally {
      await c.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** R@1 and R@10 through SQLite FTS5 with the tokenizer and query collections had before the keyword engine (schema 2). */
export function xquadFts5Recall(language: string, data: XquadData = loadXquadKeyword(language)): XquadKeywordResult {
  const db = new Database(':memory:');
  try {
    db.exec(`CREATE VIRTUAL TABLE t USING fts5(text, tokenize='${FTS5_TOKENIZER}')`);
    const put = db.prepare('INSERT INTO t (rowid, text) VALUES (?, ?)');
    db.transaction(() => data.paragraphs.forEach((p, i) => put.run(i + 1, p)))();
    const search = db.prepare('SELECT rowid AS id FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT 10').pluck();
    return recallOf(language, data, data.questions.map((q) => {
      const expression = keywordMatchExpression(q.text);
      return expression === undefined ? -1 : (search.all(expression) as number[]).indexOf(q.paragraph + 1);
    }));
  } finally {
    db.close();
  }
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
