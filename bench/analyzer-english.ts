/**
 * The English analyzer against what it replaces: BM25 nDCG@10 on scifact, cranfield and cisi (exact
 * BM25, test/helpers/exact-bm25.ts; FTS5 `porter unicode61 remove_diacritics 2` scored 0.6870 / 0.3613 /
 * 0.3163), and terms() throughput on the scifact corpus.
 *
 *   node --import tsx bench/analyzer-english.ts [--language en] [--data DIR]
 *
 * Last stdout line: JSON with ndcg@10 per dataset and words_per_s.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Analyzer, createAnalyzer } from '../src/analysis/index.ts';
import { documentText, loadBeirDataset } from '../src/eval/beir.ts';
import { evaluateRun, type RankedHit } from '../src/eval/metrics.ts';
import { ExactBm25 } from '../test/helpers/exact-bm25.ts';

const DATASETS = ['scifact', 'cranfield', 'cisi'] as const;
export const FTS5_NDCG10: Readonly<Record<(typeof DATASETS)[number], number>> = { scifact: 0.687, cranfield: 0.3613, cisi: 0.3163 };

/** BM25 nDCG@10 (BEIR's rule: a hit whose id is the query's is dropped) of a BEIR dataset with an analyzer. */
export function beirNdcg10(dir: string, analyzer: Pick<Analyzer, 'terms' | 'queryTerms'>): number {
  const data = loadBeirDataset(dir);
  const bm25 = new ExactBm25(data.corpus.map((d) => analyzer.terms(documentText(d))));
  const run = new Map<string, RankedHit[]>();
  for (const q of data.queries) {
    if (!data.qrels.has(q.id)) continue;
    run.set(q.id, bm25.search(analyzer.queryTerms(q.text), 100).map((h) => ({ id: data.corpus[h.index].id, score: h.score })));
  }
  return evaluateRun(run, data.qrels, { cutoffs: [10], ignoreIdenticalIds: true, keepOrder: true }).mean['ndcg@10'];
}

/** Words (whitespace-separated) per second of analyzer.terms() over texts, best of a few passes. */
export function termsThroughput(analyzer: Pick<Analyzer, 'terms'>, texts: readonly string[], passes = 5): number {
  let words = 0;
  for (const t of texts) words += t.split(/\s+/).filter((w) => w !== '').length;
  let best = Infinity;
  for (let pass = 0; pass < passes; pass++) {
    const start = performance.now();
    for (const t of texts) analyzer.terms(t);
    best = Math.min(best, performance.now() - start);
  }
  return words / (best / 1000);
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dataDir = option('--data') ?? fileURLToPath(new URL('../../shared/data/', import.meta.url));
  const analyzer = createAnalyzer(option('--language') ?? 'en');
  const out: Record<string, number> = {};
  for (const name of DATASETS) {
    const dir = join(dataDir, name);
    if (!existsSync(dir)) continue;
    const ndcg = beirNdcg10(dir, analyzer);
    out[`${name}_ndcg@10`] = ndcg;
    console.log(`${name.padEnd(10)} nDCG@10 ${ndcg.toFixed(4)} (FTS5 ${FTS5_NDCG10[name].toFixed(4)}, ${ndcg - FTS5_NDCG10[name] >= 0 ? '+' : ''}${(ndcg - FTS5_NDCG10[name]).toFixed(4)})`);
  }
  const scifact = join(dataDir, 'scifact');
  if (existsSync(scifact)) {
    const texts = loadBeirDataset(scifact).corpus.map(documentText);
    // A fresh analyzer: its stem cache starts cold, as when an index is built.
    out.words_per_s = termsThroughput(createAnalyzer(analyzer.spec.language), texts);
    console.log(`terms(): ${(out.words_per_s / 1e6).toFixed(2)} M words/s (scifact corpus, ${texts.length} documents)`);
  }
  console.log(JSON.stringify(out));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
