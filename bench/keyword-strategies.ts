/**
 * npm run bench:keyword-strategies — the keyword engine's two top-k strategies on the same queries:
 * MaxScore pruning (src/keyword/max-score.ts) and scoring every match term at a time
 * (src/keyword/term-at-a-time.ts), which the engine chooses between per query ('auto',
 * src/keyword/keyword-search.ts). This is where that rule's thresholds come from.
 *
 * Corpus: bench:keyword's synthetic documents (GloVe words with Zipf weights, 80-120 words; no vectors),
 * --docs of them (default 100,000) in an InvertedIndex with the English analyzer, compacted; 300 of its
 * queries. For k = 10, 100 and 1,000: the mean time a query of each strategy and of 'auto', and per bucket
 * of postings per result wanted (the rule's measure) the mean of each. One thread; nothing else should run.
 * The scifact line (unless --skip-scifact): the 1,109 scifact queries over its 5,183 documents at k = 1,000.
 *
 * Human-readable lines, then one JSON object as the last stdout line.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Corpus } from './keyword-data.ts';
import { createAnalyzer } from '../src/analysis/analyzer.ts';
import { InvertedIndex } from '../src/keyword/inverted-index.ts';
import { searchTopK, type KeywordStrategy } from '../src/keyword/keyword-search.ts';
import { prepareQuery } from '../src/keyword/prepared-query.ts';

const { values } = parseArgs({ options: { docs: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' }, 'skip-scifact': { type: 'boolean', default: false } } });
const docs = Number(values.docs);
if (!Number.isInteger(docs) || docs < 1000) throw new Error('--docs must be an integer >= 1000');
const analyzer = createAnalyzer('en');
const STRATEGIES: readonly KeywordStrategy[] = ['max-score', 'term-at-a-time', 'auto'];
const BUCKETS = [4, 16, 64, 256, Infinity];
const round = (x: number): number => Number(x.toFixed(4));

/** Mean ms a query of each strategy (second of two passes), and per postings-per-result bucket. */
function measure(index: InvertedIndex, queries: readonly string[][], k: number) {
  const mean: Record<string, number> = {};
  for (const strategy of STRATEGIES) {
    for (let pass = 0; pass < 2; pass++) {
      const t = performance.now();
      for (const q of queries) searchTopK(index, q, k, { strategy });
      mean[strategy] = round((performance.now() - t) / queries.length);
    }
  }
  const buckets = BUCKETS.map((limit) => ({ postings_per_result_at_most: Number.isFinite(limit) ? limit : null, queries: 0, max_score_ms: 0, term_at_a_time_ms: 0 }));
  for (const q of queries) {
    const ratio = (prepareQuery(index, q)?.postings ?? 0) / k;
    const b = buckets[BUCKETS.findIndex((limit) => ratio <= limit)];
    const time = (strategy: KeywordStrategy): number => {
      const t = performance.now();
      for (let r = 0; r < 3; r++) searchTopK(index, q, k, { strategy });
      return (performance.now() - t) / 3;
    };
    b.queries++;
    b.max_score_ms += time('max-score');
    b.term_at_a_time_ms += time('term-at-a-time');
  }
  for (const b of buckets) {
    b.max_score_ms = b.queries ? round(b.max_score_ms / b.queries) : 0;
    b.term_at_a_time_ms = b.queries ? round(b.term_at_a_time_ms / b.queries) : 0;
  }
  return { k, mean_ms: mean, buckets: buckets.filter((b) => b.queries > 0) };
}

function report(label: string, r: ReturnType<typeof measure>): void {
  console.log(`${label} k ${r.k}: ${STRATEGIES.map((s) => `${s} ${r.mean_ms[s]} ms`).join(', ')}`);
  for (const b of r.buckets) console.log(`  postings/result <= ${b.postings_per_result_at_most ?? 'inf'}: ${b.queries} queries, max-score ${b.max_score_ms} ms, term-at-a-time ${b.term_at_a_time_ms} ms`);
}

const corpus = new Corpus(Number(values.seed));
const index = new InvertedIndex(analyzer);
const t = performance.now();
for (let s = 0; s < docs; s += 10_000) {
  const batch = corpus.batch(s, Math.min(10_000, docs - s), false);
  index.add(batch.texts.map((text, i) => ({ key: s + i + 1, text })));
}
index.compact();
console.log(`built ${docs} documents in ${((performance.now() - t) / 1000).toFixed(1)} s; machine ${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}`);
const queries = Array.from({ length: 300 }, (_, j) => analyzer.queryTerms(corpus.query(j).text));
const synthetic = [10, 100, 1000].map((k) => measure(index, queries, k));
synthetic.forEach((r) => report(`synthetic ${docs}`, r));

let scifact: ReturnType<typeof measure> | null = null;
if (!values['skip-scifact']) {
  const data = new URL('../../shared/data/scifact/', import.meta.url);
  const lines = (name: string): { [key: string]: string }[] => readFileSync(new URL(name, data), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { [key: string]: string });
  const sci = new InvertedIndex(analyzer);
  sci.add(lines('corpus.jsonl').map((d, i) => ({ key: i + 1, text: `${d.title} ${d.text}`.trim() })));
  sci.compact();
  scifact = measure(sci, lines('queries.jsonl').map((q) => analyzer.queryTerms(q.text)), 1000);
  report(`scifact ${sci.size}`, scifact);
}
console.log(JSON.stringify({ bench: 'keyword-strategies', date: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version }, docs, queries: queries.length, synthetic, scifact }));
