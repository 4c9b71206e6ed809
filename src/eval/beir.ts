/**
 * BEIR-format datasets: DIR/corpus.jsonl ({_id, title?, text}), DIR/queries.jsonl ({_id, text}) and
 * DIR/qrels/SPLIT.tsv ("query-id<TAB>corpus-id<TAB>score", an optional header line; graded integer
 * scores, 0 = judged not relevant).
 *
 * The queries of a split are the queries.jsonl entries that have at least one judgement in
 * qrels/SPLIT.tsv (queries.jsonl usually holds every split's queries). Judgements that name a
 * query absent from queries.jsonl are INVALID_INPUT; ones that name a document absent from the
 * corpus are kept (they count as relevant-but-unretrievable, as pytrec_eval counts them).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BiencoderError } from '../errors.ts';
import type { Qrels } from './metrics.ts';

export interface BeirDocument {
  readonly id: string;
  readonly title: string;
  readonly text: string;
}

export interface BeirQuery {
  readonly id: string;
  readonly text: string;
}

export interface BeirDataset {
  readonly dir: string;
  readonly name: string;
  readonly split: string;
  readonly corpus: readonly BeirDocument[];
  /** The split's queries (those with judgements), in queries.jsonl order. */
  readonly queries: readonly BeirQuery[];
  readonly qrels: Qrels;
}

export interface LoadBeirOptions {
  /** Default 'test'. */
  readonly split?: string;
  /** Skip reading the corpus (for runs against an already built collection). Default false. */
  readonly skipCorpus?: boolean;
}

/** The text a document is embedded and indexed as: title and text joined by a space (BEIR / MTEB practice). */
export function documentText(doc: Pick<BeirDocument, 'title' | 'text'>): string {
  return [doc.title, doc.text].map((s) => s.trim()).filter((s) => s !== '').join(' ');
}

export function loadBeirDataset(dir: string, options: LoadBeirOptions = {}): BeirDataset {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new BiencoderError('NOT_FOUND', `no dataset directory at ${root}`);
  const split = options.split ?? 'test';
  if (!/^[\w.-]+$/.test(split)) throw new BiencoderError('INVALID_ARGUMENT', `split must be a plain name such as test, train or dev, got ${JSON.stringify(split)}`);
  const qrelsPath = join(root, 'qrels', `${split}.tsv`);
  const qrels = readQrels(requireFile(qrelsPath, `split ${JSON.stringify(split)} (qrels/${split}.tsv)`));
  const allQueries = readJsonl(requireFile(join(root, 'queries.jsonl'), 'queries.jsonl'), (o, where) => ({ id: idOf(o, where), text: stringField(o, 'text', where, false) }));
  const known = new Set(allQueries.map((q) => q.id));
  for (const qid of qrels.keys()) {
    if (!known.has(qid)) throw new BiencoderError('INVALID_INPUT', `${qrelsPath} judges query ${JSON.stringify(qid)}, which is not in queries.jsonl`);
  }
  const queries = allQueries.filter((q) => qrels.has(q.id));
  const corpus = options.skipCorpus
    ? []
    : readJsonl(requireFile(join(root, 'corpus.jsonl'), 'corpus.jsonl'), (o, where) => ({
        id: idOf(o, where), title: stringField(o, 'title', where, true), text: stringField(o, 'text', where, true),
      }));
  const seen = new Set<string>();
  for (const d of corpus) {
    if (seen.has(d.id)) throw new BiencoderError('INVALID_INPUT', `${join(root, 'corpus.jsonl')}: document id ${JSON.stringify(d.id)} appears twice`);
    seen.add(d.id);
  }
  return { dir: root, name: root.split(/[\\/]/).pop()!, split, corpus, queries, qrels };
}

/**
 * Queries and their judgements from two files (a dataset without BEIR's layout): queries as JSON lines
 * ({_id, text}) and qrels as TSV (query id, document id, grade). Only judged queries are returned.
 */
export function loadJudgedQueries(queriesPath: string, qrelsPath: string): { readonly queries: BeirQuery[]; readonly qrels: Qrels } {
  const qrels = readQrels(requireFile(resolve(qrelsPath), qrelsPath));
  const all = readJsonl(requireFile(resolve(queriesPath), queriesPath), (o, where) => ({ id: idOf(o, where), text: stringField(o, 'text', where, false) }));
  const known = new Set(all.map((q) => q.id));
  for (const qid of qrels.keys()) {
    if (!known.has(qid)) throw new BiencoderError('INVALID_INPUT', `${qrelsPath} judges query ${JSON.stringify(qid)}, which is not in ${queriesPath}`);
  }
  return { queries: all.filter((q) => qrels.has(q.id)), qrels };
}

/** Parses qrels TSV text: query id, document id, integer grade; a first line starting "query-id" is a header. */
export function parseQrels(text: string, source = 'qrels'): Qrels {
  const qrels = new Map<string, Map<string, number>>();
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    if (i === 0 && /^query[-_]?id\b/i.test(line)) return;
    const cols = line.split('\t');
    // TREC qrels ("qid 0 docid grade", space separated) are accepted too.
    const parts = cols.length >= 3 ? cols : line.trim().split(/\s+/);
    if (parts.length !== 3 && parts.length !== 4) throw new BiencoderError('INVALID_INPUT', `${source}:${i + 1}: expected "query-id<TAB>corpus-id<TAB>score", got ${JSON.stringify(line.slice(0, 80))}`);
    const [qid, docid, grade] = parts.length === 4 ? [parts[0], parts[2], parts[3]] : parts;
    const g = Number(grade);
    if (qid === '' || docid === '' || grade.trim() === '' || !Number.isInteger(g)) throw new BiencoderError('INVALID_INPUT', `${source}:${i + 1}: bad judgement ${JSON.stringify(line.slice(0, 80))} (the score must be an integer)`);
    let judged = qrels.get(qid);
    if (judged === undefined) qrels.set(qid, (judged = new Map()));
    judged.set(docid, g);
  });
  return qrels;
}

function readQrels(path: string): Qrels {
  return parseQrels(readFileSync(path, 'utf8'), path);
}

function requireFile(path: string, what: string): string {
  if (!existsSync(path)) throw new BiencoderError('NOT_FOUND', `the dataset has no ${what}: ${path} does not exist`);
  return path;
}

function readJsonl<T>(path: string, map: (o: Record<string, unknown>, where: string) => T): T[] {
  const out: T[] = [];
  readFileSync(path, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${path}:${i + 1}`;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (error) {
      throw new BiencoderError('INVALID_INPUT', `${where}: not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new BiencoderError('INVALID_INPUT', `${where}: expected a JSON object`);
    out.push(map(o as Record<string, unknown>, where));
  });
  return out;
}

function idOf(o: Record<string, unknown>, where: string): string {
  const id = o._id;
  if ((typeof id !== 'string' && typeof id !== 'number') || String(id) === '') throw new BiencoderError('INVALID_INPUT', `${where}: "_id" must be a non-empty string`);
  return String(id);
}

function stringField(o: Record<string, unknown>, field: string, where: string, optional: boolean): string {
  const v = o[field];
  if (v === undefined || v === null) {
    if (optional) return '';
    throw new BiencoderError('INVALID_INPUT', `${where}: "${field}" is missing`);
  }
  if (typeof v !== 'string') throw new BiencoderError('INVALID_INPUT', `${where}: "${field}" must be a string`);
  return v;
}
