/**
 * npm run bench:keyword — keyword (BM25) and hybrid search in a collection at a million documents
 * (issue #17), against SQLite FTS5 and LanceDB on the same documents and queries.
 *
 * Corpus (bench/keyword-data.ts): --docs documents (default 1,000,000) of 80-120 words drawn with
 * Zipf weights (p(rank r) ~ 1/r, exponent 1.0) over GloVe's 341,479-word vocabulary; text = the words
 * joined by spaces; vector = the normalized mean of the words' GloVe vectors. --queries queries
 * (default 1,000) of 3-8 words drawn the same way, with vectors made the same way; 50 more warm up.
 * Everything is regenerated from --seed in batches: no stage holds the corpus.
 *
 * Sizes: the small size (--small-docs, default 100,000) is the first documents of the same stream:
 * each store is built to the small size, measured, then GROWN to --docs in place (the same
 * collection, the same FTS5 database, the same LanceDB table with its indexes rebuilt) and measured
 * again. Build rates count all the work up to each size (only the data generation is left out).
 *
 * Ours: Collection.create with a description of vectors computed elsewhere (100-d, cosine) and the
 * default index, filled by upsertVectors in batches of --batch (ids d<i>, the texts, the vectors,
 * metadata { bucket: i % 100 }), closed (flush), reopened: build docs/s, bytes per document on disk
 * (every file in the directory / docs) and the process RSS after reopening (it also holds GloVe's
 * vectors, 137 MB, and words). Then timed searches, one query per call, one thread, each after a
 * warm-up of 50 other queries: keyword (mode 'keyword', k 10); hybrid ({ text, vector } query
 * objects in searchBatch, mode 'hybrid', k 10; null with the error if the engine refuses them);
 * filtered keyword ({ bucket: 7 }, 1% of the documents).
 * Peers (bench/keyword-peers.ts): SQLite FTS5 (contentless table, today's collection tokenizer,
 * keywordMatchExpression's query, bm25 top 10) and LanceDB 0.31.0 (FTS index + IVF_PQ; full-text and
 * hybrid top 10; LanceDB runs its queries on its own thread pool, 2 cores here).
 * Agreement: overlap@10 of our keyword top 10 (and LanceDB's full-text top 10) with FTS5's, mean over
 * the first 100 queries that FTS5 matches.
 *
 * Options: --docs, --small-docs, --queries, --filtered-queries (default: --queries), --batch, --seed, --dir, --keep, --skip-fts5, --skip-lancedb,
 * --skip-xquad, --skip-quality (bench/keyword-args.ts).
 * Human-readable lines, then one JSON object as the last stdout line: `docs`, `keyword_p50_ms`,
 * `keyword_p99_ms`, `hybrid_p99_ms`, `keyword_p50_vs_fts5` (ours / FTS5: lower is better for us),
 * `hybrid_p99_vs_lancedb` (ours / LanceDB: lower is better for us), `small` (the same at the small
 * size), `build_docs_per_s`, `bytes_per_doc`, `fts5`, `lancedb`, `machine`, `phases`, and
 * `xquad_recall10` (language -> R@10 with its own analyzer), `xquad` (R@1 and R@10: FTS5 before, own, auto),
 * `quality` (dataset -> bm25 | hybrid -> nDCG@10, bench/keyword-quality.ts) and `quality_before`.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Collection, DEFAULT_COLLECTION_INDEX } from '../src/collection/collection.ts';
import { XQUAD_LANGUAGES } from '../src/eval/crosslingual.ts';
import { parseKeywordBenchArgs, type KeywordBenchOptions } from './keyword-args.ts';
import { keywordQuality, QUALITY_BEFORE, type KeywordQuality } from './keyword-quality.ts';
import { loadXquadKeyword, xquadCollectionRecall, xquadFts5Recall, type XquadKeywordResult } from './xquad-keyword.ts';
import { Corpus, DIMS, DOC_WORDS, QUERY_WORDS, ZIPF_EXPONENT, type Item } from './keyword-data.ts';
import { FTS5_TOKENIZER, FTS5_TRANSACTION_ROWS, Fts5Peer, LANCEDB_ADD_ROWS, LANCEDB_SUB_VECTORS, LancedbPeer, loadLancedb } from './keyword-peers.ts';

let opts: KeywordBenchOptions;
try {
  opts = parseKeywordBenchArgs(process.argv.slice(2));
} catch (error) {
  console.error(`bench:keyword: ${(error as Error).message}`);
  process.exit(2);
}

const K = 10;
const WARMUP = 50;
const AGREEMENT_QUERIES = 100;
const FILTER = { bucket: 7 };
const started = performance.now();
const loadStart = loadavg().map((x) => Number(x.toFixed(2)));
const root = opts.dir ?? mkdtempSync(join(tmpdir(), 'biencoder-bench-keyword-'));
const log = (line: string): void => console.log(line);
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const fmt = (n: number): string => n.toLocaleString('en-US');
const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => (a == null || b == null || !(b > 0) ? null : round(a / b, 3));
const mb = (bytes: number): number => round(bytes / 2 ** 20, 1);

function dirBytes(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((s, f) => s + dirBytes(join(path, f)), 0);
}

const phases: { phase: string; seconds: number }[] = [];
async function phase<T>(name: string, f: () => Promise<T> | T): Promise<T> {
  const t = performance.now();
  const out = await f();
  const seconds = (performance.now() - t) / 1000;
  phases.push({ phase: name, seconds: round(seconds, 1) });
  log(`  [${name}: ${seconds.toFixed(1)} s]`);
  return out;
}

interface Latency {
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
}
/** Times run(q) for each query, one at a time, after WARMUP calls on the warm-up queries; returns the latencies and the first results. */
async function timed<R>(run: (q: Item) => Promise<R> | R, count = queries.length): Promise<{ latency: Latency; first: R[] }> {
  for (const q of warmups) await run(q);
  const lat: number[] = [];
  const first: R[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const r = await run(queries[i]);
    lat.push(performance.now() - t);
    if (i < AGREEMENT_QUERIES) first.push(r);
  }
  lat.sort((a, b) => a - b);
  const at = (p: number): number => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
  return { latency: { p50_ms: round(at(50), 3), p99_ms: round(at(99), 3), mean_ms: round(lat.reduce((s, x) => s + x, 0) / lat.length, 3) }, first };
}
const show = (l: Latency | null): string => (l === null ? 'n/a' : `p50 ${l.p50_ms.toFixed(2)} ms, p99 ${l.p99_ms.toFixed(2)} ms, mean ${l.mean_ms.toFixed(2)} ms`);

