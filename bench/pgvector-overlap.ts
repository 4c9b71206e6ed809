/**
 * The overlap run of bench:pgvector (`npm run bench:pgvector -- --overlap [--writers N]`): N writer
 * processes upsert the same documents into one pgvector collection at once, in opposite orders — the
 * re-index jobs and retried webhooks of a team running several ingest workers. 10 batches of 1,000
 * documents each, batch j holding documents [500 j, 500 j + 1000): consecutive batches overlap by half.
 * Even writers go through the batches and their documents in ascending order, odd ones in descending
 * order. Every writer writes the same content for a document (a vector seeded by its number, metadata
 * { i }), so the final contents are known: all 5,500 documents, each exactly as written.
 *
 * Reports the batches that failed (any error), whether the contents are exact, and the deadlocks the
 * server detected meanwhile (pg_stat_database). On PGlite every connection shares one session, so
 * writers never hold locks at the same time: the run means something on a real server (BIENCODER_PG_URL).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PgvectorCollection } from '../src/collection/pgvector/pgvector-collection.ts';
import { startPgServer } from '../test/helpers/pglite-server.ts';
import { rng } from '../test/helpers/prng.ts';

export const OVERLAP = { batches: 10, batchSize: 1000, step: 500, dims: 64 } as const;

/** Document i as every writer writes it. */
export function overlapDocument(i: number): { id: string; text: string; vector: Float32Array; metadata: { i: number } } {
  const next = rng(1_000_003 + i);
  const vector = new Float32Array(OVERLAP.dims);
  let norm = 0;
  for (let j = 0; j < OVERLAP.dims; j++) {
    vector[j] = next() * 2 - 1;
    norm += vector[j] * vector[j];
  }
  const inv = 1 / Math.sqrt(norm);
  for (let j = 0; j < OVERLAP.dims; j++) vector[j] *= inv;
  // words shared across documents, so that both writers' batches touch the same terms' postings
  return { id: `doc-${i}`, text: `document ${i} about topic${i % 50} and topic${i % 7}`, vector, metadata: { i } };
}

/** The document numbers of writer w's batches, in its order. */
export function writerBatches(w: number): number[][] {
  const batches = Array.from({ length: OVERLAP.batches }, (_, j) => Array.from({ length: OVERLAP.batchSize }, (_, k) => j * OVERLAP.step + k));
  return w % 2 === 0 ? batches : batches.reverse().map((b) => b.reverse());
}

const TOTAL = (OVERLAP.batches - 1) * OVERLAP.step + OVERLAP.batchSize;

interface WriterReport {
  readonly failed: number;
  readonly errors: string[];
  readonly seconds: number;
}

function runWriter(url: string, w: number): Promise<WriterReport> {
  const entry = fileURLToPath(new URL('./pgvector-overlap-writer.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, url, String(w)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`writer ${w} exited with ${code}: ${out}`));
      else resolve(JSON.parse(last) as WriterReport);
    });
  });
}

async function deadlocks(query: (sql: string) => Promise<{ rows: { n: string }[] }>): Promise<number | null> {
  try {
    return Number((await query('SELECT sum(deadlocks) AS n FROM pg_stat_database')).rows[0].n);
  } catch {
    return null;
  }
}

export async function runOverlap(writers: number): Promise<Record<string, unknown>> {
  const server = await startPgServer();
  try {
    const url = server.collectionUrl('overlap');
    const c = await PgvectorCollection.create(url, { encoder: { modelId: 'bench/overlap', dims: OVERLAP.dims, normalized: true }, metric: 'cosine' });
    const query = (sql: string) => server.query<{ n: string }>(sql);
    const before = await deadlocks(query);
    const started = performance.now();
    const reports = await Promise.all(Array.from({ length: writers }, (_, w) => runWriter(url, w)));
    const seconds = (performance.now() - started) / 1000;
    const after = await deadlocks(query);
    // The final contents against what every writer wrote.
    const expected = Array.from({ length: TOTAL }, (_, i) => overlapDocument(i));
    const stored = await c.get(expected.map((d) => d.id), { vectors: true });
    let exact = (await c.count()) === TOTAL;
    stored.forEach((s, i) => {
      const e = expected[i];
      if (s === undefined || s.text !== e.text || s.metadata?.i !== e.metadata.i || s.vector === undefined || s.vector.length !== e.vector.length || s.vector.some((x, j) => x !== e.vector[j])) exact = false;
    });
    // The BM25 statistics and postings the writers kept, against the stored rows: documents, total length, one posting list per text.
    const name = new URL(url).searchParams.get('collection')!;
    const table = `"biencoder_${name}"`;
    const terms = `"biencoder_${name}$t"`;
    const stats = (await server.query<{ doc_count: string; term_count: string; rows: string; length: string; posted: string; postings: string }>(
      `SELECT r.doc_count::text, r.term_count::text, (SELECT count(*) FROM ${table})::text AS rows,
              (SELECT coalesce(sum(len), 0) FROM (SELECT DISTINCT id, len FROM ${terms}) AS d)::text AS length,
              (SELECT count(DISTINCT id) FROM ${terms})::text AS posted, (SELECT count(*) FROM ${terms})::text AS postings
       FROM biencoder_collections AS r WHERE r.name = $1`, [name],
    )).rows[0];
    const expectedPostings = expected.reduce((n, d) => n + new Set(d.text.split(' ')).size, 0);
    const statisticsExact = Number(stats.doc_count) === TOTAL && Number(stats.rows) === TOTAL && Number(stats.posted) === TOTAL
      && Number(stats.term_count) === Number(stats.length) && Number(stats.postings) === expectedPostings;
    await c.close();
    const failed = reports.reduce((n, r) => n + r.failed, 0);
    console.log(`overlap: ${writers} writers x ${OVERLAP.batches} batches of ${OVERLAP.batchSize} (${TOTAL} documents) on ${server.embedded ? 'PGlite (one shared session: writers never hold locks at once)' : 'BIENCODER_PG_URL'}: ${failed} failed batches, contents ${exact ? 'exact' : 'NOT exact'}, keyword statistics ${statisticsExact ? 'exact' : `NOT exact (${JSON.stringify(stats)})`}, ${before === null || after === null ? '?' : after - before} deadlocks detected, ${seconds.toFixed(1)} s`);
    for (const [w, r] of reports.entries()) if (r.errors.length > 0) console.log(`  writer ${w}: ${r.errors.join('; ')}`);
    return {
      server: server.embedded ? 'pglite' : 'external',
      writers,
      batches_per_writer: OVERLAP.batches,
      batch_size: OVERLAP.batchSize,
      documents: TOTAL,
      overlap_failed_batches: failed,
      overlap_contents_exact: exact,
      overlap_statistics_exact: statisticsExact,
      deadlocks_detected: before === null || after === null ? null : after - before,
      seconds: Number(seconds.toFixed(2)),
    };
  } finally {
    await server.stop();
  }
}
