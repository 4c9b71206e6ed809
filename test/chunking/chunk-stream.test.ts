/** createChunker().chunkStream: a long document chunked lazily, with the chunks chunkDocuments gives. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createChunker, type TokenCounter } from '../../src/chunking/index.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { prose, recording } from './helpers.ts';

const counter: TokenCounter = {
  maxTokens: 128,
  countTokens: (texts) => texts.map((t) => (t.match(/[\p{L}\p{N}]{1,6}|[^\p{L}\p{N}\s]/gu)?.length ?? 0) + 2),
};

test('the first chunks of a long document come before it is read whole, and the stream gives the chunks chunkDocuments gives', () => {
  const text = prose(4, 2500, [1, 7], 24); // ~760 kB
  const seen = recording(counter);
  const chunker = createChunker(seen, { overlapTokens: 16 });
  const stream = chunker.chunkStream({ id: 'd', text });
  const first = stream.next();
  assert.equal(first.done, false);
  assert.ok(seen.chars < 100_000, `the first chunk came after counting ${seen.chars} characters of ${text.length}`);
  const all = [first.value!, ...stream];
  assert.ok(all.length > 500, `${all.length} chunks`);
  assert.deepEqual(all, chunker.chunkDocuments([{ id: 'd', text }]));
});

test('a stream of a short, a blank and a one-sentence document; bad options fail when the chunker is made', () => {
  const chunker = createChunker(counter);
  assert.deepEqual([...chunker.chunkStream({ id: 'b', text: ' \n ' })], []);
  assert.deepEqual([...chunker.chunkStream({ id: 's', text: ' Hello there. ' })].map((c) => [c.index, c.text, c.start]), [[0, 'Hello there.', 1]]);
  assert.throws(() => createChunker(counter, { maxTokens: 129 }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => chunker.chunkStream({ id: '', text: 'x' }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});
