/**
 * bench:pgvector's text phase (on by default; --no-text skips it): dense, keyword (BM25) and hybrid
 * search over real text on pgvector and on the embedded store, the peer, with the same documents,
 * vectors and queries.
 *
 * BEIR scifact (../shared/data/scifact: 5,183 abstracts, 300 test queries), embedded with the default
 * encoder (USE lite, 512-d). The document vectors come from the eval cache .cache/eval/scifact-use-lite
 * that bench:quality and `biencoder eval` build (read-only; built here with the runner's own code when
 * missing: ~1 min of embedding); the query vectors are embedded once here, and every search gets
 * { text, vector }, so the latencies are the stores' alone (no query encoding). Both stores: HNSW f32,
 * m 16, ef_construction 128, ef_search 64 (pgvector: bulk load, then the index built); hybrid with the
 * library's defaults (convex fusion, 1,000 candidates per side). For each store and mode: 20 warm-up
 * queries, then every test query once, k 10: latency p50/p99, statements sent per query (pgvector; the
 * embedded store sends none), nDCG@10 (src/eval/metrics.ts). Also statements per query when dense and
 * hybrid searches alternate on one connection (their hnsw.ef_search may differ).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Collection } from '../src/collection/collection.ts';
import type { SearchHit, SearchMode } from '../src/collection/collection.ts';
import { PgvectorCollection } from '../src/collection/pgvector/pgvector-collection.ts';
import { loadEncoder, DEFAULT_MODEL } from '../src/encoders/load-encoder.ts';
import { documentText, loadBeirDataset } from '../src/eval/beir.ts';
import { evaluateRun, type RankedHit } from '../src/eval/metrics.ts';
import { cacheCollectionDir, ensureCorpusCollection } from '../src/eval/runner.ts';
import type { PgServer } from '../test/helpers/pglite-server.ts';
import { latency, round } from './pgvector-data.ts';
import { explainStatement } from './pgvector-explain.ts';
import { lastHnswSettings, recordStatements, statementHead } from './pg-statements.ts';

export interface TextPhaseOptions {
  /** A BEIR dataset directory. */
  readonly dataset: string;
  readonly startServer: () => Promise<PgServer>;
  readonly log: (line: string) => void;
}

const K = 10;
const WARM = 20;
const MODES: readonly SearchMode[] = ['dense', 'keyword', 'hybrid'];
const INDEX = { kind: 'hnsw', connectivity: 16, expansionAdd: 128, expansionSearch: 64, quantization: 'f32' } as const;

interface Searchable {
  search(query: Float32Array | { text: string; vector: Float32Array }, options: { k: number; mode: SearchMode }): Promise<SearchHit[]>;
}

interface ModeFigures {
  p50_ms: number;
  p99_ms: number;
  round_trips_per_query: number;
  ndcg10: number;
}

