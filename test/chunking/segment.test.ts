import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  codePointBoundaries,
  graphemeBoundaries,
  isBlank,
  paragraphStream,
  sentenceStream,
  trimSpan,
  wordBoundaries,
  words,
  type Span,
} from '../../src/chunking/segment.ts';

const texts = (text: string, spans: Span[]): string[] => spans.map((s) => text.slice(s.start, s.end));

test('trimSpan and isBlank treat control characters as whitespace', () => {
  assert.deepEqual(trimSpan('  ab \n', 0, 6), { start: 2, end: 4 });
  assert.equal(trimSpan(' \t\u0001\u007f\u3000 ', 0, 6), undefined);
  assert.ok(isBlank(''));
  assert.ok(isBlank(' \n\u0000\u00a0'));
  assert.ok(!isBlank(' x '));
});

test('paragraphs are separated by blank lines (whitespace-only lines included), trimmed', () => {
  const text = '  First para\nstill first.\n\nSecond.\r\n \t\r\nThird.\n\n\n\n  ';
  const spans = [...paragraphStream(text)];
  assert.deepEqual(texts(text, spans), ['First para\nstill first.', 'Second.', 'Third.']);
  for (const s of spans) assert.equal(text.slice(s.start, s.end), text.slice(s.start, s.end).trim());
  assert.deepEqual([...paragraphStream('   \n\n  ')], []);
});

test('sentences: Intl.Segmenter with offsets into the original string, and abbreviations merged', () => {
  const text = 'xx Dr. Smith met Mr. Jones at 3.5 p.m. today. Smith et al. Showed it (Fig. 2). Was it? Yes!  ';
  const spans = [...sentenceStream(text, 3, text.length)];
  assert.deepEqual(texts(text, spans), ['Dr. Smith met Mr. Jones at 3.5 p.m. today.', 'Smith et al. Showed it (Fig. 2).', 'Was it?', 'Yes!']);
  const cjk = '今日は晴れです。明日は雨でしょう。';
  assert.deepEqual(texts(cjk, [...sentenceStream(cjk, 0, cjk.length)]), ['今日は晴れです。', '明日は雨でしょう。']);
});

test('an abbreviation at the end of a line does not merge across the line break', () => {
  const text = 'See Fig.\nNext line.';
  assert.deepEqual(texts(text, [...sentenceStream(text, 0, text.length)]), ['See Fig.', 'Next line.']);
});

test('words are whitespace-separated runs', () => {
  const text = ' alpha  beta,\tgamma\u0001delta ';
  assert.deepEqual(texts(text, words(text, 0, text.length)), ['alpha', 'beta,', 'gamma', 'delta']);
});

test('grapheme and code point boundaries never split a surrogate pair', () => {
  const text = 'a😀b👨‍👩‍👧\uD800c';
  const graphemes = graphemeBoundaries(text, 0, text.length);
  assert.deepEqual(texts(text, [0, ...graphemes].map((s, i, all) => ({ start: s, end: all[i + 1] ?? text.length }))), ['a', '😀', 'b', '👨‍👩‍👧', '\uD800', 'c']);
  const cps = codePointBoundaries(text, 0, text.length);
  for (const b of cps) assert.ok(!(text.charCodeAt(b) >= 0xdc00 && text.charCodeAt(b) <= 0xdfff && text.charCodeAt(b - 1) >= 0xd800 && text.charCodeAt(b - 1) <= 0xdbff));
  assert.equal(cps.length, [...text].length - 1);
});

test('word boundaries find CJK dictionary words and URL punctuation', () => {
  const text = '我们今天去北京大学';
  const bounds = wordBoundaries(text, 0, text.length);
  assert.ok(bounds.length >= 2 && bounds.length < text.length - 1, `dictionary words, not characters: ${bounds.join(',')}`);
  const url = 'https://example.com/a/b';
  assert.ok(wordBoundaries(url, 0, url.length).includes(url.indexOf(':')));
});
