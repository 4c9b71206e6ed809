/** biencoder index / search --store postgres://... on PGlite + pgvector (test/helpers/pglite-server.ts) and a tiny synthetic model. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPgServer, type PgServer } from '../helpers/pglite-server.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { runCli } from './run-cli.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';

const tmp = tempDir('cli-store-pg');
const docs = join(tmp.dir, 'docs');
let model: string;
let ce: string;
let pg: PgServer;
let url: string;
const [LONG] = scifactDocs(1, 40);
const SHORT = [
  { id: 'museum', text: 'The museum opens at nine on weekdays and closes at six.' },
  { id: 'trains', text: 'Trains to the airport leave every ten minutes from platform four.' },
  { id: 'bread', text: 'Knead the dough for ten minutes, then let it rise for an hour.' },
];

interface IndexJson {
  documents: number; inserted: number; unchanged: number; embedded: number; created: boolean; rows: number; model: string; dir: string;
}
interface SearchJson {
  hits: { rank: number; id: string; score: number; text: string; chunk?: { index: number } }[];
}

before(async () => {
  pg = await startPgServer();
  url = pg.collectionUrl('cli');
  model = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
  ce = await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 64 });
  mkdirSync(docs);
  writeFileSync(join(docs, 'short.jsonl'), SHORT.map((d) => JSON.stringify(d)).join('\n') + '\n');
  writeFileSync(join(docs, 'long.txt'), LONG);
});
after(async () => {
  await pg?.stop();
  tmp.cleanup();
});

test('index --store creates a pgvector collection, reruns embed nothing, and search --store finds the documents (dense by default)', async () => {
  const first = await runCli(['index', docs, '--store', url, '--model', model, '--chunk-tokens', '48', '--json', '--no-progress']);
  assert.equal(first.code, 0, first.stderr);
  const r = JSON.parse(first.stdout) as IndexJson;
  assert.deepEqual([r.created, r.documents, r.inserted, r.model], [true, 4, 4, model]);
  assert.ok(r.rows > 4, 'the long text was chunked');
  assert.equal(r.embedded, r.rows);
  assert.match(r.dir, /^postgres:\/\/.*collection=cli_/);
  assert.equal(existsSync(join(docs, 'chunking.json')), false);
  assert.deepEqual(readdirSync(tmp.dir).sort(), ['ce', 'docs', 'tiny'], 'nothing written to disk for a URL');
  const table = `biencoder_${new URL(url).searchParams.get('collection')!}`;
  const stored = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`);
  assert.equal(stored.rows[0].n, r.rows, 'the rows are in PostgreSQL');

  // The rerun opens the collection with the model its manifest names (no --model) and embeds nothing.
  const again = await runCli(['index', docs, '--store', url, '--chunk-tokens', '48', '--json', '--no-progress']);
  assert.equal(again.code, 0, again.stderr);
  const a = JSON.parse(again.stdout) as IndexJson;
  assert.deepEqual([a.created, a.unchanged, a.embedded, a.rows], [false, 4, 0, r.rows]);

  for (const d of SHORT) {
    const s = await runCli(['search', d.text, '--store', url, '-k', '2', '--json']);
    assert.equal(s.code, 0, s.stderr);
    const hits = (JSON.parse(s.stdout) as SearchJson).hits;
    assert.equal(hits[0].id, d.id, `the exact text ranks its own document first: ${JSON.stringify(hits)}`);
    assert.ok(hits[0].score > 0.99, `cosine of identical texts: ${hits[0].score}`);
  }
  // A chunk's own text finds the long document through that chunk (grouped by document).
  const chunkText = LONG.slice(0, 80);
  const s = await runCli(['search', chunkText, '--store', url, '-k', '1', '--json']);
  assert.equal(s.code, 0, s.stderr);
  const [top] = (JSON.parse(s.stdout) as SearchJson).hits;
  assert.equal(top.id, 'long.txt');
  assert.equal(top.chunk?.index, 0);

  // Keyword and hybrid search on a --store collection, as on a directory: a word only one document holds finds it.
  for (const mode of ['keyword', 'hybrid']) {
    const found = await runCli(['search', 'museum', '--store', url, '--mode', mode, '-k', '1', '--json']);
    assert.equal(found.code, 0, found.stderr);
    assert.equal((JSON.parse(found.stdout) as SearchJson).hits[0].id, 'museum', mode);
  }

  // --rerank works on a --store collection: its candidates by the default ranking (hybrid, as on a directory), reranked by the cross-encoder.
  const reranked = await runCli(['search', SHORT[1].text, '--store', url, '-k', '2', '--rerank', ce, '--rerank-top', '4', '--json']);
  assert.equal(reranked.code, 0, reranked.stderr);
  const rr = JSON.parse(reranked.stdout) as SearchJson & { rerank: { mode: string; reranked: number } };
  assert.equal(rr.rerank.mode, 'hybrid');
  assert.ok(rr.rerank.reranked > 0);
  assert.equal(rr.hits.length, 2);
  assert.match(reranked.stderr, /reranked \d+ of \d+ hybrid candidates/);
});

test('index and search need exactly one of --collection and --store, and --store a postgres:// URL (usage errors)', async () => {
  const neither = await runCli(['index', docs, '--model', model]);
  assert.equal(neither.code, 2);
  assert.match(neither.stderr, /required option '--collection <dir>' or '--store <url>' not specified/);
  const both = await runCli(['search', 'x', '--collection', join(tmp.dir, 'c'), '--store', url]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give one of --collection <dir> and --store <url>, not both/);
  const notUrl = await runCli(['index', docs, '--store', join(tmp.dir, 'c'), '--model', model]);
  assert.equal(notUrl.code, 2);
  assert.match(notUrl.stderr, /--store must be a postgres:\/\/ or postgresql:\/\/ URL/);
  assert.equal(existsSync(join(tmp.dir, 'c')), false);
});
