/**
 * The input rules of the library's door (Collection.upsert / upsertVectors / search), which the CLI and
 * the HTTP server apply through it: lone surrogates in texts become U+FFFD; ids ending in `#<n>` and the
 * `_chunk` metadata key are reserved for chunk rows (written with `chunkRows: true`, and then consistent);
 * `__proto__` keys are refused; a zero query vector is refused where a zero document vector is; ef has
 * one limit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import { MAX_DOCUMENT_ID_LENGTH, MAX_ID_LENGTH } from '../../src/collection/document-input.ts';
import { CHUNK_METADATA_KEY } from '../../src/chunking/group-by-document.ts';
import { chunkId } from '../../src/chunking/chunker.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { MAX_EF } from '../../src/index/validate.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { rejectsWith, tinyEncoder } from './helpers.ts';

const tmp = tempDir('input-rules');
let base: Encoder;
let n = 0;
const newDir = (): string => join(tmp.dir, `c${n++}`);

before(async () => {
  base = await tinyEncoder(tmp.dir);
});
after(async () => {
  await base.close();
  tmp.cleanup();
});

describe('lone surrogates in texts become U+FFFD, at upsert and at search', () => {
  test('upsert stores the text with U+FFFD and embeds it as such; search with one finds it; ids with one are refused', async () => {
    const c = await Collection.create(newDir(), { encoder: base, index: { kind: 'flat' } });
    try {
      const r = await c.upsert([{ id: 'a', text: 'broken \ud800 text' }, { id: 'b', text: 'another text' }]);
      assert.equal(r.inserted, 2);
      const [a] = await c.get(['a'], { vectors: true });
      assert.equal(a!.text, 'broken \ufffd text');
      const expected = await base.encode(['broken \ufffd text'], { role: 'document' });
      assert.deepEqual(Array.from(a!.vector!), Array.from(expected.data));
      // The same text written again is unchanged (its hash is the cleaned text's).
      assert.equal((await c.upsert([{ id: 'a', text: 'broken \ufffd text' }])).unchanged, 1);
      await c.upsertVectors([{ id: 'v', text: 'x\udc00', vector: expected.data }]);
      assert.equal((await c.get(['v']))[0]!.text, 'x\ufffd');

      for (const mode of ['dense', 'keyword', 'hybrid'] as const) {
        const hits = await c.search('broken \ud800 text', { k: 1, mode });
        assert.equal(hits[0]?.id, 'a', mode);
        const clean = await c.search('broken \ufffd text', { k: 1, mode });
        assert.equal(hits[0].score, clean[0].score, `${mode}: the same score as the U+FFFD query`);
      }
      await rejectsWith(c.upsert([{ id: 'x\ud800', text: 'x' }]), 'INVALID_ARGUMENT', /lone surrogate/);
      await rejectsWith(c.upsert([{ id: 'm', text: 'x', metadata: { s: 'x\ud800' } }]), 'INVALID_ARGUMENT', /lone surrogate/);
    } finally {
      await c.close();
    }
  });
});

describe('ids ending in #<n> and the _chunk key are reserved for chunk rows', () => {
  const chunkMeta = (parent: string, index: number) => ({ [CHUNK_METADATA_KEY]: { parent, index, start: 0, end: 4 } });

  test('a document may not look like a chunk: upsert and upsertVectors refuse both, nothing is written', async () => {
    const c = await Collection.create(newDir(), { encoder: base, index: { kind: 'flat' } });
    try {
      const vector = (await base.encode(['x'])).data;
      await rejectsWith(c.upsert([{ id: 'ok', text: 'fine' }, { id: 'a#1', text: 'x' }]), 'INVALID_ARGUMENT', /docs\[1\].*"a#1" ends with "#<number>", which is reserved for the ids of chunks/);
      await rejectsWith(c.upsert([{ id: 'evil', text: 'x', metadata: chunkMeta('victim', 0) }]), 'INVALID_ARGUMENT', /metadata\._chunk .*reserved for chunk positions/);
      await rejectsWith(c.upsertVectors([{ id: 'a#0', vector }]), 'INVALID_ARGUMENT', /reserved for the ids of chunks/);
      await rejectsWith(c.upsertVectors([{ id: 'evil', vector, metadata: chunkMeta('victim', 0) }]), 'INVALID_ARGUMENT', /reserved for chunk positions/);
      assert.equal(c.count(), 0);
      // Ids that merely contain '#' are documents.
      assert.equal((await c.upsert([{ id: 'a#b', text: 'x' }, { id: '#1', text: 'y' }, { id: 'a#01', text: 'z' }])).inserted, 3);
    } finally {
      await c.close();
    }
  });

  test('with chunkRows: true, chunk rows are written when their id and _chunk agree', async () => {
    const c = await Collection.create(newDir(), { encoder: base, index: { kind: 'flat' } });
    try {
      const r = await c.upsert([
        { id: 'doc#0', text: 'first', metadata: { lang: 'en', ...chunkMeta('doc', 0) } },
        { id: 'doc#1', text: 'second', metadata: chunkMeta('doc', 1) },
        { id: 'whole', text: 'a whole document' },
      ], { chunkRows: true });
      assert.equal(r.inserted, 3);
      const refused: [object, RegExp][] = [
        [{ id: 'evil', text: 'x', metadata: chunkMeta('victim', 0) }, /is not the id of the chunk it describes \("victim#0"\)/],
        [{ id: 'doc#5', text: 'x', metadata: chunkMeta('other', 5) }, /"doc#5" is not the id of the chunk it describes \("other#5"\)/],
        [{ id: 'doc#2', text: 'x' }, /reserved for the ids of chunks/],
        [{ id: 'doc#2', text: 'x', metadata: { [CHUNK_METADATA_KEY]: { parent: 'doc', index: 2 } } }, /not a chunk position/],
        [{ id: 'a#1#0', text: 'x', metadata: chunkMeta('a#1', 0) }, /parent "a#1" ends with "#<number>"/],
      ];
      for (const [row, message] of refused) await rejectsWith(c.upsert([row as never], { chunkRows: true }), 'INVALID_ARGUMENT', message);
      assert.equal(c.count(), 3);
    } finally {
      await c.close();
    }
  });

  test('one id limit: documents up to MAX_DOCUMENT_ID_LENGTH, their chunks up to MAX_ID_LENGTH', async () => {
    assert.ok(MAX_DOCUMENT_ID_LENGTH + '#9007199254740991'.length <= MAX_ID_LENGTH, 'the longest chunk id of the longest document id fits');
    const c = await Collection.create(newDir(), { encoder: base, index: { kind: 'flat' } });
    try {
      const longest = '中'.repeat(MAX_DOCUMENT_ID_LENGTH);
      await c.upsert([{ id: longest, text: 'x' }]);
      await rejectsWith(c.upsert([{ id: `${longest}a`, text: 'x' }]), 'INVALID_ARGUMENT', new RegExp(`the limit is ${MAX_DOCUMENT_ID_LENGTH}`));
      const chunk = chunkId(longest, Number.MAX_SAFE_INTEGER);
      await c.upsert([{ id: chunk, text: 'x', metadata: chunkMeta(longest, Number.MAX_SAFE_INTEGER) }], { chunkRows: true });
      assert.equal((await c.get([chunk]))[0]?.id, chunk);
    } finally {
      await c.close();
    }
  });
});

test('metadata keys named __proto__ are refused (at any depth)', async () => {
  const c = await Collection.create(newDir(), { encoder: base, index: { kind: 'flat' } });
  try {
    await rejectsWith(c.upsert([{ id: 'p', text: 'x', metadata: JSON.parse('{"__proto__": {"polluted": 1}}') }]), 'INVALID_ARGUMENT', /docs\[0\]\.metadata: the key "__proto__" is not allowed/);
    await rejectsWith(c.upsert([{ id: 'p', text: 'x', metadata: JSON.parse('{"a": [{"__proto__": 1}]}') }]), 'INVALID_ARGUMENT', /metadata\.a\[0\]: the key "__proto__" is not allowed/);
    assert.equal(c.count(), 0);
  } finally {
    await c.close();
  }
});

describe('a zero query vector is refused where a zero document vector is', () => {
  test('cosine: both refused with the same code and reason; dot: both accepted', async () => {
    const zero = new Float32Array(base.dims);
    const cos = await Collection.create(newDir(), { encoder: base, index: { kind: 'flat' } });
    try {
      await cos.upsert([{ id: 'a', text: 'some text' }]);
      await rejectsWith(cos.upsertVectors([{ id: 'z', vector: zero }]), 'INVALID_ARGUMENT', /zero vector has no cosine similarity/);
      await rejectsWith(cos.search(zero), 'INVALID_ARGUMENT', /zero vector has no cosine similarity/);
      await rejectsWith(cos.searchBatch({ data: new Float32Array(base.dims * 2).fill(0.5, 0, base.dims), rows: 2, dims: base.dims }), 'INVALID_ARGUMENT', /row 1.*zero vector has no cosine similarity/);
    } finally {
      await cos.close();
    }
    const dot = await Collection.create(newDir(), { encoder: base, index: { kind: 'flat' }, metric: 'dot' });
    try {
      await dot.upsertVectors([{ id: 'z', vector: zero }]);
      assert.deepEqual((await dot.search(zero, { k: 1 })).map((h) => h.score), [0]);
    } finally {
      await dot.close();
    }
  });
});

test(`ef: one limit (1..${MAX_EF}) in every index kind`, async () => {
  const c = await Collection.create(newDir(), { encoder: base, index: { kind: 'flat' } });
  try {
    await c.upsert([{ id: 'a', text: 'some text' }]);
    assert.equal((await c.search('some text', { k: 1, ef: MAX_EF })).length, 1);
    await rejectsWith(c.search('some text', { ef: MAX_EF + 1 }), 'INVALID_ARGUMENT', new RegExp(`ef must be an integer in 1\\.\\.${MAX_EF}`));
  } finally {
    await c.close();
  }
});
