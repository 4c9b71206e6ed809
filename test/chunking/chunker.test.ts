/**
 * Chunker API, options and invariants with a fast rule-based counter; the real tokenizers are
 * exercised in chunker-onnx.test.ts and chunker-use-lite.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkDocuments, chunkId, chunkText, parseChunkId, type Chunk, type ChunkOptions, type TokenCounter } from '../../src/chunking/index.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { assertChunkInvariants, prose, recording, rng } from './helpers.ts';

/** Words and punctuation marks, plus 2 special tokens (like BERT's [CLS] and [SEP]). */
function ruleCounter(maxTokens: number, document?: string): TokenCounter {
  return {
    maxTokens,
    prompts: document === undefined ? {} : { document },
    countTokens: (texts) => texts.map((t) => (t.match(/[\p{L}\p{N}]+|[^\p{L}\p{N}\s]/gu)?.length ?? 0) + 2),
  };
}

function throwsCode(fn: () => unknown, code: string, what: string): void {
  assert.throws(fn, (e: unknown) => isBiencoderError(e) && e.code === code, what);
}

test('chunkId and parseChunkId round-trip, with "#" allowed in parent ids', () => {
  assert.equal(chunkId('doc-1', 0), 'doc-1#0');
  assert.deepEqual(parseChunkId('doc-1#12'), { parentId: 'doc-1', index: 12 });
  assert.deepEqual(parseChunkId(chunkId('a#b', 3)), { parentId: 'a#b', index: 3 });
  for (const bad of ['doc', '#1', 'doc#', 'doc#01', 'doc#-1', 'doc#1.5', 'doc#x']) assert.equal(parseChunkId(bad), undefined, bad);
  throwsCode(() => chunkId('', 0), 'INVALID_ARGUMENT', 'empty parent');
  throwsCode(() => chunkId('d', -1), 'INVALID_ARGUMENT', 'negative index');
  throwsCode(() => chunkId('d', 1.5), 'INVALID_ARGUMENT', 'fractional index');
});

test('a short document is one chunk covering its trimmed text', () => {
  const counter = ruleCounter(32);
  const text = '\n  Hello world. A second sentence.  \n';
  const chunks = chunkText('d', text, counter);
  assert.deepEqual(chunks, [{ parentId: 'd', index: 0, text: 'Hello world. A second sentence.', start: 3, end: 34, tokens: 9 }]);
});

test('empty and whitespace-only documents give no chunks (not an error)', () => {
  const counter = ruleCounter(32);
  for (const text of ['', '   ', '\n\n\t', '\u0000\u0001 \u3000']) assert.deepEqual(chunkText('d', text, counter), []);
  const chunks = chunkDocuments([{ id: 'a', text: '' }, { id: 'b', text: 'Some text.' }, { id: 'c', text: ' ' }], counter);
  assert.deepEqual(chunks.map((c) => [c.parentId, c.index]), [['b', 0]]);
});

