/**
 * Chunking is linear in the document's length (issue #15): a 0.99 MB file of one sentence repeated
 * took 107 s to index, the encoder's share being ~13 s. The cause was V8's Intl.Segmenter (Node 20):
 * iterating the segments of one string costs about (segments x its length), so sentences of a long
 * paragraph and graphemes of a long word were quadratic. These tests use a cheap rule-based counter
 * (no encoder) and, where they can, operation counts rather than time.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chunkDocuments, type TokenCounter } from '../../src/chunking/index.ts';
import { assertChunkInvariants, prose, recording } from './helpers.ts';

/** A token per run of up to 6 letters or digits and per punctuation mark, plus 2 special tokens (long words cost more). */
const counter: TokenCounter = {
  maxTokens: 128,
  countTokens: (texts) => texts.map((t) => (t.match(/[\p{L}\p{N}]{1,6}|[^\p{L}\p{N}\s]/gu)?.length ?? 0) + 2),
};

const SENTENCE = 'The quick brown fox jumps over the lazy dog. '; // 45 characters, as in the issue
/** One paragraph: a sentence repeated (no blank line, no line break). */
const oneParagraph = (chars: number): string => SENTENCE.repeat(Math.ceil(chars / SENTENCE.length)).slice(0, chars);
/** Lines without blank lines between them: ICU breaks a sentence at every line break, but it is one paragraph. */
const lines = (chars: number): string => {
  const text = prose(21, Math.ceil(chars / 600), [2, 6], 20).replace(/\n\n/g, '\n');
  return text.repeat(Math.ceil(chars / text.length)).slice(0, chars);
};

// The cost model of V8's segment iteration, summed over every Intl.Segmenter call: each segment
// stepped over costs the length of the string segmented. Over a budget, the call throws at once
// (a quadratic chunker fails here in milliseconds instead of running for minutes).
let work = 0;
let budget = Infinity;
const segment = Intl.Segmenter.prototype.segment;
before(() => {
  Intl.Segmenter.prototype.segment = function (this: Intl.Segmenter, input: string): Intl.Segments {
    const segments = segment.call(this, input);
    const counted = {
      containing: (index?: number) => segments.containing(index),
      [Symbol.iterator]() {
        const it = segments[Symbol.iterator]();
        return {
          next() {
            const step = it.next();
            if (step.done !== true) {
              work += input.length;
              if (work > budget) throw new Error(`Intl.Segmenter work ${work} is over the budget ${budget}: a segment() call got ${input.length} characters`);
            }
            return step;
          },
        };
      },
    };
    return counted as unknown as Intl.Segments;
  };
});
after(() => {
  Intl.Segmenter.prototype.segment = segment;
});

/** The segmentation work of chunking `text`, which must stay under perChar per character. */
function segmentationWork(text: string, perChar: number, options = {}): number {
  work = 0;
  budget = perChar * text.length;
  try {
    const chunks = chunkDocuments([{ id: 'd', text }], counter, options);
    assert.ok(chunks.length > 0);
  } finally {
    budget = Infinity;
  }
  return work / text.length;
}

test('segmenting costs a bounded amount per character however long a paragraph, a sentence or a word is', () => {
  // Per character, the work is about the number of segments in a window: ~90 sentences of 45
  // characters in 4,096 characters (93 here), 1,024 graphemes in 1,024 characters (1,030 for the
  // word, 1,590 for the CJK run, whose dictionary words are looked up too). Before the fix it was
  // the number of segments in the whole paragraph or word: 22,000 sentences in 1 MB.
  const bound = 4096;
  for (const [name, text] of [
    ['one paragraph', oneParagraph(1_000_000)],
    ['lines', lines(1_000_000)],
    ['one sentence without a period', oneParagraph(300_000).replaceAll('.', ',')],
    ['one word', 'abcdefghij'.repeat(20_000)],
    ['one CJK run', '我们今天去北京大学看看'.repeat(10_000)],
  ] as const) {
    const perChar = segmentationWork(text, bound);
    assert.ok(perChar <= bound, `${name}: ${perChar.toFixed(0)} per character`);
  }
});

/** The best of 3 runs, in seconds per MB. */
function secondsPerMb(text: string, options = {}): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    chunkDocuments([{ id: 'd', text }], counter, options);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best / (text.length / 1e6);
}

test('chunking 1 MB takes about 10 times as long as 100 kB, not 100 times (generous: within 3x per MB)', () => {
  secondsPerMb(lines(100_000)); // warm up the JIT
  for (const [name, make] of [
    ['one paragraph', oneParagraph],
    ['lines', lines],
  ] as const) {
    for (const options of [{}, { overlapTokens: 32 }]) {
      const small = secondsPerMb(make(100_000), options);
      const large = secondsPerMb(make(1_000_000), options);
      assert.ok(large <= 3 * small, `${name} ${JSON.stringify(options)}: ${large.toFixed(3)} s/MB at 1 MB, ${small.toFixed(3)} s/MB at 100 kB`);
    }
  }
});

test('no countTokens call gets more than a few sections of a long document (bounded memory), and the chunks are unchanged', () => {
  const text = lines(2_000_000);
  const whole = recording(counter);
  let largest = 0;
  const spy: TokenCounter = {
    maxTokens: counter.maxTokens,
    countTokens(texts) {
      largest = Math.max(largest, texts.reduce((n, t) => n + t.length, 0));
      return whole.countTokens(texts);
    },
  };
  const chunks = chunkDocuments([{ id: 'd', text }], spy, { overlapTokens: 16 });
  assertChunkInvariants(text, chunks, counter, { maxTokens: 128 });
  assert.ok(largest <= 64_000, `a countTokens call got ${largest} characters of a ${text.length}-character document`);
  assert.ok(whole.chars < 5 * text.length, `counted ${whole.chars} characters`);
});
