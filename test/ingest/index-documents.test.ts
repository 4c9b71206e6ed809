import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import { checkCollection } from '../../src/collection/check.ts';
import { CHUNK_METADATA_KEY, type ChunkMetadata } from '../../src/chunking/group-by-document.ts';
import { indexDocuments, type IndexProgress } from '../../src/ingest/index-documents.ts';
import type { SourceDocument } from '../../src/ingest/source-document.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { scifactDocs, tempDir } from '../helpers/synthetic.ts';
import { CountingEncoder, tinyEncoder } from '../collection/helpers.ts';

const tmp = tempDir('index-documents');
let inner: Encoder;
before(async () => {
  inner = await tinyEncoder(tmp.dir);
});
after(async () => {
  await inner.close();
  tmp.cleanup();
});

const [LONG, MEDIUM] = scifactDocs(2);
const doc = (id: string, text: string, metadata: Record<string, string | number> = {}): SourceDocument => ({ id, text, metadata, origin: `test:${id}` });

async function fresh(name: string): Promise<{ c: Collection; enc: CountingEncoder }> {
  const enc = new CountingEncoder(inner);
  const c = await Collection.create(join(tmp.dir, name), { encoder: enc, index: { kind: 'flat' } });
  return { c, enc };
}

async function storedIds(c: Collection, ids: string[]): Promise<string[]> {
  return (await c.get(ids)).filter((d) => d !== undefined).map((d) => d.id);
}

test('chunks long documents per the convention, stores short ones whole, and reruns embed nothing', async () => {
  const { c, enc } = await fresh('basic');
  try {
    const docs = [doc('long', LONG, { lang: 'en' }), doc('short', 'A short note about cats.'), doc('blank', '  \n ')];
    const first = await indexDocuments(c, docs, { chunkTokens: 32 });
    assert.equal(first.documents, 3);
    assert.equal(first.inserted, 2);
    assert.equal(first.empty, 1);
    assert.equal(first.interrupted, false);
    const n = first.rowsWritten - 1;
    assert.ok(n >= 5, `the long document is several chunks (${n})`);
    assert.equal(c.count(), n + 1);
    assert.equal(first.embedded, n + 1);

    const chunks = await c.get(Array.from({ length: n }, (_, i) => `long#${i}`));
    chunks.forEach((chunk, i) => {
      assert.ok(chunk, `long#${i} is stored`);
      const meta = chunk.metadata[CHUNK_METADATA_KEY] as unknown as ChunkMetadata;
      assert.deepEqual({ parent: meta.parent, index: meta.index }, { parent: 'long', index: i });
      assert.equal(LONG.slice(meta.start, meta.end), chunk.text, 'offsets point into the parent text');
      assert.equal(chunk.metadata.lang, 'en', 'the parent metadata is kept');
      assert.ok(inner.countTokens([chunk.text])[0] <= 32);
    });
    assert.deepEqual(await storedIds(c, ['long', `long#${n}`, 'short', 'short#0', 'blank']), ['short']);
    assert.deepEqual((await c.get(['short']))[0]?.metadata, {});

    const embeddedBefore = enc.documents;
    const again = await indexDocuments(c, docs, { chunkTokens: 32 });
    assert.deepEqual([again.inserted, again.updated, again.unchanged, again.empty, again.rowsWritten, again.rowsUnchanged, again.embedded], [0, 0, 2, 1, 0, n + 1, 0]);
    assert.equal(enc.documents, embeddedBefore, 'nothing re-embedded');
  } finally {
    await c.close();
  }
});

