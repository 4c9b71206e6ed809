import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createAnalyzer } from '../../src/analysis/index.ts';
import { checkCollection } from '../../src/collection/check.ts';
import { Collection } from '../../src/collection/collection.ts';
import { createCollection } from '../../src/collection/open-collection.ts';
import { fuseRankings, resolveHybridOptions } from '../../src/retriever/fusion.ts';
import { isBiencoderError } from '../../src/errors.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { tinyEncoder } from './helpers.ts';

let root: { dir: string; cleanup: () => void };
let encoder: Encoder;

before(async () => {
  root = tempDir('keyword');
  encoder = await tinyEncoder(root.dir);
});
after(async () => {
  await encoder.close();
  root.cleanup();
});

const DOCS = [
  { id: 'd1', text: 'Aspirin reduces the risk of heart attacks in adults.', metadata: { lang: 'en', year: 2001 } },
  { id: 'd2', text: 'Running improves cardiovascular health and mood.', metadata: { lang: 'en', year: 2010 } },
  { id: 'd3', text: 'The café served crème brûlée with coffee.', metadata: { lang: 'fr', year: 2015 } },
  { id: 'd4', text: 'Heart disease is the leading cause of death.', metadata: { lang: 'en', year: 2020 } },
  { id: 'd5', text: 'NEAR the river, "quoted" words and (parentheses) * stars - dashes.', metadata: { lang: 'en', year: 1999 } },
];

async function fresh(name: string): Promise<Collection> {
  const c = await Collection.create(join(root.dir, name), { encoder, index: { kind: 'flat' } });
  await c.upsert(DOCS);
  return c;
}

test('keyword search ranks by BM25, stems, folds accents, and treats syntax as text', async () => {
  const c = await fresh('ranked');
  try {
    const [heart] = await c.searchBatch(['heart attack'], { mode: 'keyword', k: 10 });
    assert.equal(heart[0].id, 'd1'); // both terms
    assert.deepEqual(heart.map((h) => h.id).sort(), ['d1', 'd4']);
    assert.ok(heart[0].score > heart[1].score && heart[1].score > 0);
    assert.equal(heart[0].text, DOCS[0].text);
    assert.deepEqual(heart[0].metadata, DOCS[0].metadata);
    assert.deepEqual((await c.search('runs', { mode: 'keyword' })).map((h) => h.id), ['d2']); // porter: runs ~ running
    assert.deepEqual((await c.search('creme brulee', { mode: 'keyword' })).map((h) => h.id), ['d3']); // diacritics removed
    for (const q of ['NEAR(river quoted)', '"quoted', 'stars*', '-dashes', '(parentheses', 'river:words', 'a AND OR NOT']) {
      const hits = await c.search(q, { mode: 'keyword' });
      assert.ok(hits.every((h) => h.id === 'd5'), q);
    }
    assert.deepEqual(await c.search('the and of', { mode: 'keyword' }), []);
    assert.deepEqual((await c.search('the', { mode: 'keyword', keyword: { stopwords: 'none' } })).map((h) => h.id).sort(), ['d1', 'd3', 'd4', 'd5']);
    assert.deepEqual(await c.search('heart', { mode: 'keyword', k: 0 }), []);
  } finally {
    await c.close();
  }
});

test('the keyword index follows upserts, text changes and deletes, and survives reopening', async () => {
  const dir = join(root.dir, 'sync');
  const c = await fresh('sync');
  await c.upsert([{ id: 'd2', text: 'Swimming builds endurance.', metadata: { lang: 'en', year: 2010 } }]);
  assert.deepEqual(await c.search('running', { mode: 'keyword' }), []);
  assert.deepEqual((await c.search('swimming', { mode: 'keyword' })).map((h) => h.id), ['d2']);
  await c.delete(['d1']);
  assert.deepEqual((await c.search('heart', { mode: 'keyword' })).map((h) => h.id), ['d4']);
  await c.upsert([{ id: 'd6', text: 'A new heart study.' }]);
  await c.close();
  const r = await Collection.open(dir, { readOnly: true });
  try {
    assert.deepEqual((await r.search('heart', { mode: 'keyword' })).map((h) => h.id).sort(), ['d4', 'd6']);
  } finally {
    await r.close();
  }
});

test('metadata filters apply to keyword and hybrid search', async () => {
  const c = await fresh('filtered');
  try {
    assert.deepEqual((await c.search('heart', { mode: 'keyword', filter: { year: { $gte: 2010 } } })).map((h) => h.id), ['d4']);
    const hybrid = await c.search('heart', { mode: 'hybrid', k: 5, filter: { lang: 'fr' } });
    assert.deepEqual(hybrid.map((h) => h.id), ['d3']);
  } finally {
    await c.close();
  }
});

