import assert from 'node:assert/strict';
import type { Chunk, TokenCounter } from '../../src/chunking/index.ts';
import { isSpace } from '../../src/chunking/segment.ts';
import { rng } from '../helpers/prng.ts';
export { rng };
export interface Expectations {
  readonly maxTokens: number;
  readonly prompt?: string;
}

const isHigh = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

/** True when offset i falls between the two halves of a surrogate pair. */
export function splitsPair(text: string, i: number): boolean {
  return i > 0 && i < text.length && isHigh(text.charCodeAt(i - 1)) && isLow(text.charCodeAt(i));
}

/**
 * The invariants every chunking must keep: exact slices, trimmed, real token counts within the limit,
 * no split surrogate pair, indexes in order, starts and ends strictly increasing, and every
 * non-whitespace character of the source in some chunk.
 */
export function assertChunkInvariants(source: string, chunks: readonly Chunk[], counter: TokenCounter, expect: Expectations): void {
  const prompt = expect.prompt ?? '';
  const counts = chunks.length === 0 ? [] : counter.countTokens(chunks.map((c) => prompt + c.text));
  const covered = new Uint8Array(source.length);
  chunks.forEach((c, i) => {
    assert.equal(c.index, i, 'indexes count from 0');
    assert.ok(c.start >= 0 && c.start < c.end && c.end <= source.length, `chunk ${i}: bad range ${c.start}..${c.end}`);
    assert.equal(c.text, source.slice(c.start, c.end), `chunk ${i}: text is not the source slice`);
    assert.ok(!isSpace(c.text[0]) && !isSpace(c.text[c.text.length - 1]), `chunk ${i} is not trimmed`);
    assert.equal(c.tokens, counts[i], `chunk ${i}: tokens is not countTokens([prompt + text])`);
    assert.ok(c.tokens <= expect.maxTokens, `chunk ${i}: ${c.tokens} tokens > ${expect.maxTokens}`);
    assert.ok(!splitsPair(source, c.start) && !splitsPair(source, c.end), `chunk ${i} splits a surrogate pair`);
    if (i > 0) {
      assert.ok(c.start > chunks[i - 1].start, `chunk ${i} starts at or before chunk ${i - 1}`);
      assert.ok(c.end > chunks[i - 1].end, `chunk ${i} ends at or before chunk ${i - 1}`);
    }
    covered.fill(1, c.start, c.end);
  });
  for (let i = 0; i < source.length; i++) {
    if (!covered[i] && !isSpace(source[i])) assert.fail(`character ${i} (${JSON.stringify(source[i])}) is in no chunk`);
  }
}

/** Tokens of the text two consecutive chunks share (without special tokens), or 0 when they do not overlap. */
export function overlapTokens(source: string, previous: Chunk, next: Chunk, counter: TokenCounter, special: number): number {
  if (next.start >= previous.end) return 0;
  return counter.countTokens([source.slice(next.start, previous.end)])[0] - special;
}


const WORDS = (
  'the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were ' +
  'her she there been one all we their has would when if so no will can more other its time only new some could these two may ' +
  'first then do any like my now over such our man me even most made after also did many before must through back years where ' +
  'much your way well down should because each just those people how too little state good very make world still own see men ' +
  'work long get here between both life being under never day same another know while last might us great old year off come ' +
  'since against go came right used take three states himself few house use during without again place american around however ' +
  'home small found thought went say part once general high upon school every does got united left number course war until ' +
  'always away something fact though water less public put think almost hand enough far took head yet government system better ' +
  'set told nothing night end why called didn eyes find going look asked later knew point next program city business give group ' +
  'toward young days let room president side social given present several order national possible rather second face per among'
).split(' ');

/** English-like prose: paragraphs of sentences of 4..maxWords words, separated by blank lines. */
export function prose(seed: number, paragraphs: number, sentencesPerParagraph: [number, number], maxWords: number): string {
  const random = rng(seed);
  const pick = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const out: string[] = [];
  for (let p = 0; p < paragraphs; p++) {
    const sentences: string[] = [];
    for (let s = pick(...sentencesPerParagraph); s > 0; s--) {
      const words = Array.from({ length: pick(4, maxWords) }, () => WORDS[pick(0, WORDS.length - 1)]);
      if (random() < 0.3) words[pick(0, words.length - 2)] += ',';
      const sentence = words.join(' ');
      sentences.push(`${sentence[0].toUpperCase()}${sentence.slice(1)}${random() < 0.1 ? '?' : '.'}`);
    }
    out.push(sentences.join(' '));
  }
  return out.join('\n\n');
}

/** A counter that records what it was asked to count. */
export function recording(counter: TokenCounter): TokenCounter & { calls: number; texts: number; chars: number } {
  const r = {
    maxTokens: counter.maxTokens,
    prompts: counter.prompts,
    calls: 0,
    texts: 0,
    chars: 0,
    countTokens(texts: readonly string[]): number[] {
      r.calls++;
      r.texts += texts.length;
      for (const t of texts) r.chars += t.length;
      return counter.countTokens(texts);
    },
  };
  return r;
}