test('shrinking, growing, emptied and re-labelled documents leave no stale rows', async () => {
  const { c, enc } = await fresh('changes');
  try {
    await indexDocuments(c, [doc('a', LONG), doc('b', 'Short b.'), doc('c', MEDIUM), doc('d', 'Short d.', { v: 1 })], { chunkTokens: 32 });
    const rowsBefore = c.count(); // a's and c's chunks, b, d
    assert.ok(rowsBefore > 6);
    const embeddedBefore = enc.documents;
    const r = await indexDocuments(c, [
      doc('a', 'Now a short text.'), // many chunks -> one row under its own id
      doc('b', LONG), // one row -> chunks
      doc('c', ''), // emptied: everything it had goes
      doc('d', 'Short d.', { v: 2 }), // metadata only: no embedding
    ], { chunkTokens: 32, batchSize: 2 });
    assert.deepEqual([r.inserted, r.updated, r.unchanged, r.empty], [0, 3, 0, 1]);
    const bChunks = r.rowsWritten - 2; // a (1 row) + d (metadata) + b's chunks
    assert.equal(r.embedded, 1 + bChunks, 'only new texts are embedded');
    assert.equal(enc.documents - embeddedBefore, 1 + bChunks);
    assert.deepEqual(await storedIds(c, ['a', 'a#0', 'a#1', 'b', 'b#0', 'c', 'c#0', 'd']), ['a', 'b#0', 'd']);
    assert.equal(c.count(), 2 + bChunks);
    assert.equal(r.rowsDeleted, rowsBefore - 1, "a's chunks, b's whole row and c's rows: all but d's row");
    assert.deepEqual((await c.get(['d']))[0]?.metadata, { v: 2 });
  } finally {
    await c.close();
  }
  const report = await checkCollection(join(tmp.dir, 'changes'));
  assert.equal(report.ok, true, JSON.stringify(report.problems));
});

test('stop ends the run after the batch in flight; signal abandons it; committed batches stay', async () => {
  const { c } = await fresh('interrupt');
  try {
    const docs = scifactDocs(12, 10).map((text, i) => doc(`d${i}`, text.slice(0, 200)));
    const stop = new AbortController();
    const seen: IndexProgress[] = [];
    const r = await indexDocuments(c, docs, {
      batchSize: 4,
      stop: stop.signal,
      onBatch: (p) => {
        seen.push(p);
        if (p.documents === 4) stop.abort();
      },
    });
    assert.equal(r.interrupted, true);
    assert.equal(r.documents, 4);
    assert.equal(seen.length, 1);
    assert.equal(c.count(), 4);

    // Abort while the second batch is being embedded: nothing of it is written.
    const abandon = new AbortController();
    const enc = c.encoder as CountingEncoder;
    const original = enc.encode.bind(enc);
    let calls = 0;
    enc.encode = async (texts, options) => {
      if (++calls === 2) abandon.abort();
      return original(texts, options);
    };
    const r2 = await indexDocuments(c, docs, { batchSize: 4, signal: abandon.signal });
    enc.encode = original;
    assert.equal(r2.interrupted, true);
    assert.equal(r2.documents, 8, 'the first batch (unchanged) and the second acknowledged');
    assert.equal(r2.unchanged, 4);
    assert.equal(r2.inserted, 4);
    assert.equal(c.count(), 8, 'the abandoned batch wrote nothing');

    const r3 = await indexDocuments(c, docs, { batchSize: 4 });
    assert.deepEqual([r3.interrupted, r3.inserted, r3.unchanged], [false, 4, 8]);
    assert.equal(c.count(), 12);
  } finally {
    await c.close();
  }
});

test('bad options and a collection without an encoder are rejected before anything is written', async () => {
  const { c } = await fresh('options');
  try {
    await assert.rejects(indexDocuments(c, [doc('a', 'x')], { chunkTokens: 100, chunkOverlap: 60 }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(indexDocuments(c, [doc('a', 'x')], { batchSize: 0 }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(indexDocuments(c, [doc('a', 'x'), doc('a', 'y')]), (e: unknown) => isBiencoderError(e, 'INVALID_INPUT') && /test:a: duplicate document id "a"/.test(e.message));
    assert.equal(c.count(), 0);
  } finally {
    await c.close();
  }
  const reader = await Collection.open(join(tmp.dir, 'options'), { readOnly: true });
  try {
    await assert.rejects(indexDocuments(reader, [doc('a', 'x')]), (e: unknown) => isBiencoderError(e, 'ENCODER_REQUIRED'));
  } finally {
    await reader.close();
  }
});
