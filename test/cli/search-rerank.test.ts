/** biencoder search --rerank on a tiny synthetic bi-encoder and a tiny synthetic cross-encoder. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Collection, type SearchHit, type SearchMode } from '../../src/collection/collection.ts';
import { CHUNK_METADATA_KEY } from '../../src/chunking/group-by-document.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadEncoder } from '../../src/encoders/load-encoder.ts';
import { loadCrossEncoder, type CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';
import { runCli } from './run-cli.ts';

const tmp = tempDir('cli-search-rerank');
const col = join(tmp.dir, 'col');
const QUERY = 'cells and proteins in cancer';
let ceDir: string;
let encoder: Encoder;
let reranker: CrossEncoder;
let collection: Collection;

interface SearchJson {
  k: number;
  rerank: { model: string; mode: SearchMode; top: number; candidates: number; reranked: number; budgetMs: number | null; timings: Record<string, number> };
  hits: { rank: number; id: string; score: number; text: string; retrievalScore: number; rerankScore: number | null; chunk?: { id: string; index: number }; parent?: string }[];
}

before(async () => {
  const model = await syntheticModel(tmp.dir, 'bi', { tiny: true });
  ceDir = await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 64 });
  encoder = await loadEncoder(model);
  reranker = await loadCrossEncoder(ceDir);
  const c = await Collection.create(col, { encoder, index: { kind: 'flat' } });
  try {
    await c.upsert(scifactDocs(30).map((text, i) => ({ id: `d${i}`, text: text.slice(0, 240) })));
    // One document stored as three chunks (the chunking convention), so that grouping has work to do.
    const long = scifactDocs(3, 40);
    await c.upsert(long.map((text, i) => ({
      id: `long#${i}`, text: text.slice(0, 240), metadata: { [CHUNK_METADATA_KEY]: { parent: 'long', index: i, start: i * 240, end: (i + 1) * 240 } },
    })), { chunkRows: true });
  } finally {
    await c.close();
  }
  collection = await Collection.open(col, { encoder, readOnly: true });
});
after(async () => {
  await collection.close();
  await Promise.all([encoder.close(), reranker.close()]);
  tmp.cleanup();
});

async function search(args: string[]): Promise<{ json: SearchJson; stderr: string }> {
  const r = await runCli(['search', QUERY, '--collection', col, '--json', '--rerank', ceDir, ...args]);
  assert.equal(r.code, 0, r.stderr);
  return { json: JSON.parse(r.stdout) as SearchJson, stderr: r.stderr };
}

/** The cross-encoder's order of the first stage's top `top` hits. */
async function rerankedOrder(firstStage: readonly SearchHit[]): Promise<{ hit: SearchHit; score: number }[]> {
  const ranked = await reranker.rank(QUERY, firstStage.map((h) => h.text));
  return ranked.map((r) => ({ hit: firstStage[r.index], score: r.score }));
}

test('--rerank --chunks: the first stage\'s candidates in the cross-encoder\'s order, both scores, timings on stderr', async () => {
  for (const mode of ['dense', 'hybrid', 'keyword'] as const) {
    const { json, stderr } = await search(['--mode', mode, '--chunks', '-k', '6', '--rerank-top', '6']);
    const firstStage = await collection.search(QUERY, { k: 6, mode });
    const expected = await rerankedOrder(firstStage);
    assert.deepEqual(json.hits.map((h) => h.id), expected.map((e) => e.hit.id), mode);
    for (const [i, h] of json.hits.entries()) {
      assert.ok(Math.abs(h.rerankScore! - expected[i].score) < 1e-5, `${mode} rerank score of ${h.id}`);
      assert.equal(h.score, h.rerankScore);
      assert.ok(Math.abs(h.retrievalScore - expected[i].hit.score) < 1e-5, `${mode} retrieval score of ${h.id}`);
      assert.equal(h.rank, i + 1);
    }
    assert.equal(json.rerank.mode, mode);
    assert.equal(json.rerank.reranked, 6);
    assert.equal(json.rerank.model, ceDir);
    assert.match(stderr, new RegExp(`reranked 6 of 6 ${mode} candidates with .*: embed [\\d.]+ ms, search [\\d.]+ ms, rerank [\\d.]+ ms, total [\\d.]+ ms`));
    assert.ok(json.rerank.timings.rerankMs > 0);
  }
});

test('--rerank-top N bounds the reranked candidates: the top k come from the first stage\'s top N only', async () => {
  const { json } = await search(['--mode', 'dense', '--chunks', '-k', '3', '--rerank-top', '5']);
  assert.equal(json.rerank.top, 5);
  assert.equal(json.rerank.candidates, 5);
  assert.equal(json.rerank.reranked, 5);
  const firstStage = await collection.search(QUERY, { k: 5, mode: 'dense' });
  const expected = (await rerankedOrder(firstStage)).slice(0, 3);
  assert.deepEqual(json.hits.map((h) => h.id), expected.map((e) => e.hit.id));
  // k above N: N are reranked, the others follow unreranked in retrieval order.
  const wide = await search(['--mode', 'dense', '--chunks', '-k', '8', '--rerank-top', '3']);
  assert.equal(wide.json.rerank.reranked, 3);
  assert.equal(wide.json.hits.length, 8);
  const deeper = await collection.search(QUERY, { k: 8, mode: 'dense' });
  assert.deepEqual(new Set(wide.json.hits.slice(0, 3).map((h) => h.id)), new Set(deeper.slice(0, 3).map((h) => h.id)));
  assert.deepEqual(wide.json.hits.slice(3).map((h) => [h.id, h.rerankScore]), deeper.slice(3).map((h) => [h.id, null]));
});

test('--rerank without --chunks: documents placed by their best chunk in the reranked order', async () => {
  const { json } = await search(['--mode', 'dense', '-k', '30', '--rerank-top', '33']);
  const firstStage = await collection.search(QUERY, { k: 33, mode: 'dense' });
  const expected: string[] = [];
  const chunkOf = new Map<string, string>();
  for (const { hit } of await rerankedOrder(firstStage)) {
    const parent = hit.id.startsWith('long#') ? 'long' : hit.id;
    if (expected.includes(parent)) continue;
    expected.push(parent);
    if (parent === 'long') chunkOf.set(parent, hit.id);
  }
  assert.equal(expected.length, 31, '30 documents and one chunked');
  assert.deepEqual(json.hits.map((h) => h.id), expected.slice(0, 30));
  const long = json.hits.find((h) => h.id === 'long');
  if (long !== undefined) assert.equal(long.chunk?.id, chunkOf.get('long'));
  for (let i = 1; i < json.hits.length; i++) assert.ok(json.hits[i - 1].score >= json.hits[i].score);
});

test('human output, a budget, and usage errors', async () => {
  const human = await runCli(['search', QUERY, '--collection', col, '--rerank', ceDir, '-k', '2', '--rerank-budget-ms', '60000']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^ {2}1\. -?\d\.\d{4} {2}\S+ {2}\(reranked; retrieval -?\d\.\d{4}\)\n/);
  assert.match(human.stderr, /\(budget 60000 ms\)/);
  const stray = await runCli(['search', QUERY, '--collection', col, '--rerank-top', '5']);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--rerank-top needs --rerank MODEL/);
  const missing = await runCli(['search', QUERY, '--collection', col, '--rerank', join(tmp.dir, 'nope')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /MODEL_NOT_FOUND/);
});
