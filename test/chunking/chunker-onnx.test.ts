/** Chunking with the real all-MiniLM-L6-v2 WordPiece tokenizer (tiny synthetic ONNX model, max 64 tokens). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chunkText } from '../../src/chunking/index.ts';
import { loadOnnxEncoder, type OnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { assertChunkInvariants, prose } from './helpers.ts';
import { registerRealTokenizerCases } from './real-tokenizer-cases.ts';

const tmp = tempDir('chunking-onnx');
let dir: string;
let encoder: OnnxEncoder;

before(async () => {
  dir = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
  encoder = await loadOnnxEncoder(dir, { maxSeqLength: 64 });
});
after(async () => {
  await encoder?.close();
  tmp.cleanup();
});

registerRealTokenizerCases({ name: 'WordPiece', counter: () => encoder, special: 2 });

test('WordPiece: maxTokens defaults to the encoder maxTokens and cannot exceed it', () => {
  assert.equal(encoder.maxTokens, 64);
  const text = prose(5, 6, [2, 6], 20);
  const chunks = chunkText('doc', text, encoder);
  assertChunkInvariants(text, chunks, encoder, { maxTokens: 64 });
  assert.ok(chunks.some((c) => c.tokens > 48), 'chunks use the whole 64 tokens');
  assert.throws(() => chunkText('doc', text, encoder, { maxTokens: 65 }), { code: 'INVALID_ARGUMENT' });
});

test("WordPiece: the model's document prompt is the default and its tokens count", async () => {
  const prompted = await loadOnnxEncoder(dir, { maxSeqLength: 64, prompts: { document: 'passage: ' } });
  try {
    const text = prose(6, 6, [2, 6], 20);
    const chunks = chunkText('doc', text, prompted);
    assertChunkInvariants(text, chunks, prompted, { maxTokens: 64, prompt: 'passage: ' });
    const bare = chunkText('doc', text, prompted, { prompt: '' });
    assertChunkInvariants(text, bare, prompted, { maxTokens: 64 });
  } finally {
    await prompted.close();
  }
});

test('WordPiece: a 5000-letter word is one [UNK] token, so it is one chunk', () => {
  const text = `Before ${'a'.repeat(5000)} after.`;
  const chunks = chunkText('doc', text, encoder, { maxTokens: 16 });
  assertChunkInvariants(text, chunks, encoder, { maxTokens: 16 });
  assert.equal(chunks.length, 1);
});
