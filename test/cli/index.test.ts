/** biencoder index / search / info / delete end to end on a tiny synthetic ONNX model. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticModel, scifactDocs, tempDir } from '../helpers/synthetic.ts';
import { runCli, spawnCli } from './run-cli.ts';

const tmp = tempDir('cli-index');
let model: string;
const docs = join(tmp.dir, 'docs');
const col = join(tmp.dir, 'col');
const [LONG] = scifactDocs(1);
const BEIR = scifactDocs(5, 20);
const SHORT_JSON = [
  { id: 'j1', text: 'The museum opens at nine on weekdays.', metadata: { year: 2021 } },
  { id: 'j2', text: 'Trains to the airport leave every ten minutes.', metadata: { year: 2022 } },
];

before(async () => {
  model = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
  mkdirSync(join(docs, 'notes'), { recursive: true });
  writeFileSync(join(docs, 'a.md'), '# Cats\n\nCats sleep most of the day.\n');
  writeFileSync(join(docs, 'notes', 'b.txt'), LONG);
  writeFileSync(join(docs, 'corpus.jsonl'), BEIR.map((t, i) => JSON.stringify({ _id: `s${i}`, title: `Title ${i}`, text: t.slice(0, 300) })).join('\n') + '\n');
  writeFileSync(join(docs, 'extra.json'), JSON.stringify(SHORT_JSON));
  writeFileSync(join(docs, 'ignored.csv'), 'a,b\n');
});
after(() => tmp.cleanup());

interface IndexJson {
  documents: number; inserted: number; updated: number; unchanged: number; empty: number;
  rowsWritten: number; rowsUnchanged: number; rowsDeleted: number; embedded: number; interrupted: boolean; created: boolean; rows: number; model: string;
}
interface SearchJson {
  hits: { rank: number; id: string; score: number; text: string; metadata: Record<string, unknown>; chunk?: { id: string; index: number; start: number; end: number }; parent?: string }[];
}

async function info(): Promise<{ rows: { rows: number; chunks: number; documents: number }; manifest: { index: { kind: string }; encoder: { modelId: string } } }> {
  const r = await runCli(['info', col, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('index: a folder of .md, .txt, .jsonl and .json files, with chunking, progress lines and a rerun that embeds nothing', async () => {
  const first = await runCli(['index', docs, '--collection', col, '--model', model, '--index', 'flat', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const r = JSON.parse(first.stdout) as IndexJson;
  assert.equal(r.created, true);
  assert.equal(r.model, model);
  assert.deepEqual([r.documents, r.inserted, r.updated, r.unchanged, r.interrupted], [9, 9, 0, 0, false]);
  assert.ok(r.rows > 9, 'the long text was chunked');
  assert.equal(r.embedded, r.rows);
  assert.match(first.stderr, /skipped 1 file\(s\) of unsupported types: .*ignored\.csv/);
  assert.match(first.stderr, /indexing: 9\/9 docs \(100\.0%\), [\d.]+ docs\/s, done/);

  const i = await info();
  assert.deepEqual(i.rows, { rows: r.rows, chunks: r.rows - 8, documents: 9 });
  assert.equal(i.manifest.index.kind, 'flat');
  assert.equal(i.manifest.encoder.modelId, model);

  const again = await runCli(['index', docs, '--collection', col, '--json', '--no-progress']);
  assert.equal(again.code, 0, again.stderr);
  const a = JSON.parse(again.stdout) as IndexJson;
  assert.deepEqual([a.inserted, a.updated, a.unchanged, a.embedded, a.rowsWritten, a.created], [0, 0, 9, 0, 0, false]);
  assert.equal(again.stderr.includes('indexing:'), false, '--no-progress');

  writeFileSync(join(docs, 'a.md'), '# Cats\n\nCats sleep most of the day and hunt at night.\n');
  const changed = await runCli(['index', join(docs, 'a.md'), '--collection', col, '--json']);
  const c = JSON.parse(changed.stdout) as IndexJson;
  assert.deepEqual([c.documents, c.updated, c.embedded], [1, 1, 1]);
  const human = await runCli(['index', join(docs, 'extra.json'), '--collection', col, '--no-progress']);
  assert.match(human.stdout, /^indexed 2 documents into .*: 0 new, 0 updated, 2 unchanged\n {2}rows \(documents and chunks, at most 128 tokens each\): 0 written, 2 unchanged, 0 stale deleted; 0 texts embedded/);

  // Chunk settings given once are recorded and reused by a rerun that does not give them.
  const b = join(docs, 'notes', 'b.txt');
  const smaller = JSON.parse((await runCli(['index', b, '--root', docs, '--collection', col, '--chunk-tokens', '48', '--json'])).stdout) as IndexJson & { chunkTokens: number };
  assert.deepEqual([smaller.updated, smaller.chunkTokens], [1, 48]);
  assert.ok(smaller.rowsWritten > r.rows - 8, 'more, smaller chunks');
  const reused = JSON.parse((await runCli(['index', b, '--root', docs, '--collection', col, '--json'])).stdout) as IndexJson & { chunkTokens: number };
  assert.deepEqual([reused.unchanged, reused.embedded, reused.chunkTokens], [1, 0, 48]);
  assert.match((await runCli(['info', col])).stdout, /chunking {3}at most 48 tokens per chunk, overlap 0/);
  const tooBig = await runCli(['index', b, '--root', docs, '--collection', col, '--chunk-tokens', '500']);
  assert.equal(tooBig.code, 1);
  assert.match(tooBig.stderr, /\[INVALID_ARGUMENT\]/);
  assert.deepEqual(JSON.parse((await runCli(['info', col, '--json'])).stdout).chunking, { chunkTokens: 48, chunkOverlap: 0 }, 'a refused setting is not recorded');
});

test('index: a bad line fails with file:line and writes nothing; model and index mismatches are refused', async () => {
  const before = (await info()).rows.rows;
  writeFileSync(join(tmp.dir, 'bad.jsonl'), '{"_id":"ok1","text":"fine"}\n{"_id":"ok2","text": oops}\n');
  const bad = await runCli(['index', join(tmp.dir, 'bad.jsonl'), docs, '--collection', col]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /error \[INVALID_INPUT\]: .*bad\.jsonl:2: not valid JSON/);
  const dup = await runCli(['index', join(tmp.dir, 'bad.jsonl'), '--collection', join(tmp.dir, 'never-created')]);
  assert.equal(dup.code, 1);
  assert.equal(existsSync(join(tmp.dir, 'never-created')), false, 'no collection is created for bad input');
  assert.equal((await info()).rows.rows, before);

  const other = await runCli(['index', docs, '--collection', col, '--model', 'use-lite']);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /error \[ENCODER_MISMATCH\]: the collection at .* holds vectors of .*tiny, but --model is use-lite/);
  const spec = await runCli(['index', docs, '--collection', col, '--index', 'hnsw']);
  assert.equal(spec.code, 1);
  assert.match(spec.stderr, /error \[INVALID_ARGUMENT\]: .* has a flat index; --index hnsw applies only when a collection is created/);
  const quantized = join(tmp.dir, 'quantized');
  for (const [choice, quantization] of [['i8', 'i8'], ['binary', 'b1']]) {
    const dir = `${quantized}-${choice}`;
    const made = await runCli(['index', join(docs, 'extra.json'), '--collection', dir, '--model', model, '--index', choice, '--no-progress']);
    assert.equal(made.code, 0, made.stderr);
    const m = JSON.parse((await runCli(['info', dir, '--json'])).stdout) as { manifest: { index: { kind: string; quantization: string } } };
    assert.deepEqual([m.manifest.index.kind, m.manifest.index.quantization], ['hnsw', quantization]);
  }
  const missing = await runCli(['index', join(tmp.dir, 'nope'), '--collection', col]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error \[NOT_FOUND\]: .*nope: no such file or folder/);
  assert.equal((await info()).rows.rows, before);
});

test('search: documents by best chunk, raw chunks, filters, --json and the human listing', async () => {
  const exact = await runCli(['search', SHORT_JSON[1].text, '--collection', col, '-k', '3', '--json']);
  assert.equal(exact.code, 0, exact.stderr);
  const e = JSON.parse(exact.stdout) as SearchJson;
  assert.equal(e.hits.length, 3);
  assert.equal(e.hits[0].id, 'j2');
  assert.ok(e.hits[0].score > 0.999, 'an identical text scores ~1');
  assert.deepEqual(e.hits[0].metadata, { year: 2022 });

  const source = JSON.stringify({ source: 'b.txt' });
  void source;
  const chunkFilter = JSON.stringify({ '_chunk.parent': 'notes/b.txt' });
  const chunks = JSON.parse((await runCli(['search', 'cells', '--collection', col, '--chunks', '-k', '50', '--filter', chunkFilter, '--json'])).stdout) as SearchJson;
  assert.ok(chunks.hits.length >= 2);
  for (const h of chunks.hits) {
    assert.equal(h.parent, 'notes/b.txt');
    assert.equal(h.id, `notes/b.txt#${h.chunk!.index}`);
    assert.equal(LONG.slice(h.chunk!.start, h.chunk!.end), h.text);
    assert.equal('_chunk' in h.metadata, false);
  }
  const grouped = JSON.parse((await runCli(['search', 'cells', '--collection', col, '-k', '50', '--filter', chunkFilter, '--json'])).stdout) as SearchJson;
  assert.equal(grouped.hits.length, 1, 'one document however many chunks match');
  assert.equal(grouped.hits[0].id, 'notes/b.txt');
  assert.equal(grouped.hits[0].score, Math.max(...chunks.hits.map((h) => h.score)), 'scored by its best chunk');

  const all = JSON.parse((await runCli(['search', 'anything', '--collection', col, '-k', '100', '--json'])).stdout) as SearchJson;
  assert.equal(all.hits.length, 9, 'every document once');
  assert.equal(new Set(all.hits.map((h) => h.id)).size, 9);

  const years = JSON.parse((await runCli(['search', 'museum', '--collection', col, '--filter', '{"year": {"$gte": 2022}}', '--json'])).stdout) as SearchJson;
  assert.deepEqual(years.hits.map((h) => h.id), ['j2']);

  // Modes: the default is hybrid; keyword is BM25 alone (only documents that share a word); dense is vectors alone.
  const keyword = JSON.parse((await runCli(['search', 'airport trains', '--collection', col, '--mode', 'keyword', '--json'])).stdout) as SearchJson;
  assert.deepEqual(keyword.hits.map((h) => h.id), ['j2']);
  const dense = JSON.parse((await runCli(['search', SHORT_JSON[1].text, '--collection', col, '--mode', 'dense', '-k', '100', '--json'])).stdout) as SearchJson;
  assert.equal(dense.hits.length, 9);
  assert.equal(dense.hits[0].id, 'j2');
  assert.ok(Math.abs(dense.hits[0].score - 1) < 1e-4, 'dense scores are cosine similarities');
  const badMode = await runCli(['search', 'x', '--collection', col, '--mode', 'fuzzy']);
  assert.equal(badMode.code, 2);

  const human = await runCli(['search', SHORT_JSON[0].text, '--collection', col, '-k', '2']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^ {2}1\. 1\.0000 {2}j1\n {5}The museum opens at nine on weekdays\.\n {2}2\. [-\d.]+ {2}\S+/);
  const bad = await runCli(['search', 'x', '--collection', col, '--filter', '{"year": {"$near": 1}}']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--filter: .*unknown operator \$near/);
  const none = await runCli(['search', 'x', '--collection', join(tmp.dir, 'none')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /\[NOT_FOUND\]/);
});

test('info (human) and delete by id (with chunks), by filter, and the whole collection', async () => {
  const human = await runCli(['info', col]);
  assert.equal(human.code, 0);
  assert.match(human.stdout, new RegExp(`model {6}${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(32-d, normalized, similarity cosine\\)`));
  assert.match(human.stdout, /index {6}flat \(exact\)/);
  assert.match(human.stdout, /documents {2}9 \(\d+ rows: 8 whole documents, \d+ chunks\)/);
  assert.match(human.stdout, /collection\.db +[\d.]+ (KiB|MiB)/);

  const chunkRows = (await info()).rows.chunks;
  const byId = await runCli(['delete', '--collection', col, '--id', 'notes/b.txt', 'a.md', 'nope', '--json']);
  assert.equal(byId.code, 0, byId.stderr);
  assert.deepEqual(JSON.parse(byId.stdout), { dir: col, deleted: chunkRows + 1, notFound: ['nope'], removedCollection: false });
  assert.deepEqual((await info()).rows, { rows: 7, chunks: 0, documents: 7 });

  const byFilter = await runCli(['delete', '--collection', col, '--filter', '{"year": 2021}']);
  assert.equal(byFilter.code, 0);
  assert.match(byFilter.stdout, /deleted 1 row/);
  assert.equal((await info()).rows.rows, 6);

  const check = spawnCli(['check', col]);
  assert.equal(check.code, 0, check.stdout);

  assert.equal((await runCli(['delete', '--collection', col, '--all'])).code, 2, '--all needs --yes');
  assert.equal((await runCli(['delete', '--collection', col, '--id', 'x', '--all', '--yes'])).code, 2, 'one mode at a time');
  assert.equal((await runCli(['delete', '--collection', col, '--filter', '{nope'])).code, 2);
  assert.ok(existsSync(col));
  const notCollection = await runCli(['delete', '--collection', docs, '--all', '--yes']);
  assert.equal(notCollection.code, 1);
  assert.ok(existsSync(join(docs, 'a.md')), 'a directory that is not a collection is left alone');
  const gone = await runCli(['delete', '--collection', col, '--all', '--yes']);
  assert.equal(gone.code, 0);
  assert.equal(existsSync(col), false);
});
