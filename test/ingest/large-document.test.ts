/**
 * A document of many chunks is written over several batches (issue #15): what is held and embedded
 * at once is bounded by batchRows, progress is reported inside the document, an interruption keeps
 * what was committed, and a rerun after it ends exactly as an uninterrupted run would.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import { checkCollection } from '../../src/collection/check.ts';
import type { EncodeOptions, Embeddings, Encoder } from '../../src/encoders/encoder.ts';
import { indexDocuments, type IndexProgress } from '../../src/ingest/index-documents.ts';
import type { SourceDocument } from '../../src/ingest/source-document.ts';
import { scifactDocs, tempDir } from '../helpers/synthetic.ts';
import { CountingEncoder, tinyEncoder } from '../collection/helpers.ts';

const tmp = tempDir('large-document');
let inner: Encoder;
before(async () => {
  inner = await tinyEncoder(tmp.dir);
});
after(async () => {
  await inner.close();
  tmp.cleanup();
});

/** Counts texts per encode() call: the largest is what one write embeds (and holds vectors for) at once. */
class BatchRecordingEncoder extends CountingEncoder {
  largestCall = 0;
  override async encode(texts: readonly string[], options?: EncodeOptions): Promise<Embeddings> {
    this.largestCall = Math.max(this.largestCall, texts.length);
    return super.encode(texts, options);
  }
}

const ROWS = 16;
const OPTIONS = { chunkTokens: 32, batchRows: ROWS };
/** ~60 abstracts as paragraphs of one document: a few hundred chunks of 32 tokens. */
const BIG = scifactDocs(60, 100).join('\n\n');
const doc = (id: string, text: string): SourceDocument => ({ id, text, metadata: { kind: 'big' }, origin: `test:${id}` });

let serial = 0;
async function fresh(): Promise<{ c: Collection; enc: BatchRecordingEncoder; dir: string }> {
  const enc = new BatchRecordingEncoder(inner);
  const dir = join(tmp.dir, `c${serial++}`);
  return { c: await Collection.create(dir, { encoder: enc, index: { kind: 'flat' } }), enc, dir };
}

/** Every stored row of a document's ids d, d#0, d#1, ... (up to a bound), as [id, text, metadata]. */
async function rowsOf(c: Collection, id: string, upTo = 2000): Promise<[string, string, string][]> {
  const ids = [id, ...Array.from({ length: upTo }, (_, i) => `${id}#${i}`)];
  return (await c.get(ids)).filter((d) => d !== undefined).map((d) => [d.id, d.text, JSON.stringify(d.metadata)]);
}

/** The rows an uninterrupted run writes for these documents, in one batch per document. */
async function reference(docs: SourceDocument[]): Promise<Map<string, [string, string, string][]>> {
  const { c } = await fresh();
  try {
    await indexDocuments(c, docs, { chunkTokens: 32, batchRows: 1_000_000 });
    return new Map(await Promise.all(docs.map(async (d) => [d.id, await rowsOf(c, d.id)] as const)));
  } finally {
    await c.close();
  }
}

test('a document of more chunks than batchRows is embedded and committed batchRows rows at a time, with progress inside it', async () => {
  const { c, enc } = await fresh();
  try {
    const seen: IndexProgress[] = [];
    const r = await indexDocuments(c, [doc('small', 'A short note.'), doc('big', BIG), doc('after', 'Another short note.')], { ...OPTIONS, onBatch: (p) => seen.push(p) });
    const n = c.count() - 2;
    assert.ok(n > 8 * ROWS, `the big document is ${n} chunks`);
    assert.deepEqual([r.documents, r.inserted, r.rowsWritten, r.embedded, r.interrupted], [3, 3, n + 2, n + 2, false]);
    assert.ok(enc.largestCall <= 2 * ROWS, `one write embedded ${enc.largestCall} texts (batchRows ${ROWS})`);

    const inside = seen.filter((p) => p.partial !== undefined);
    assert.ok(inside.length >= n / ROWS - 2, `${inside.length} acknowledgements inside the big document`);
    inside.forEach((p, i) => {
      assert.equal(p.partial!.id, 'big');
      assert.equal(p.partial!.origin, 'test:big');
      assert.equal(p.documents, 1, 'only the small document before it is acknowledged');
      assert.ok(p.partial!.fraction > 0 && p.partial!.fraction < 1);
      if (i > 0) {
        assert.equal(p.partial!.rows, inside[i - 1].partial!.rows + ROWS);
        assert.ok(p.partial!.fraction > inside[i - 1].partial!.fraction);
      }
    });
    assert.equal(seen.at(-1)!.documents, 3);
    assert.equal(seen.at(-1)!.partial, undefined);
    assert.deepEqual(await rowsOf(c, 'big'), (await reference([doc('big', BIG)])).get('big'), 'the same rows as written in one batch');
  } finally {
    await c.close();
  }
});

