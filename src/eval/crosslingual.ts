/**
 * Cross-lingual tasks on ../shared/data:
 *
 * - XQuAD retrieval: the questions of one language search the paragraphs of another (or the same)
 *   language; a question's one relevant paragraph is the paragraph that holds the same question id in
 *   the document language. Exact (flat) cosine search; Recall@1, Recall@10 and MRR@10.
 * - Tatoeba bitext mining: for each sentence of one side, its nearest neighbour (cosine) on the other
 *   side must be its translation (same line). Accuracy in both directions.
 *
 * Both encode every text once (documents with role 'document', questions with role 'query';
 * Tatoeba sentences with role 'document' on both sides, since they are symmetric).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BiencoderError } from '../errors.ts';
import type { Encoder } from '../encoders/encoder.ts';
import type { Matrix } from '../matrix.ts';
import { FlatIndex } from '../index/flat-index.ts';
import { evaluateRun, type MetricValues } from './metrics.ts';

export const XQUAD_LANGUAGES = ['ar', 'de', 'el', 'en', 'es', 'hi', 'ro', 'ru', 'th', 'tr', 'vi', 'zh'] as const;
export const TATOEBA_LANGUAGES = ['deu', 'fra', 'spa', 'cmn', 'ara', 'hin', 'rus', 'jpn'] as const;

export interface XquadParagraphs {
  readonly paragraphs: readonly string[];
  /** question id -> paragraph index */
  readonly paragraphOf: ReadonlyMap<string, number>;
  readonly questions: readonly { readonly id: string; readonly text: string }[];
}

