/** Chunking with the SentencePiece tokenizer of the bundled Universal Sentence Encoder lite (max 128 tokens). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chunkText } from '../../src/chunking/index.ts';
import { loadUseLite, type UseLiteEncoder } from '../../src/encoders/use-lite/index.ts';
import { assertChunkInvariants, prose } from './helpers.ts';
import { registerRealTokenizerCases } from './real-tokenizer-cases.ts';

let encoder: UseLiteEncoder;

before(async () => {
  encoder = await loadUseLite({ threads: 1 });
});
after(async () => {
  await encoder?.close();
});

registerRealTokenizerCases({ name: 'SentencePiece', counter: () => encoder, special: 0 });

test('SentencePiece: the default limit is the encoder maxTokens (128)', () => {
  assert.equal(encoder.maxTokens, 128);
  const text = prose(8, 10, [2, 8], 24);
  const chunks = chunkText('doc', text, encoder, { overlapTokens: 20 });
  assertChunkInvariants(text, chunks, encoder, { maxTokens: 128 });
  assert.ok(chunks.some((c) => c.tokens > 100), 'chunks use the whole 128 tokens');
});

test('SentencePiece: a 5000-letter word (many pieces) is split into full chunks', () => {
  const text = `Before ${'a'.repeat(5000)} after.`;
  const chunks = chunkText('doc', text, encoder, { maxTokens: 64, overlapTokens: 8 });
  assertChunkInvariants(text, chunks, encoder, { maxTokens: 64 });
  assert.ok(chunks.length > 10);
});