test('stopped inside a large document: a prefix of its chunks is kept, check passes, a rerun embeds only the rest and ends as one run would', async () => {
  const { c, enc, dir } = await fresh();
  const stop = new AbortController();
  const r = await indexDocuments(c, [doc('big', BIG)], {
    ...OPTIONS,
    stop: stop.signal,
    onBatch: (p) => {
      if ((p.partial?.rows ?? 0) >= 2 * ROWS) stop.abort();
    },
  });
  assert.deepEqual([r.interrupted, r.documents, r.rowsWritten], [true, 0, 2 * ROWS]);
  assert.deepEqual((await rowsOf(c, 'big')).map(([id]) => id), Array.from({ length: 2 * ROWS }, (_, i) => `big#${i}`), 'chunks #0..#k, nothing else');
  await c.close();
  const report = await checkCollection(dir);
  assert.equal(report.ok, true, JSON.stringify(report.problems));

  const again = await Collection.open(dir, { encoder: enc });
  try {
    const before = enc.documents;
    const rerun = await indexDocuments(again, [doc('big', BIG)], OPTIONS);
    const n = again.count();
    assert.deepEqual([rerun.interrupted, rerun.documents, rerun.updated, rerun.rowsUnchanged, rerun.rowsWritten], [false, 1, 1, 2 * ROWS, n - 2 * ROWS]);
    assert.equal(enc.documents - before, n - 2 * ROWS, 'only the chunks not committed are embedded');
    assert.deepEqual(await rowsOf(again, 'big'), (await reference([doc('big', BIG)])).get('big'));
  } finally {
    await again.close();
  }
});

test('an update of a large document stopped halfway and rerun leaves exactly the new version (no stale rows)', async () => {
  const { c, enc, dir } = await fresh();
  const old = `${BIG}\n\n${BIG}`; // twice as many chunks
  const updated = `A new first paragraph.\n\n${BIG}`;
  await indexDocuments(c, [doc('big', old)], OPTIONS);
  const oldRows = c.count();
  const stop = new AbortController();
  const r = await indexDocuments(c, [doc('big', updated)], { ...OPTIONS, stop: stop.signal, onBatch: () => stop.abort() });
  assert.deepEqual([r.interrupted, r.documents], [true, 0]);
  // New chunks #0..#15, then the old version's: still contiguous, so the rerun finds every stale one.
  assert.deepEqual((await rowsOf(c, 'big', 4000)).map(([id]) => id), Array.from({ length: oldRows }, (_, i) => `big#${i}`));
  await c.close();
  assert.equal((await checkCollection(dir)).ok, true);

  const again = await Collection.open(dir, { encoder: enc });
  try {
    const rerun = await indexDocuments(again, [doc('big', updated)], OPTIONS);
    const expected = (await reference([doc('big', updated)])).get('big')!;
    assert.deepEqual([rerun.interrupted, rerun.updated, rerun.rowsDeleted], [false, 1, oldRows - expected.length]);
    assert.equal(again.count(), expected.length);
    assert.deepEqual(await rowsOf(again, 'big', 4000), expected);
  } finally {
    await again.close();
  }
});

test('a document that shrinks from hundreds of chunks to one finds its stale rows in a few round trips', async () => {
  const { c } = await fresh();
  try {
    await indexDocuments(c, [doc('big', BIG)], OPTIONS);
    const n = c.count();
    assert.ok(n > 100);
    let gets = 0;
    const get = c.get.bind(c);
    c.get = (ids, options) => {
      gets++;
      return get(ids, options);
    };
    const r = await indexDocuments(c, [doc('big', 'Now a short text.')], OPTIONS);
    assert.deepEqual([r.updated, r.rowsDeleted, c.count()], [1, n, 1]);
    assert.ok(gets <= 4 + Math.ceil(Math.log2(n)), `${gets} get() calls to find ${n} stale chunks`);
  } finally {
    await c.close();
  }
});