/** Mean overlap@10 of a with b over the queries where b has hits (b: the reference). */
function overlap(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number | null {
  let sum = 0;
  let n = 0;
  for (let q = 0; q < Math.min(a.length, b.length); q++) {
    if (b[q].length === 0) continue;
    const ref = new Set(b[q]);
    sum += a[q].filter((x) => ref.has(x)).length / ref.size;
    n++;
  }
  return n === 0 ? null : round(sum / n, 3);
}
const docNumber = (id: string): number => Number(id.slice(1));

// ---------------------------------------------------------------- data
log(`bench:keyword — ${fmt(opts.docs)} documents${opts.smallDocs > 0 ? ` (and the first ${fmt(opts.smallDocs)})` : ''}, ${fmt(opts.queries)} queries, seed ${opts.seed}`);
log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, node ${process.version}, load ${loadStart.join(' ')}; files under ${root}`);
const corpus = await phase('load GloVe', () => new Corpus(opts.seed));
const queries = Array.from({ length: opts.queries }, (_, j) => corpus.query(j));
const warmups = Array.from({ length: WARMUP }, (_, j) => corpus.query(opts.queries + j));
log(`corpus: ${DOC_WORDS.min}-${DOC_WORDS.max} words per document, ${QUERY_WORDS.min}-${QUERY_WORDS.max} per query, Zipf exponent ${ZIPF_EXPONENT} over ${fmt(corpus.words.length)} GloVe words; e.g. query 0 "${queries[0].text}"`);

const sizes = opts.smallDocs > 0 ? [opts.smallDocs, opts.docs] : [opts.docs];

interface OursAt {
  docs: number;
  build_seconds: number;
  build_docs_per_s: number;
  reopen_seconds: number;
  bytes_per_doc: number;
  rss_mb: number;
  keyword: Latency;
  filtered_keyword: Latency;
  hybrid: Latency | null;
  hybrid_error: string | null;
  keyword_overlap10_vs_fts5: number | null;
}
interface Fts5At { docs: number; build_seconds: number; build_docs_per_s: number; bytes_per_doc: number; keyword: Latency }
interface LanceAt {
  docs: number;
  add_seconds: number;
  fts_index_seconds: number;
  vector_index_seconds: number;
  build_docs_per_s: number;
  bytes_per_doc: number;
  fts: Latency;
  hybrid: Latency;
  fts_overlap10_vs_fts5: number | null;
}
const ours: OursAt[] = [];
const fts5: Fts5At[] = [];
const lance: LanceAt[] = [];
let lancedbReason: string | null = opts.skipLancedb ? 'skipped (--skip-lancedb)' : null;
let lancedbVersion: string | null = null;

// ---------------------------------------------------------------- stores, grown size by size
const collDir = join(root, 'collection');
const fts5Path = join(root, 'fts5.db');
const lanceDir = join(root, 'lancedb');
for (const p of [collDir, fts5Path, `${fts5Path}-wal`, `${fts5Path}-shm`, lanceDir]) rmSync(p, { recursive: true, force: true });

let collection: Collection = await Collection.create(collDir, {
  encoder: { modelId: 'bench/glove-100d-mean-of-words', dims: DIMS, normalized: true, similarity: 'cosine' },
});
const fts5Peer = opts.skipFts5 ? undefined : new Fts5Peer(fts5Path);
let lancePeer: LancedbPeer | undefined;
if (!opts.skipLancedb) {
  try {
    const { lancedb, version } = await loadLancedb();
    lancedbVersion = version;
    lancePeer = await LancedbPeer.open(lancedb, lanceDir);
  } catch (error) {
    lancedbReason = `LanceDB could not be loaded: ${(error as Error).message}`;
    log(`LanceDB: ${lancedbReason}`);
  }
}

let oursBuildSeconds = 0;
let fts5BuildSeconds = 0;
let lanceAddSeconds = 0;
for (const n of sizes) {
  log(`\n== ${fmt(n)} documents`);
  // ours
  oursBuildSeconds += await phase(`ours: upsertVectors to ${fmt(n)} + close`, async () => {
    let seconds = 0;
    let lastReport = performance.now();
    for (let start = collection.count(); start < n; start += opts.batch) {
      const rows = Math.min(opts.batch, n - start);
      const { texts, vectors } = corpus.batch(start, rows);
      const docs = texts.map((text, r) => ({ id: `d${start + r}`, text, vector: vectors.subarray(r * DIMS, (r + 1) * DIMS), metadata: { bucket: (start + r) % 100 } }));
      const t = performance.now();
      await collection.upsertVectors(docs);
      seconds += (performance.now() - t) / 1000;
      if (performance.now() - lastReport > 60_000) {
        lastReport = performance.now();
        log(`  ours: ${fmt(start + rows)} documents, ${Math.round((start + rows) / (oursBuildSeconds + seconds))} docs/s so far`);
      }
    }
    const t = performance.now();
    await collection.close();
    return seconds + (performance.now() - t) / 1000;
  });
  const t = performance.now();
  collection = await Collection.open(collDir);
  const reopen = (performance.now() - t) / 1000;
  const rss = process.memoryUsage().rss;
  const bytes = dirBytes(collDir);
  log(`ours: built in ${oursBuildSeconds.toFixed(1)} s = ${Math.round(n / oursBuildSeconds)} docs/s (default index ${DEFAULT_COLLECTION_INDEX.kind}); reopened in ${reopen.toFixed(1)} s (index ${collection.indexStatus.action}); ${Math.round(bytes / n)} B/doc on disk (${mb(bytes)} MiB); RSS ${mb(rss)} MiB`);
  const keyword = await phase(`ours: keyword search at ${fmt(n)}`, () => timed(async (q) => (await collection.search(q.text, { mode: 'keyword', k: K })).map((h) => docNumber(h.id))));
  log(`ours keyword: ${show(keyword.latency)}`);
  const filtered = await phase(`ours: filtered keyword search at ${fmt(n)}`, () => timed(async (q) => (await collection.search(q.text, { mode: 'keyword', k: K, filter: FILTER })).length, opts.filteredQueries));
  log(`ours keyword filtered to 1% (${JSON.stringify(FILTER)}, ${fmt(opts.filteredQueries)} queries): ${show(filtered.latency)}`);
  let hybrid: Latency | null = null;
  let hybridError: string | null = null;
  // Query objects { text, vector }: the text for the keyword side, the precomputed vector for the dense side.
  const hybridSearch = (q: Item): Promise<unknown> => collection.searchBatch([{ text: q.text, vector: q.vector }], { mode: 'hybrid', k: K });
  try {
    await hybridSearch(queries[0]);
    hybrid = (await phase(`ours: hybrid search at ${fmt(n)}`, () => timed(hybridSearch))).latency;
    log(`ours hybrid: ${show(hybrid)}`);
  } catch (error) {
    hybridError = (error as Error).message;
    log(`ours hybrid: n/a (${hybridError})`);
  }
  ours.push({
    docs: n, build_seconds: round(oursBuildSeconds, 1), build_docs_per_s: Math.round(n / oursBuildSeconds), reopen_seconds: round(reopen),
    bytes_per_doc: Math.round(bytes / n), rss_mb: mb(rss), keyword: keyword.latency, filtered_keyword: filtered.latency, hybrid, hybrid_error: hybridError,
    keyword_overlap10_vs_fts5: null,
  });

  // FTS5
  let fts5First: number[][] = [];
  if (fts5Peer !== undefined) {
    fts5BuildSeconds += await phase(`fts5: build to ${fmt(n)}`, () => fts5Peer.build(corpus, n));
    const bytes5 = dirBytes(fts5Path) + dirBytes(`${fts5Path}-wal`);
    const r = await phase(`fts5: search at ${fmt(n)}`, () => timed((q) => fts5Peer.search(q.text)));
    fts5First = r.first;
    fts5.push({ docs: n, build_seconds: round(fts5BuildSeconds, 1), build_docs_per_s: Math.round(n / fts5BuildSeconds), bytes_per_doc: Math.round(bytes5 / n), keyword: r.latency });
    ours[ours.length - 1].keyword_overlap10_vs_fts5 = overlap(keyword.first, fts5First);
    log(`fts5: built in ${fts5BuildSeconds.toFixed(1)} s = ${Math.round(n / fts5BuildSeconds)} docs/s, ${Math.round(bytes5 / n)} B/doc (index only, contentless); search ${show(r.latency)}; our keyword top 10 vs its: overlap@10 ${ours[ours.length - 1].keyword_overlap10_vs_fts5}`);
  }

  // LanceDB
  if (lancePeer !== undefined) {
    const peer = lancePeer;
    try {
      lanceAddSeconds += await phase(`lancedb: add to ${fmt(n)}`, () => peer.add(corpus, n));
      const ix = await phase(`lancedb: FTS + IVF_PQ indexes at ${fmt(n)}`, () => peer.index());
      const bytesL = dirBytes(lanceDir);
      const ftsR = await phase(`lancedb: fts search at ${fmt(n)}`, () => timed(async (q) => (await peer.fts(q.text)).map(docNumber)));
      const hybR = await phase(`lancedb: hybrid search at ${fmt(n)}`, () => timed((q) => peer.hybrid(q.text, q.vector)));
      const buildSeconds = lanceAddSeconds + ix.fts_seconds + ix.vector_seconds;
      lance.push({
        docs: n, add_seconds: round(lanceAddSeconds, 1), fts_index_seconds: round(ix.fts_seconds, 1), vector_index_seconds: round(ix.vector_seconds, 1),
        build_docs_per_s: Math.round(n / buildSeconds), bytes_per_doc: Math.round(bytesL / n), fts: ftsR.latency, hybrid: hybR.latency,
        fts_overlap10_vs_fts5: fts5First.length > 0 ? overlap(ftsR.first, fts5First) : null,
      });
      log(`lancedb: added in ${lanceAddSeconds.toFixed(1)} s, FTS index ${ix.fts_seconds.toFixed(1)} s, IVF_PQ ${ix.vector_seconds.toFixed(1)} s = ${Math.round(n / buildSeconds)} docs/s; ${Math.round(bytesL / n)} B/doc; fts ${show(ftsR.latency)}; hybrid ${show(hybR.latency)}`);
    } catch (error) {
      lancedbReason = `LanceDB failed at ${fmt(n)} documents: ${(error as Error).message}`;
      log(lancedbReason);
      lancePeer.close();
      lancePeer = undefined;
    }
  }
}
await collection.close();
fts5Peer?.close();
lancePeer?.close();
if (!opts.keep) {
  for (const p of [collDir, fts5Path, `${fts5Path}-wal`, `${fts5Path}-shm`, lanceDir]) rmSync(p, { recursive: true, force: true });
  if (opts.dir === undefined) rmSync(root, { recursive: true, force: true });
}

// ---------------------------------------------------------------- languages and quality
// XQuAD, question -> paragraph in the same language: SQLite FTS5 with the tokenizer collections had
// before (schema 2), and the engine through collections with the language's analyzer and with 'auto'.
let xquad: Record<string, { fts5: { r1: number; r10: number }; own: { r1: number; r10: number }; auto: { r1: number; r10: number } }> | null = null;
if (!opts.skipXquad) {
  const t = performance.now();
  xquad = {};
  log('\nXQuAD question -> paragraph, keyword, R@1 / R@10: FTS5 (before) | own analyzer | auto');
  for (const language of XQUAD_LANGUAGES) {
    const data = loadXquadKeyword(language);
    const pair = (r: XquadKeywordResult): { r1: number; r10: number } => ({ r1: round(r.recallAt1, 4), r10: round(r.recallAt10, 4) });
    const row = { fts5: pair(xquadFts5Recall(language, data)), own: pair(await xquadCollectionRecall(language, language, data)), auto: pair(await xquadCollectionRecall(language, 'auto', data)) };
    xquad[language] = row;
    log(`  ${language}  ${row.fts5.r1.toFixed(3)} / ${row.fts5.r10.toFixed(3)} | ${row.own.r1.toFixed(3)} / ${row.own.r10.toFixed(3)} | ${row.auto.r1.toFixed(3)} / ${row.auto.r10.toFixed(3)}`);
  }
  phases.push({ phase: 'xquad', seconds: round((performance.now() - t) / 1000, 1) });
}
let quality: KeywordQuality | null = null;
if (!opts.skipQuality) {
  const t = performance.now();
  log('\nquality: nDCG@10 on the test splits, through a collection with the default index and the embedded model');
  quality = await keywordQuality((line) => log(`  ${line}`));
  phases.push({ phase: 'quality', seconds: round((performance.now() - t) / 1000, 1) });
}

// ---------------------------------------------------------------- summary
const headline = (o: OursAt | undefined, f: Fts5At | undefined, l: LanceAt | undefined) => ({
  docs: o?.docs ?? null,
  keyword_p50_ms: o?.keyword.p50_ms ?? null,
  keyword_p99_ms: o?.keyword.p99_ms ?? null,
  keyword_mean_ms: o?.keyword.mean_ms ?? null,
  filtered_keyword_p50_ms: o?.filtered_keyword.p50_ms ?? null,
  filtered_keyword_p99_ms: o?.filtered_keyword.p99_ms ?? null,
  hybrid_p50_ms: o?.hybrid?.p50_ms ?? null,
  hybrid_p99_ms: o?.hybrid?.p99_ms ?? null,
  hybrid_error: o?.hybrid_error ?? null,
  keyword_p50_vs_fts5: ratio(o?.keyword.p50_ms, f?.keyword.p50_ms),
  keyword_p99_vs_fts5: ratio(o?.keyword.p99_ms, f?.keyword.p99_ms),
  hybrid_p99_vs_lancedb: ratio(o?.hybrid?.p99_ms, l?.hybrid.p99_ms),
  keyword_overlap10_vs_fts5: o?.keyword_overlap10_vs_fts5 ?? null,
  build_docs_per_s: o?.build_docs_per_s ?? null,
  build_seconds: o?.build_seconds ?? null,
  reopen_seconds: o?.reopen_seconds ?? null,
  bytes_per_doc: o?.bytes_per_doc ?? null,
  rss_mb_after_reopen: o?.rss_mb ?? null,
});
const at = <T extends { docs: number }>(xs: T[], n: number): T | undefined => xs.find((x) => x.docs === n);
const full = headline(at(ours, opts.docs), at(fts5, opts.docs), at(lance, opts.docs));
const small = opts.smallDocs > 0 ? headline(at(ours, opts.smallDocs), at(fts5, opts.smallDocs), at(lance, opts.smallDocs)) : null;
const peerAt = <T extends { docs: number }>(xs: T[]) => {
  const f = at(xs, opts.docs);
  return f === undefined ? null : { ...f, small: opts.smallDocs > 0 ? (at(xs, opts.smallDocs) ?? null) : null };
};
const total = (performance.now() - started) / 1000;
log(`\ntotal ${(total / 60).toFixed(1)} min`);
log(`at ${fmt(opts.docs)}: keyword p50 ${full.keyword_p50_ms} ms (x${full.keyword_p50_vs_fts5 ?? 'n/a'} of FTS5's; lower is better for us), hybrid p99 ${full.hybrid_p99_ms ?? 'n/a'} ms (x${full.hybrid_p99_vs_lancedb ?? 'n/a'} of LanceDB's)${lancedbReason ? `; LanceDB: ${lancedbReason}` : ''}`);

console.log(JSON.stringify({
  bench: 'keyword',
  date: new Date().toISOString(),
  ...full,
  lancedb_reason: lancedbReason,
  small,
  ours_index: DEFAULT_COLLECTION_INDEX,
  fts5: opts.skipFts5 ? null : {
    table: `contentless FTS5 (content=''), tokenize '${FTS5_TOKENIZER}', one transaction per ${FTS5_TRANSACTION_ROWS} rows, WAL; bytes are the index only (no texts)`,
    query: "keywordMatchExpression(text) (non-stopword words quoted, OR-ed); SELECT rowid, bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10",
    ...peerAt(fts5),
  },
  lancedb: lancePeer === undefined && lance.length === 0 ? null : {
    version: lancedbVersion,
    cpu_threads: process.env.LANCE_CPU_THREADS ?? null,
    table: `id, text, vector float32[${DIMS}]; added ${LANCEDB_ADD_ROWS} rows per call; Index.fts() defaults; IVF_PQ cosine, numPartitions default (sqrt rows), numSubVectors ${LANCEDB_SUB_VECTORS}; both rebuilt after growing; no compaction`,
    query: "words = the query's letter/digit runs joined by spaces; fts: query().fullTextSearch(words).limit(10); hybrid: query().nearestTo(vector).distanceType('cosine').fullTextSearch(words).limit(10) (default reranker: RRF)",
    ...peerAt(lance),
  },
  corpus: {
    words: corpus.words.length,
    zipf_exponent: ZIPF_EXPONENT,
    doc_words: DOC_WORDS,
    query_words: QUERY_WORDS,
    queries: opts.queries,
    filtered_queries: opts.filteredQueries,
    warmup_queries: WARMUP,
    seed: opts.seed,
    sizes: opts.smallDocs > 0 ? `small = the first ${opts.smallDocs} documents of the same stores, measured, then grown to ${opts.docs}` : 'one size',
    filter: FILTER,
  },
  xquad_recall10: xquad === null ? null : Object.fromEntries(Object.entries(xquad).map(([l, r]) => [l, r.own.r10])),
  xquad,
  quality: quality === null ? null : Object.fromEntries(Object.entries(quality.ndcg10).map(([d, r]) => [d, { bm25: r.bm25, hybrid: r.hybrid }])),
  quality_before: QUALITY_BEFORE,
  quality_ms_per_query: quality?.msPerQuery ?? null,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, total_mem_gib: Math.round(totalmem() / 2 ** 30), load_average_start: loadStart, load_average_end: loadavg().map((x) => Number(x.toFixed(2))) },
  phases,
  total_seconds: round(total, 1),
}));
