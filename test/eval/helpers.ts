import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a small BEIR dataset: the first `docs` scifact documents, and one query per judged document
 * (its title, lower-cased) with that document as relevant (grade 1); `split` names the qrels file.
 * A query without judgements and an unjudged split query are included to exercise the loader.
 */
export function writeMiniBeir(dir: string, docs = 30, judged = 12): { dir: string; corpus: { _id: string; title: string; text: string }[] } {
  const lines = readFileSync(new URL('../../../shared/data/scifact/corpus.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean).slice(0, docs);
  const corpus = lines.map((l) => JSON.parse(l) as { _id: string; title: string; text: string });
  mkdirSync(join(dir, 'qrels'), { recursive: true });
  writeFileSync(join(dir, 'corpus.jsonl'), `${corpus.map((d) => JSON.stringify(d)).join('\n')}\n`);
  const queries = corpus.slice(0, judged).map((d, i) => ({ _id: `q${i}`, text: d.title.toLowerCase() }));
  queries.push({ _id: 'unjudged', text: 'a query nobody judged' });
  writeFileSync(join(dir, 'queries.jsonl'), `${queries.map((q) => JSON.stringify(q)).join('\n')}\n`);
  const qrels = corpus.slice(0, judged).map((d, i) => `q${i}\t${d._id}\t1`);
  writeFileSync(join(dir, 'qrels', 'test.tsv'), `query-id\tcorpus-id\tscore\n${qrels.join('\n')}\n`);
  writeFileSync(join(dir, 'qrels', 'train.tsv'), `query-id\tcorpus-id\tscore\n${qrels.slice(0, 4).join('\n')}\n`);
  return { dir, corpus };
}
