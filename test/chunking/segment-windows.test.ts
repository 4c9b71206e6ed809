/**
 * Segmenting in windows (segment.ts works around V8's quadratic Intl.Segmenter iteration) finds the
 * boundaries that segmenting the whole range finds: sentences and graphemes, on random texts made of
 * the pieces their rules look at (terminators, closers, spaces, line breaks, lowercase continuations,
 * abbreviations, numbers, emoji sequences, regional indicators, combining marks), with tiny windows
 * so that every window edge falls somewhere awkward.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { segmentBoundaries, sentenceStream } from '../../src/chunking/segment.ts';

const PIECES = [
  'word', 'Word', 'x', ' ', '  ', '\t', '\n', '\r\n', '\n\n', '\u2029', '.', '. ', '?', '!', '...', '."', '.)', ') ', '" ',
  'etc. the', 'e.g. ', 'Dr. Smith', '3.5', '12', ' 12 ', '. 12 ', '. (', ' a', ' foo', ' The', '。', '？', '中文', 'é', 'e\u0301', '😀', '👨‍👩‍👧', '🇫🇷', '🇩🇪🇫', '\u200d', '\ud800', ',', ';',
];
const text = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 120 }).map((parts) => parts.join(''));
const whole = (segmenter: Intl.Segmenter, s: string): number[] => [...segmenter.segment(s)].map((seg) => seg.index).filter((i) => i > 0);

for (const granularity of ['sentence', 'grapheme'] as const) {
  test(`${granularity} boundaries found window by window are those of the whole text`, () => {
    const segmenter = new Intl.Segmenter('en', { granularity });
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 40 }), (s, window) => {
        assert.deepEqual([...segmentBoundaries(segmenter, s, 0, s.length, window)], whole(segmenter, s));
      }),
      { numRuns: 1500, seed: 15 },
    );
  });
}

test('a range inside a string, and sentences across windows, with abbreviations merged across them', () => {
  const s = 'Intro. ' + 'See Fig. 2 for the data. Dr. Smith agreed. '.repeat(400) + 'End';
  const spans = [...sentenceStream(s, 7, s.length)]; // 17,000 characters: several 4,096-character windows
  assert.equal(spans.length, 801);
  assert.equal(s.slice(spans[0].start, spans[0].end), 'See Fig. 2 for the data.');
  assert.equal(s.slice(spans[1].start, spans[1].end), 'Dr. Smith agreed.');
  assert.equal(s.slice(spans[800].start, spans[800].end), 'End');
});