test('invalid options, counters and documents are INVALID_ARGUMENT', () => {
  const counter = ruleCounter(32);
  const bad: [ChunkOptions, string][] = [
    [{ maxTokens: 33 }, 'above the encoder maxTokens'],
    [{ maxTokens: 0 }, 'zero maxTokens'],
    [{ maxTokens: 1.5 }, 'fractional maxTokens'],
    [{ maxTokens: Number.NaN }, 'NaN maxTokens'],
    [{ overlapTokens: 16 }, 'overlap = maxTokens / 2'],
    [{ maxTokens: 10, overlapTokens: 5 }, 'overlap = maxTokens / 2 (explicit max)'],
    [{ overlapTokens: -1 }, 'negative overlap'],
    [{ overlapTokens: 2.5 }, 'fractional overlap'],
    [{ prompt: 3 as unknown as string }, 'non-string prompt'],
    [{ maxTokens: 4, prompt: 'a long long prompt' }, 'prompt leaves no room'],
    [{ maxTokens: 6, overlapTokens: 2, prompt: 'p q' }, 'prompt leaves no room after the overlap'],
  ];
  for (const [options, what] of bad) throwsCode(() => chunkText('d', 'Some text here.', counter, options), 'INVALID_ARGUMENT', what);
  throwsCode(() => chunkText('d', 'x', counter, null as unknown as ChunkOptions), 'INVALID_ARGUMENT', 'null options');
  throwsCode(() => chunkText('d', 'x', {} as TokenCounter), 'INVALID_ARGUMENT', 'not a counter');
  throwsCode(() => chunkText('d', 'x', { ...counter, maxTokens: 0 }), 'INVALID_ARGUMENT', 'counter maxTokens 0');
  throwsCode(() => chunkText('d', 'x', { maxTokens: 8, countTokens: () => [] }), 'INVALID_ARGUMENT', 'counter returning too few counts');
  throwsCode(() => chunkText('d', 'x', { maxTokens: 8, countTokens: (t) => t.map(() => -1) }), 'INVALID_ARGUMENT', 'negative counts');
  throwsCode(() => chunkText('', 'x', counter), 'INVALID_ARGUMENT', 'empty parent id');
  throwsCode(() => chunkText('d', 42 as unknown as string, counter), 'INVALID_ARGUMENT', 'non-string text');
  throwsCode(() => chunkDocuments([{ id: 'a', text: 'x' }, { id: 'a', text: 'y' }], counter), 'INVALID_ARGUMENT', 'duplicate ids');
  throwsCode(() => chunkDocuments({} as unknown as [], counter), 'INVALID_ARGUMENT', 'docs not an array');
  throwsCode(() => chunkDocuments([null as unknown as { id: string; text: string }], counter), 'INVALID_ARGUMENT', 'null doc');
  // Valid edge values.
  assert.equal(chunkText('d', 'x y', counter, { maxTokens: 32, overlapTokens: 15 }).length, 1);
  assert.equal(chunkText('d', 'x y', counter, { maxTokens: 3 }).length, 2);
});

test('invariants hold on prose with every option combination', () => {
  const text = prose(7, 12, [1, 6], 22);
  for (const maxTokens of [8, 16, 32, 64]) {
    for (const overlapTokens of [0, 1, Math.floor((maxTokens - 1) / 2)]) {
      for (const prompt of ['', 'passage: ']) {
        const counter = ruleCounter(64);
        const options = { maxTokens, overlapTokens, prompt };
        const chunks = chunkText('d', text, counter, options);
        assertChunkInvariants(text, chunks, counter, options);
      }
    }
  }
});

test("the encoder's document prompt is the default and counts against the limit", () => {
  const counter = ruleCounter(24, 'search document: ');
  const text = prose(3, 4, [2, 4], 12);
  const chunks = chunkText('d', text, counter);
  assertChunkInvariants(text, chunks, counter, { maxTokens: 24, prompt: 'search document: ' });
  const none = chunkText('d', text, counter, { prompt: '' });
  assertChunkInvariants(text, none, counter, { maxTokens: 24 });
  assert.ok(none.length < chunks.length, 'without the prompt, chunks hold more text');
});

test('chunkDocuments batches counts across documents and equals chunking one by one', () => {
  const docs = Array.from({ length: 30 }, (_, i) => ({ id: `doc${i}`, text: prose(100 + i, 1 + (i % 5), [1, 5], 18) }));
  const options = { maxTokens: 40, overlapTokens: 8 };
  let singleMaxCalls = 0;
  const single: Chunk[] = [];
  for (const d of docs) {
    const counter = recording(ruleCounter(64));
    single.push(...chunkText(d.id, d.text, counter, options));
    singleMaxCalls = Math.max(singleMaxCalls, counter.calls);
  }
  const counter = recording(ruleCounter(64));
  const batch = chunkDocuments(docs, counter, options);
  assert.deepEqual(batch, single);
  assert.ok(counter.calls <= singleMaxCalls, `${counter.calls} countTokens calls for 30 documents, ${singleMaxCalls} for the longest alone`);
});

