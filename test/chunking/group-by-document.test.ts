import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Collection, type SearchHit } from '../../src/collection/collection.ts';
import { chunkId } from '../../src/chunking/chunker.ts';
import { CHUNK_METADATA_KEY, groupByDocument, searchDocuments } from '../../src/chunking/group-by-document.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { CountingEncoder, tinyEncoder } from '../collection/helpers.ts';

const tmp = tempDir('group-by-document');
after(() => tmp.cleanup());

function chunkHit(parent: string, index: number, score: number, extra: Record<string, string> = {}): SearchHit {
  return {
    id: chunkId(parent, index),
    score,
    text: `${parent} chunk ${index}`,
    metadata: { ...extra, [CHUNK_METADATA_KEY]: { parent, index, start: index * 10, end: index * 10 + 9 } },
  };
}

test('groupByDocument scores each document by its best chunk, in score order, at most k', () => {
  const hits: SearchHit[] = [
    chunkHit('a', 3, 0.9, { lang: 'en' }),
    chunkHit('a', 1, 0.8, { lang: 'en' }),
    { id: 'plain', score: 0.7, text: 'a whole document', metadata: { lang: 'fr' } },
    chunkHit('b', 0, 0.6),
    chunkHit('a', 0, 0.5, { lang: 'en' }),
    chunkHit('c', 2, 0.4),
  ];
  const docs = groupByDocument(hits, 10);
  assert.deepEqual(docs.map((d) => [d.id, d.score]), [['a', 0.9], ['plain', 0.7], ['b', 0.6], ['c', 0.4]]);
  assert.deepEqual(docs[0], { id: 'a', score: 0.9, text: 'a chunk 3', metadata: { lang: 'en' }, chunk: { id: 'a#3', index: 3, start: 30, end: 39 } });
  assert.deepEqual(docs[1], { id: 'plain', score: 0.7, text: 'a whole document', metadata: { lang: 'fr' } });
  assert.equal(CHUNK_METADATA_KEY in docs[2].metadata, false);
  assert.deepEqual(groupByDocument(hits, 2).map((d) => d.id), ['a', 'plain']);
  assert.deepEqual(groupByDocument(hits, 0), []);
  // Out-of-order hits: the best chunk still wins.
  const shuffled = [hits[4], hits[1], hits[0], hits[3]];
  assert.deepEqual(groupByDocument(shuffled, 5).map((d) => [d.id, d.score, d.chunk?.index]), [['a', 0.9, 3], ['b', 0.6, 0]]);
  assert.throws(() => groupByDocument(hits, -1), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});

test('searchDocuments over-fetches until k distinct documents are found', async () => {
  const dims = 4;
  const c = await Collection.create(join(tmp.dir, 'vectors'), { encoder: { modelId: 'test/vectors', dims, normalized: true }, index: { kind: 'flat' } });
  try {
    // Document "long" has 12 chunks all nearer to the query [1,0,0,0] than any other document.
    const rows = [];
    for (let i = 0; i < 12; i++) {
      const t = 0.01 * (i + 1);
      rows.push({ id: chunkId('long', i), text: `long ${i}`, vector: [1, t, 0, 0], metadata: { kind: 'long', [CHUNK_METADATA_KEY]: { parent: 'long', index: i, start: i, end: i + 1 } } });
    }
    rows.push({ id: 'solo', text: 'solo', vector: [1, 0.5, 0, 0], metadata: { kind: 'solo' } });
    rows.push({ id: chunkId('two', 0), text: 'two 0', vector: [1, 0.9, 0.2, 0], metadata: { kind: 'two', [CHUNK_METADATA_KEY]: { parent: 'two', index: 0, start: 0, end: 5 } } });
    rows.push({ id: chunkId('two', 1), text: 'two 1', vector: [1, 0.8, 0, 0], metadata: { kind: 'two', [CHUNK_METADATA_KEY]: { parent: 'two', index: 1, start: 6, end: 11 } } });
    rows.push({ id: 'far', text: 'far', vector: [0, 0, 0, 1], metadata: { kind: 'far' } });
    await c.upsertVectors(rows, { chunkRows: true });
    const q = new Float32Array([1, 0, 0, 0]);

    const docs = await searchDocuments(c, q, { k: 3, overfetch: 1 });
    assert.deepEqual(docs.map((d) => d.id), ['long', 'solo', 'two']);
    assert.equal(docs[0].chunk?.id, 'long#0');
    assert.equal(docs[2].chunk?.id, 'two#1');
    assert.deepEqual(docs[2].metadata, { kind: 'two' });
    // Plain chunk search with the same k would have returned only "long" chunks.
    assert.deepEqual(new Set((await c.search(q, { k: 3 })).map((h) => h.metadata.kind)), new Set(['long']));

    // More documents asked for than exist: everything, once each.
    assert.deepEqual((await searchDocuments(c, q, { k: 50 })).map((d) => d.id), ['long', 'solo', 'two', 'far']);
    // The filter applies to chunks.
    assert.deepEqual((await searchDocuments(c, q, { k: 5, filter: { kind: { $in: ['two', 'far'] } } })).map((d) => d.id), ['two', 'far']);
    assert.deepEqual(await searchDocuments(c, q, { k: 0 }), []);
    await assert.rejects(searchDocuments(c, q, { k: 2, overfetch: 0 }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  } finally {
    await c.close();
  }
});

test('searchDocuments embeds a text query once with the collection encoder', async () => {
  const encoder = new CountingEncoder(await tinyEncoder(tmp.dir));
  const c = await Collection.create(join(tmp.dir, 'texts'), { encoder, index: { kind: 'flat' } });
  try {
    const texts = ['The cat sat on the mat.', 'Cats purr when they are content.', 'Stock markets fell sharply on Monday.', 'Interest rates rose again.'];
    const parent = (i: number): string => (i < 2 ? 'pets' : 'money');
    await c.upsert(texts.map((text, i) => ({ id: chunkId(parent(i), i % 2), text, metadata: { [CHUNK_METADATA_KEY]: { parent: parent(i), index: i % 2, start: 0, end: text.length } } })), { chunkRows: true });
    const docs = await searchDocuments(c, 'The cat sat on the mat.', { k: 2, overfetch: 1 });
    assert.equal(encoder.queries, 1, 'the query is embedded once even when the search is retried');
    assert.deepEqual(docs.map((d) => d.id), ['pets', 'money']);
    assert.equal(docs[0].text, texts[0]);
    assert.ok(docs[0].score > 0.999, `an identical text scores ~1, got ${docs[0].score}`);
    const direct = await c.search('The cat sat on the mat.', { k: 1 });
    assert.ok(Math.abs(direct[0].score - docs[0].score) < 1e-5);
  } finally {
    await c.close();
    await encoder.close();
  }
});
