/**
 * bench:keyword's quality check: nDCG@10 of BM25 and of hybrid search (library defaults) on the test
 * splits of scifact, cranfield and cisi, through a collection with the default index (i8 + rescoring)
 * and the embedded default model, as `biencoder search --mode keyword|hybrid` ranks. The corpora's
 * embeddings are cached by the evaluation runner (.cache/eval/NAME-use-lite), so reruns embed nothing.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEncoder } from '../src/encoders/load-encoder.ts';
import { loadBeirDataset } from '../src/eval/beir.ts';
import { evaluateRun } from '../src/eval/metrics.ts';
import { ensureCorpusCollection, ensureIndexCollection } from '../src/eval/runner.ts';

const DATA = fileURLToPath(new URL('../../shared/data/', import.meta.url));
export const QUALITY_DATASETS = ['scifact', 'cranfield', 'cisi'] as const;

/** Before the keyword engine (FTS5, the same fusion defaults; BENCHMARKS.md, bench:quality). */
export const QUALITY_BEFORE: Readonly<Record<string, { bm25: number; hybrid: number }>> = {
  scifact: { bm25: 0.687, hybrid: 0.69 },
  cranfield: { bm25: 0.3613, hybrid: 0.3778 },
  cisi: { bm25: 0.3163, hybrid: 0.3548 },
};

export interface KeywordQuality {
  readonly ndcg10: Record<string, { bm25: number; hybrid: number }>;
  readonly msPerQuery: Record<string, { bm25: number; hybrid: number }>;
}

export async function keywordQuality(log: (line: string) => void): Promise<KeywordQuality> {
  const encoder = await loadEncoder('use-lite');
  const ndcg10: KeywordQuality['ndcg10'] = {};
  const msPerQuery: KeywordQuality['msPerQuery'] = {};
  try {
    for (const name of QUALITY_DATASETS) {
      const ds = loadBeirDataset(join(DATA, name));
      const cacheDir = join('.cache', 'eval', `${name}-use-lite`);
      const { collection } = await ensureCorpusCollection(ds, encoder, cacheDir, { log });
      const c = await ensureIndexCollection(collection, 'i8', cacheDir, encoder);
      try {
        const m = await encoder.encode(ds.queries.map((q) => q.text), { role: 'query' });
        const runs = { bm25: new Map<string, { id: string; score: number }[]>(), hybrid: new Map<string, { id: string; score: number }[]>() };
        const ms = { bm25: 0, hybrid: 0 };
        for (let i = 0; i < ds.queries.length; i++) {
          const q = ds.queries[i];
          let t = performance.now();
          const keyword = await c.search(q.text, { mode: 'keyword', k: 10 });
          ms.bm25 += performance.now() - t;
          t = performance.now();
          const hybrid = await c.search({ text: q.text, vector: m.data.slice(i * m.dims, (i + 1) * m.dims) }, { mode: 'hybrid', k: 10 });
          ms.hybrid += performance.now() - t;
          runs.bm25.set(q.id, keyword.map((h) => ({ id: h.id, score: h.score })));
          runs.hybrid.set(q.id, hybrid.map((h) => ({ id: h.id, score: h.score })));
        }
        const score = (run: Map<string, { id: string; score: number }[]>): number => Number(evaluateRun(run, ds.qrels, { cutoffs: [10] }).mean['ndcg@10'].toFixed(4));
        ndcg10[name] = { bm25: score(runs.bm25), hybrid: score(runs.hybrid) };
        msPerQuery[name] = { bm25: Number((ms.bm25 / ds.queries.length).toFixed(3)), hybrid: Number((ms.hybrid / ds.queries.length).toFixed(3)) };
        const before = QUALITY_BEFORE[name];
        log(`${name} (${ds.queries.length} test queries): BM25 nDCG@10 ${ndcg10[name].bm25} (before ${before.bm25}), hybrid ${ndcg10[name].hybrid} (before ${before.hybrid}); ${msPerQuery[name].bm25} / ${msPerQuery[name].hybrid} ms a query`);
      } finally {
        await c.close();
        await collection.close();
      }
    }
  } finally {
    await encoder.close();
  }
  return { ndcg10, msPerQuery };
}