/** Reads xquad.LANG.json (SQuAD v1.1 layout). */
export function readXquad(dir: string, lang: string): XquadParagraphs {
  const path = join(dir, `xquad.${lang}.json`);
  if (!existsSync(path)) throw new BiencoderError('NOT_FOUND', `no XQuAD file for language ${JSON.stringify(lang)}: ${path} (languages: ${XQUAD_LANGUAGES.join(' ')})`);
  let json: { data?: { paragraphs?: { context?: unknown; qas?: { id?: unknown; question?: unknown }[] }[] }[] };
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as typeof json;
  } catch (error) {
    throw new BiencoderError('INVALID_INPUT', `${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(json.data)) throw new BiencoderError('INVALID_INPUT', `${path}: expected SQuAD layout { data: [{ paragraphs: [...] }] }`);
  const paragraphs: string[] = [];
  const paragraphOf = new Map<string, number>();
  const questions: { id: string; text: string }[] = [];
  for (const article of json.data) {
    for (const p of article.paragraphs ?? []) {
      if (typeof p.context !== 'string' || !Array.isArray(p.qas)) throw new BiencoderError('INVALID_INPUT', `${path}: a paragraph lacks context or qas`);
      const index = paragraphs.push(p.context) - 1;
      for (const qa of p.qas) {
        if (typeof qa.id !== 'string' || typeof qa.question !== 'string') throw new BiencoderError('INVALID_INPUT', `${path}: a question lacks id or question text`);
        paragraphOf.set(qa.id, index);
        questions.push({ id: qa.id, text: qa.question });
      }
    }
  }
  return { paragraphs, paragraphOf, questions };
}

function topK(queries: Matrix, docs: Matrix, k: number): { keys: BigUint64Array; scores: Float32Array; count: number }[] {
  const index = new FlatIndex({ dims: docs.dims, metric: 'cosine' });
  index.add(BigUint64Array.from({ length: docs.rows }, (_, i) => BigInt(i)), docs);
  return index.search(queries, k);
}

export interface XquadResult {
  readonly task: 'xquad';
  readonly queryLanguage: string;
  readonly documentLanguage: string;
  readonly questions: number;
  readonly paragraphs: number;
  readonly metrics: MetricValues;
  readonly encodeSeconds: number;
}

export async function runXquad(encoder: Encoder, dir: string, options: { queryLanguage: string; documentLanguage: string; signal?: AbortSignal }): Promise<XquadResult> {
  const q = readXquad(dir, options.queryLanguage);
  const d = options.queryLanguage === options.documentLanguage ? q : readXquad(dir, options.documentLanguage);
  const questions = q.questions.filter((x) => d.paragraphOf.has(x.id));
  if (questions.length === 0) throw new BiencoderError('INVALID_INPUT', `no question ids of xquad.${options.queryLanguage} appear in xquad.${options.documentLanguage}`);
  const t0 = performance.now();
  const docs = await encoder.encode([...d.paragraphs], { role: 'document', signal: options.signal });
  const qv = await encoder.encode(questions.map((x) => x.text), { role: 'query', signal: options.signal });
  const encodeSeconds = (performance.now() - t0) / 1000;
  const matches = topK(qv, docs, 10);
  const run = new Map(questions.map((x, i) => {
    const m = matches[i];
    return [x.id, Array.from({ length: m.count }, (_, j) => ({ id: String(m.keys[j]), score: m.scores[j] }))];
  }));
  const qrels = new Map(questions.map((x) => [x.id, new Map([[String(d.paragraphOf.get(x.id)!), 1]])]));
  const { mean } = evaluateRun(run, qrels, { cutoffs: [1, 10], keepOrder: true });
  return {
    task: 'xquad', queryLanguage: options.queryLanguage, documentLanguage: options.documentLanguage, questions: questions.length, paragraphs: d.paragraphs.length,
    metrics: { 'recall@1': mean['recall@1'], 'recall@10': mean['recall@10'], 'mrr@10': mean['mrr@10'] }, encodeSeconds,
  };
}

export interface TatoebaResult {
  readonly task: 'tatoeba';
  readonly language: string;
  readonly pairs: number;
  /** Share of `language` sentences whose nearest English sentence is their translation. */
  readonly accuracyToEnglish: number;
  /** Share of English sentences whose nearest `language` sentence is their translation. */
  readonly accuracyFromEnglish: number;
  readonly encodeSeconds: number;
}

export function readTatoeba(dir: string, lang: string): { readonly foreign: readonly string[]; readonly english: readonly string[] } {
  const base = join(dir, `tatoeba.${lang}-eng`);
  for (const ext of [lang, 'eng']) {
    if (!existsSync(`${base}.${ext}`)) throw new BiencoderError('NOT_FOUND', `no Tatoeba file ${base}.${ext} (languages: ${TATOEBA_LANGUAGES.join(' ')})`);
  }
  const lines = (p: string): string[] => readFileSync(p, 'utf8').split(/\r?\n/).filter((l, i, all) => !(l === '' && i === all.length - 1));
  const foreign = lines(`${base}.${lang}`);
  const english = lines(`${base}.eng`);
  if (foreign.length !== english.length) throw new BiencoderError('INVALID_INPUT', `${base}.${lang} has ${foreign.length} lines but ${base}.eng has ${english.length}`);
  const empty = [...foreign, ...english].findIndex((l) => l.trim() === '');
  if (empty >= 0) throw new BiencoderError('INVALID_INPUT', `${base}: line ${(empty % foreign.length) + 1} is empty`);
  return { foreign, english };
}

export async function runTatoeba(encoder: Encoder, dir: string, options: { language: string; signal?: AbortSignal }): Promise<TatoebaResult> {
  const { foreign, english } = readTatoeba(dir, options.language);
  const t0 = performance.now();
  const a = await encoder.encode([...foreign], { role: 'document', signal: options.signal });
  const b = await encoder.encode([...english], { role: 'document', signal: options.signal });
  const encodeSeconds = (performance.now() - t0) / 1000;
  const accuracy = (queries: Matrix, targets: Matrix): number => {
    const m = topK(queries, targets, 1);
    let correct = 0;
    m.forEach((hit, i) => {
      if (hit.count > 0 && Number(hit.keys[0]) === i) correct++;
    });
    return correct / queries.rows;
  };
  return {
    task: 'tatoeba', language: options.language, pairs: foreign.length,
    accuracyToEnglish: accuracy(a, b), accuracyFromEnglish: accuracy(b, a), encodeSeconds,
  };
}