test('hybrid search equals the fusion of the dense and keyword searches', async () => {
  const c = await fresh('hybrid');
  try {
    for (const hybrid of [{ fusion: 'rrf' as const }, { fusion: 'convex' as const, weight: 0.4 }]) {
      const query = 'heart health';
      const dense = await c.search(query, { k: 5 });
      const keyword = await c.search(query, { mode: 'keyword', k: 5 });
      const got = await c.search(query, { mode: 'hybrid', k: 3, hybrid: { ...hybrid, candidates: 5 } });
      const want = fuseRankings(dense, keyword, resolveHybridOptions({ ...hybrid, candidates: 5 }, 3), 3);
      assert.deepEqual(got.map((h) => [h.id, h.score]), want.map((h) => [h.id, h.score]));
      assert.ok(got.every((h) => typeof h.text === 'string' && h.text.length > 0));
    }
    // A query with no keyword left (stopwords only) falls back to the dense ranking.
    const stopwordsOnly = await c.search('the of and', { mode: 'hybrid', k: 5 });
    assert.deepEqual(stopwordsOnly.map((h) => h.id), (await c.search('the of and', { k: 5 })).map((h) => h.id));
  } finally {
    await c.close();
  }
});

test('keyword and hybrid take text queries only; bad options are INVALID_ARGUMENT', async () => {
  const c = await fresh('args');
  try {
    const v = new Float32Array(encoder.dims).fill(0.1);
    await assert.rejects(c.searchBatch([v], { mode: 'keyword' }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(c.searchBatch({ data: v, rows: 1, dims: encoder.dims }, { mode: 'hybrid' }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(c.search('x', { mode: 'sparse' as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(c.search('x', { mode: 'hybrid', hybrid: { weight: 2 } }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(c.search('   ', { mode: 'keyword' }), (e) => isBiencoderError(e, 'EMPTY_INPUT'));
    assert.equal((await c.search(v, { k: 1 })).length, 1); // dense vector queries still work
  } finally {
    await c.close();
  }
});

test('a collection made before analyzers (FTS5, schema 2) searches by keyword read-only, and is migrated on its first writable open', async () => {
  const dir = join(root.dir, 'v2');
  const c = await fresh('v2');
  await c.close();
  // Put it back as biencoder 0.1 wrote it: the FTS5 table and its triggers, schema version 2, no analyzer in the manifest.
  const db = new Database(join(dir, 'collection.db'));
  db.exec(`
    CREATE VIRTUAL TABLE docs_fts USING fts5(text, content='docs', content_rowid='key', tokenize='porter unicode61 remove_diacritics 2');
    CREATE TRIGGER docs_fts_insert AFTER INSERT ON docs BEGIN INSERT INTO docs_fts (rowid, text) VALUES (new.key, new.text); END;
    CREATE TRIGGER docs_fts_delete AFTER DELETE ON docs BEGIN INSERT INTO docs_fts (docs_fts, rowid, text) VALUES ('delete', old.key, old.text); END;
    CREATE TRIGGER docs_fts_update AFTER UPDATE OF text ON docs BEGIN
      INSERT INTO docs_fts (docs_fts, rowid, text) VALUES ('delete', old.key, old.text);
      INSERT INTO docs_fts (rowid, text) VALUES (new.key, new.text);
    END;
    INSERT INTO docs_fts (docs_fts) VALUES ('rebuild');
    UPDATE meta SET value = 2 WHERE name = 'schema_version'; PRAGMA user_version = 2;`);
  db.close();
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  delete manifest.keyword;
  writeFileSync(manifestPath, JSON.stringify(manifest));
  for (const f of readdirSync(dir)) if (f.endsWith('.postings')) rmSync(join(dir, f));
  const reader = await Collection.open(dir, { readOnly: true, encoder });
  try {
    assert.equal(reader.keywordStatus.action, 'rebuilt');
    assert.equal(reader.analyzer.language, 'en');
    assert.deepEqual((await reader.search('heart', { mode: 'keyword' })).map((h) => h.id).sort(), ['d1', 'd4']);
  } finally {
    await reader.close();
  }
  assert.equal(readdirSync(dir).some((f) => f.endsWith('.postings')), false, 'a reader writes no file');
  const writer = await Collection.open(dir, { encoder });
  try {
    assert.deepEqual((await writer.search('heart', { mode: 'keyword' })).map((h) => h.id).sort(), ['d1', 'd4']);
    await writer.upsert([{ id: 'd7', text: 'Heart rate' }]); // the dropped triggers no longer fire
  } finally {
    await writer.close();
  }
  const check = new Database(join(dir, 'collection.db'), { readonly: true });
  assert.equal((check.prepare("SELECT value FROM meta WHERE name = 'schema_version'").get() as { value: number }).value, 3);
  assert.equal(check.prepare("SELECT 1 FROM sqlite_master WHERE name LIKE 'docs_fts%'").get(), undefined);
  check.close();
  assert.deepEqual((JSON.parse(readFileSync(manifestPath, 'utf8')) as { keyword: unknown }).keyword, { analyzer: createAnalyzer('en').spec });
  const reopened = await Collection.open(dir, { readOnly: true });
  try {
    assert.equal(reopened.keywordStatus.action, 'loaded');
    assert.deepEqual((await reopened.search('heart', { mode: 'keyword' })).map((h) => h.id).sort(), ['d1', 'd4', 'd7']);
  } finally {
    await reopened.close();
  }
  const after = await checkCollection(dir);
  assert.equal(after.ok, true, JSON.stringify(after.problems));
});

test('a reader follows a writer: keyword search sees committed upserts, text changes and deletes', async () => {
  const dir = join(root.dir, 'follow');
  const writer = await fresh('follow');
  await writer.flush();
  const reader = await Collection.open(dir, { readOnly: true });
  try {
    assert.deepEqual((await reader.search('heart', { mode: 'keyword' })).map((h) => h.id).sort(), ['d1', 'd4']);
    await writer.upsert([{ id: 'd8', text: 'Heart surgery outcomes.' }, { id: 'd4', text: 'Lung disease is common.' }]);
    assert.deepEqual((await reader.search('heart', { mode: 'keyword' })).map((h) => h.id).sort(), ['d1', 'd8']);
    assert.deepEqual((await reader.search('lung', { mode: 'keyword' })).map((h) => h.id), ['d4']);
    await writer.delete(['d1']);
    assert.deepEqual((await reader.search('heart', { mode: 'keyword' })).map((h) => h.id), ['d8']);
  } finally {
    await reader.close();
    await writer.close();
  }
});

test('a damaged or missing postings file is rebuilt from the texts, with the same results', async () => {
  const dir = join(root.dir, 'damaged');
  const c = await fresh('damaged');
  const want = (await c.search('heart attack', { mode: 'keyword' })).map((h) => [h.id, h.score]);
  await c.close();
  const file = readdirSync(dir).find((f) => f.endsWith('.postings'))!;
  const bytes = readFileSync(join(dir, file));
  bytes[bytes.length - 10] ^= 0xff;
  writeFileSync(join(dir, file), bytes);
  const reopened = await Collection.open(dir);
  try {
    assert.equal(reopened.keywordStatus.action, 'rebuilt');
    assert.match(reopened.keywordStatus.reason ?? '', /damaged/);
    assert.equal(reopened.indexStatus.action, 'loaded', 'the vector index is not touched');
    assert.deepEqual((await reopened.search('heart attack', { mode: 'keyword' })).map((h) => [h.id, h.score]), want);
  } finally {
    await reopened.close();
  }
  const again = await Collection.open(dir, { readOnly: true });
  try {
    assert.equal(again.keywordStatus.action, 'loaded', 'the writable open saved a good file');
  } finally {
    await again.close();
  }
  rmSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.postings'))!));
  const missing = await Collection.open(dir, { readOnly: true });
  try {
    assert.equal(missing.keywordStatus.action, 'rebuilt');
    assert.deepEqual((await missing.search('heart attack', { mode: 'keyword' })).map((h) => [h.id, h.score]), want);
  } finally {
    await missing.close();
  }
});

test('language: a collection in another language analyzes its texts and queries with it; unknown languages are refused', async () => {
  const de = await Collection.create(join(root.dir, 'de'), { encoder, index: { kind: 'flat' }, language: 'de' });
  try {
    assert.equal(de.analyzer.language, 'de');
    await de.upsert([{ id: 'g1', text: 'Die Häuser stehen am Fluss.' }, { id: 'g2', text: 'Ein Auto fährt schnell.' }]);
    assert.deepEqual((await de.search('Haus', { mode: 'keyword' })).map((h) => h.id), ['g1']); // Snowball: häuser ~ haus
    assert.deepEqual((await de.search('die und der', { mode: 'keyword' })).map((h) => h.id), []); // German stopwords only
  } finally {
    await de.close();
  }
  await assert.rejects(Collection.create(join(root.dir, 'xx'), { encoder, language: 'xx' }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT') && /supported/.test(e.message));
  // pgvector collections take the language too; an unknown one is refused before any connection is tried
  await assert.rejects(createCollection('postgres://u@localhost:1/db?collection=c', { encoder, language: 'xx' }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT') && /xx/.test((e as Error).message));
});

test('{ text, vector } queries: hybrid without an encoder uses the given vector; dense refuses them', async () => {
  const dir = join(root.dir, 'given');
  const c = await fresh('given');
  const vector = (await encoder.encode(['heart attack'], { role: 'query' })).data;
  const withEncoder = await c.search('heart attack', { mode: 'hybrid', k: 3 });
  await c.close();
  const bare = await Collection.open(dir, { readOnly: true });
  try {
    const given = await bare.search({ text: 'heart attack', vector }, { mode: 'hybrid', k: 3 });
    assert.deepEqual(given.map((h) => [h.id, h.score]), withEncoder.map((h) => [h.id, h.score]));
    await assert.rejects(bare.search('heart attack', { mode: 'hybrid' }), (e) => isBiencoderError(e, 'ENCODER_REQUIRED'));
    await assert.rejects(bare.searchBatch([{ text: 'heart', vector }], { mode: 'dense' }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.equal((await bare.search({ text: 'heart', vector }, { mode: 'keyword' })).length, 2);
  } finally {
    await bare.close();
  }
});

test('edges: an empty collection reopens without rebuilding; bad { text, vector } and language values are refused; a newer analyzer is UNSUPPORTED_FORMAT', async () => {
  const dir = join(root.dir, 'edges');
  const empty = await Collection.create(dir, { encoder, index: { kind: 'flat' } });
  await empty.close();
  const reopened = await Collection.open(dir, { encoder });
  try {
    assert.equal(reopened.keywordStatus.action, 'loaded');
    assert.equal(reopened.indexStatus.action, 'loaded');
    await reopened.upsert(DOCS);
    const short = new Float32Array(encoder.dims - 1).fill(0.1);
    await assert.rejects(reopened.search({ text: 'heart', vector: short }, { mode: 'keyword' }), (e) => isBiencoderError(e, 'DIMENSION_MISMATCH'));
    const nan = new Float32Array(encoder.dims).fill(Number.NaN);
    await assert.rejects(reopened.search({ text: 'heart', vector: nan }, { mode: 'hybrid' }), (e) => isBiencoderError(e, 'INVALID_VECTOR') || isBiencoderError(e, 'INVALID_ARGUMENT'));
  } finally {
    await reopened.close();
  }
  await assert.rejects(Collection.create(join(root.dir, 'null-language'), { encoder, language: null as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { keyword: { analyzer: { version: number; language: string } } };
  const original = JSON.stringify(manifest);
  manifest.keyword.analyzer.version += 1;
  writeFileSync(manifestPath, JSON.stringify(manifest));
  await assert.rejects(Collection.open(dir, { readOnly: true }), (e) => isBiencoderError(e, 'UNSUPPORTED_FORMAT') && /upgrade biencoder/.test(e.message));
  const unknown = JSON.parse(original) as typeof manifest;
  unknown.keyword.analyzer.language = 'tlh';
  writeFileSync(manifestPath, JSON.stringify(unknown));
  await assert.rejects(Collection.open(dir, { readOnly: true }), (e) => isBiencoderError(e, 'UNSUPPORTED_FORMAT'));
  writeFileSync(manifestPath, original);
  const back = await Collection.open(dir, { readOnly: true });
  assert.equal((await back.search('heart', { mode: 'keyword' })).length, 2);
  await back.close();
});

test('a reader whose checkpoint\'s postings file was replaced meanwhile loads a later one instead of rebuilding', async () => {
  const dir = join(root.dir, 'replaced');
  const c = await fresh('replaced');
  const want = (await c.search('heart', { mode: 'keyword' })).map((h) => [h.id, h.score]);
  await c.close();
  const current = readdirSync(dir).find((f) => /^index-\d+\.bin$/.test(f))!;
  const later = `index-${Number(/\d+/.exec(current)![0]) + 7}.bin`;
  // As a writer does: the next checkpoint's files appear, and then the old ones go (here only its postings are gone yet).
  for (const f of readdirSync(dir).filter((n) => n.startsWith(current))) writeFileSync(join(dir, f.replace(current, later)), readFileSync(join(dir, f)));
  rmSync(join(dir, `${current}.postings`));
  const reader = await Collection.open(dir, { readOnly: true });
  try {
    assert.equal(reader.keywordStatus.action, 'loaded');
    assert.deepEqual((await reader.search('heart', { mode: 'keyword' })).map((h) => [h.id, h.score]), want);
  } finally {
    await reader.close();
  }
});