export async function runTextPhase(o: TextPhaseOptions): Promise<Record<string, unknown>> {
  const { log } = o;
  const t0 = performance.now();
  const dataset = loadBeirDataset(o.dataset);
  const name = dataset.name;
  const docsIn = dataset.corpus.map((d) => ({ id: d.id, text: documentText(d) })).filter((d) => d.text !== '');
  log(`\ntext phase: ${name} (${docsIn.length} documents, ${dataset.queries.length} test queries), encoder ${DEFAULT_MODEL}`);
  const encoder = await loadEncoder(DEFAULT_MODEL);
  const pgDir = mkdtempSync(join(tmpdir(), 'biencoder-bench-pgvector-text-'));
  try {
    // the document vectors: the eval cache (read-only), or built by the runner's code
    const cacheDir = join('.cache', 'eval', `${name}-${DEFAULT_MODEL}`);
    const flat = cacheCollectionDir(cacheDir, 'flat');
    let source = existsSync(join(flat, 'manifest.json')) ? await Collection.open(flat, { encoder, readOnly: true }) : undefined;
    if (source !== undefined && source.count() !== docsIn.length) {
      await source.close();
      source = undefined;
    }
    if (source === undefined) {
      log(`  embedding the corpus into ${cacheDir} (the eval cache) ...`);
      source = (await ensureCorpusCollection(dataset, encoder, cacheDir, { log })).collection;
    }
    const stored = await source.get(docsIn.map((d) => d.id), { vectors: true });
    await source.close();
    const docs = docsIn.map((d, i) => {
      const s = stored[i];
      if (s === undefined || s.text !== d.text) throw new Error(`the eval cache's ${d.id} is missing or holds another text`);
      return { id: d.id, text: d.text, vector: s.vector! };
    });
    const qm = await encoder.encode(dataset.queries.map((q) => q.text), { role: 'query' });
    const queries = dataset.queries.map((q, i) => ({ id: q.id, text: q.text, vector: qm.data.slice(i * qm.dims, (i + 1) * qm.dims) }));
    log(`  vectors ready in ${round((performance.now() - t0) / 1000, 1)} s (documents from the eval cache, ${queries.length} queries embedded)`);

    const measure = async (store: Searchable, label: string): Promise<Record<string, ModeFigures>> => {
      const out: Record<string, ModeFigures> = {};
      for (const mode of MODES) {
        const query = (i: number) => (mode === 'dense' ? queries[i].vector : { text: queries[i].text, vector: queries[i].vector });
        for (let i = 0; i < WARM; i++) await store.search(query(i % queries.length), { k: K, mode });
        const times: number[] = [];
        const run = new Map<string, RankedHit[]>();
        const { statements } = await recordStatements(async () => {
          for (let i = 0; i < queries.length; i++) {
            const t = performance.now();
            const hits = await store.search(query(i), { k: K, mode });
            times.push(performance.now() - t);
            run.set(queries[i].id, hits.map((h) => ({ id: h.id, score: h.score })));
          }
        });
        const l = latency(times);
        const ndcg = evaluateRun(run, dataset.qrels, { cutoffs: [10] }).mean['ndcg@10'];
        out[mode] = { p50_ms: l.p50, p99_ms: l.p99, round_trips_per_query: round(statements.length / queries.length, 3), ndcg10: round(ndcg, 5) };
        log(`  ${label} ${mode.padEnd(7)}: p50 ${l.p50} ms, p99 ${l.p99} ms, ${out[mode].round_trips_per_query} statements per query, nDCG@10 ${out[mode].ndcg10}`);
      }
      return out;
    };

    // pgvector
    const server = await o.startServer();
    let pgFigures: Record<string, unknown>;
    try {
      const store = await PgvectorCollection.create(server.collectionUrl(name), { encoder, metric: 'cosine', index: INDEX, deferIndex: true, poolSize: 1 });
      try {
        let t = performance.now();
        for (let i = 0; i < docs.length; i += 500) await store.upsertVectors(docs.slice(i, i + 500));
        const loadSeconds = (performance.now() - t) / 1000;
        t = performance.now();
        await store.buildIndex({ maintenanceWorkMem: '512MB' });
        const buildSeconds = (performance.now() - t) / 1000;
        log(`  pgvector: loaded ${docs.length} documents with their postings in ${round(loadSeconds, 1)} s, HNSW built in ${round(buildSeconds, 1)} s`);
        const modes = await measure(store, 'pgvector');
        // one search of each mode: its statements listed, the first one's plan (EXPLAIN ANALYZE on the bench's connection, the store's session settings)
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        const plans: Record<string, unknown> = {};
        try {
          for (const mode of ['keyword', 'hybrid'] as const) {
            const { statements } = await recordStatements(() => store.search({ text: queries[0].text, vector: queries[0].vector }, { k: K, mode }));
            log(`    ${mode} sends: ${statements.map((s) => statementHead(s.text, 70)).join(' | ')}`);
            const plan = await explainStatement(client, statements[0], mode === 'hybrid' ? lastHnswSettings() : {}, `biencoder_${store.collectionName}`);
            plans[mode] = { execution_ms: round(plan.executionMs, 3), documents_access: plan.tableAccess.join(' > '), documents_rows_read: plan.tableRowsRead, seq_scan_on_documents: plan.seqScanOnTable };
            log(`    its first statement's plan (query ${queries[0].id}; ${mode === 'hybrid' ? Object.entries(lastHnswSettings()).map(([k, v]) => `${k} = ${v}`).join(', ') : 'no session settings'}): ${round(plan.executionMs, 3)} ms`);
            for (const line of plan.lines) log(`      ${line}`);
          }
        } finally {
          await client.end();
        }
        // dense and hybrid alternating on the one pooled connection
        const mixed = await recordStatements(async () => {
          for (let i = 0; i < 40; i++) {
            const q = queries[i % queries.length];
            await store.search(i % 2 === 0 ? q.vector : { text: q.text, vector: q.vector }, { k: K, mode: i % 2 === 0 ? 'dense' : 'hybrid' });
          }
        });
        const setStatements = mixed.statements.filter((s) => /set_config\('hnsw\.ef_search'/.test(s.text)).length;
        const mixedPerQuery = round(mixed.statements.length / 40, 3);
        log(`  pgvector dense and hybrid alternating (40 searches): ${mixedPerQuery} statements per search, ${setStatements} of them hnsw.ef_search settings`);
        pgFigures = { load_seconds: round(loadSeconds, 1), index_build_seconds: round(buildSeconds, 1), ...flatten(modes), first_statement_plans: plans, alternating_dense_hybrid_statements_per_search: mixedPerQuery, alternating_ef_settings: setStatements };
      } finally {
        await store.close();
      }
    } finally {
      await server.stop();
    }

    // the embedded store, the peer
    const peer = await Collection.create(join(pgDir, 'peer'), { encoder, metric: 'cosine', index: INDEX, autoFlushChanges: Number.POSITIVE_INFINITY });
    let peerFigures: Record<string, unknown>;
    try {
      const t = performance.now();
      for (let i = 0; i < docs.length; i += 500) await peer.upsertVectors(docs.slice(i, i + 500));
      const loadSeconds = (performance.now() - t) / 1000;
      log(`  embedded: loaded in ${round(loadSeconds, 1)} s (HNSW inline)`);
      peerFigures = { store: 'embedded (SQLite + usearch HNSW f32, in process)', load_seconds: round(loadSeconds, 1), ...flatten(await measure(peer, 'embedded')) };
    } finally {
      await peer.close();
    }
    const ratio: Record<string, number> = {};
    for (const mode of MODES) {
      ratio[`${mode}_p50_pgvector_over_embedded`] = round((pgFigures[`${mode}_p50_ms`] as number) / (peerFigures[`${mode}_p50_ms`] as number), 2);
      ratio[`${mode}_ndcg10_pgvector_minus_embedded`] = round((pgFigures[`${mode}_ndcg10`] as number) - (peerFigures[`${mode}_ndcg10`] as number), 5);
    }
    log(`  ratios pgvector/embedded p50: ${MODES.map((m) => `${m} ${ratio[`${m}_p50_pgvector_over_embedded`]}`).join(', ')}; nDCG@10 differences: ${MODES.map((m) => `${m} ${ratio[`${m}_ndcg10_pgvector_minus_embedded`]}`).join(', ')}`);
    return { dataset: name, documents: docs.length, queries: queries.length, encoder: DEFAULT_MODEL, k: K, pgvector: pgFigures, peer: peerFigures, ratio, seconds: Math.round((performance.now() - t0) / 1000) };
  } finally {
    rmSync(pgDir, { recursive: true, force: true });
    await encoder.close?.();
  }
}

/** { dense: { p50_ms, ... }, ... } as { dense_p50_ms, ... }. */
function flatten(modes: Record<string, ModeFigures>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [mode, f] of Object.entries(modes)) {
    out[`${mode}_p50_ms`] = f.p50_ms;
    out[`${mode}_p99_ms`] = f.p99_ms;
    out[`${mode}_round_trips_per_query`] = f.round_trips_per_query;
    out[`${mode}_ndcg10`] = f.ndcg10;
  }
  return out;
}