test('a long document costs O(n) counting, not O(n^2)', () => {
  const text = prose(11, 600, [3, 8], 25); // ~250k characters
  const counter = recording(ruleCounter(128));
  const chunks = chunkText('long', text, counter, { overlapTokens: 32 });
  assertChunkInvariants(text, chunks, ruleCounter(128), { maxTokens: 128 });
  assert.ok(counter.chars < 5 * text.length, `counted ${counter.chars} characters for a ${text.length}-character document`);
});

test('a counter whose counts grow faster than the sum of the parts (shrink path) keeps every invariant', () => {
  // Superadditive: a window's real count exceeds its estimate, so windows must shrink after counting.
  const base = ruleCounter(64);
  const counter: TokenCounter = {
    maxTokens: 64,
    countTokens: (texts) => base.countTokens(texts).map((n) => n + Math.floor((n * n) / 150)),
  };
  const text = prose(21, 8, [2, 7], 20);
  for (const overlapTokens of [0, 6, 20]) {
    const chunks = chunkText('d', text, counter, { maxTokens: 64, overlapTokens });
    assertChunkInvariants(text, chunks, counter, { maxTokens: 64 });
  }
});

test('a word whose cost the estimate misses badly is split when it turns out not to fit', () => {
  // Every "z" costs 3 tokens: the per-word estimate (shared from the sentence) is far too low for "zzzz…".
  const counter: TokenCounter = {
    maxTokens: 64,
    countTokens: (texts) => texts.map((t) => (t.match(/[\p{L}\p{N}]+|[^\p{L}\p{N}\s]/gu)?.length ?? 0) + 3 * (t.match(/z/g)?.length ?? 0) + 2),
  };
  const text = `Extraordinarily comprehensive documentation accompanies ${'z'.repeat(12)} internationalization frameworks nowadays, obviously.`;
  const chunks = chunkText('d', text, counter, { maxTokens: 16 });
  assertChunkInvariants(text, chunks, counter, { maxTokens: 16 });
  assert.ok(chunks.some((c) => /^z+$/.test(c.text)), 'the z word was cut into pieces');
});

test('random texts mixing scripts, emoji, controls, lone surrogates and blank lines keep every invariant', () => {
  const counter = ruleCounter(40);
  const random = rng(1234);
  const atoms = ['word', 'Sentence.', 'end!', 'Why?', ' ', ' ', ' ', '\n', '\n\n', '\t', '\u0001', '😀', '👨‍👩‍👧', '🇫🇷', '漢字', '。', 'é', 'e\u0301', '\uD800', '\uDC00', 'https://x.org/a?b=c', '-', '1.5', 'Dr.', 'x'.repeat(30)];
  for (let iteration = 0; iteration < 150; iteration++) {
    const length = 1 + Math.floor(random() * 400);
    let text = '';
    for (let i = 0; i < length; i++) text += atoms[Math.floor(random() * atoms.length)];
    const maxTokens = 4 + Math.floor(random() * 37);
    const overlapTokens = Math.floor(random() * (maxTokens / 2));
    const options = { maxTokens, overlapTokens, prompt: random() < 0.3 ? 'p: ' : '' };
    let chunks: Chunk[];
    try {
      chunks = chunkText('d', text, counter, options);
    } catch (e) {
      // A prompt that leaves no room is the only acceptable failure.
      assert.ok(isBiencoderError(e, 'INVALID_ARGUMENT') && /no room/.test(e.message), `iteration ${iteration}: ${String(e)}`);
      continue;
    }
    assertChunkInvariants(text, chunks, counter, options);
  }
});

test('a grapheme too long for one chunk (a stack of combining marks) is split between code points', () => {
  const counter = ruleCounter(64); // every combining mark is a token here
  const text = `Zalgo: e${'\u0301'.repeat(200)} done.`;
  const chunks = chunkText('d', text, counter, { maxTokens: 16, overlapTokens: 4 });
  assertChunkInvariants(text, chunks, counter, { maxTokens: 16 });
  assert.ok(chunks.length > 10);
});
