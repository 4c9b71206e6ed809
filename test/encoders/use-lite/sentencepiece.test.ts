import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { locateUseLiteFiles } from '../../../src/encoders/use-lite/model-files.ts';
import { SentencePieceTokenizer } from '../../../src/encoders/use-lite/sentencepiece.ts';
import type { SentencePieceVocabulary } from '../../../src/encoders/use-lite/sentencepiece.ts';
import { VARIED_SENTENCES } from '../../fixtures/sentences.ts';
import { rng } from '../../helpers/prng.ts';

interface ReferenceTokenizer {
  encode(text: string): number[];
}

/**
 * The reference: the Tokenizer class of @energetic-ai/embeddings (a port of the tfjs-models
 * Universal Sentence Encoder tokenizer). The package does not export it, so its code is taken
 * verbatim from the bundle, between the `// lib/stringToChars.ts` and `// lib/index.ts` markers
 * that esbuild writes (stringToChars, Trie, processInput and Tokenizer), and evaluated here.
 */
function loadReferenceTokenizer(vocabulary: SentencePieceVocabulary): ReferenceTokenizer {
  const require = createRequire(import.meta.url);
  const bundle = readFileSync(require.resolve('@energetic-ai/embeddings'), 'utf8');
  const start = bundle.indexOf('// lib/stringToChars.ts');
  const end = bundle.indexOf('// lib/index.ts', start);
  assert.ok(start >= 0 && end > start, 'the tokenizer code was not found in @energetic-ai/embeddings/dist/index.js');
  const code = bundle.slice(start, end);
  assert.match(code, /var Tokenizer = class/);
  const Tokenizer = new Function(`${code}\nreturn Tokenizer;`)() as new (v: SentencePieceVocabulary) => ReferenceTokenizer;
  return new Tokenizer(vocabulary);
}


const SPECIAL: string[] = [
  '',
  'a',
  'x',
  ' ',
  '   ',
  '▁',
  '\t',
  '\n',
  'é',
  '中',
  '😀',
  '\u{10FFFD}',
  'a  b',
  '  leading',
  'trailing  ',
  'many          spaces',
  'tab\there\tand\tthere',
  'new\nlines\n\nand\r\nreturns',
  'non\u00a0breaking\u00a0space',
  'ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ １２３',
  'ﬁnance ﬂow ligatures',
  'e\u0301 composed by NFKC, and A\u030a too',
  'Ⅻ ① ㍿ ㎏ ™',
  // Pieces with the vocabulary's odd scores: ':' (null), ':30' (+30), ':00' (0), '”5' (listed three times).
  'Meet at 10:30 or 11:00: bring snacks :) :-) :(',
  'time: 12:30:30, ratio 1:1, http://a.b/c://d',
  '”5 ”5”5 “”5',
  '::::::::',
  // Characters missing from the vocabulary, alone and in runs (merged into one unknown id).
  '\u{1F9EC}\u{1F9EC}\u{1F9EC} DNA',
  'ꙮꙮꙮ ꙮ',
  '𓀀𓀁𓀂 hieroglyphs',
  'Family: 👨‍👩‍👧‍👦, flags: 🇫🇷🇯🇵',
  'lone surrogate \uD800 here and \uDC00 there',
  'NUL\u0000inside and \u0007 bell',
  '\uFFFD replacement \uFFFD\uFFFD',
  'Ελληνικά, русский, العربية, עברית, हिन्दी, ไทย, 한국어, 日本語, 中文',
  'x'.repeat(300),
  'ab'.repeat(150),
  'supercalifragilisticexpialidocious '.repeat(20),
];

describe('SentencePiece tokenizer vs the @energetic-ai/embeddings reference', () => {
  let vocabulary: SentencePieceVocabulary;
  let ours: SentencePieceTokenizer;
  let reference: ReferenceTokenizer;

  before(() => {
    const { dir } = locateUseLiteFiles();
    vocabulary = JSON.parse(readFileSync(path.join(dir, 'vocab.json'), 'utf8')) as SentencePieceVocabulary;
    ours = new SentencePieceTokenizer(vocabulary);
    reference = loadReferenceTokenizer(vocabulary);
  });

  function check(texts: readonly string[]): void {
    for (const text of texts) {
      assert.deepEqual(Array.from(ours.encode(text)), reference.encode(text), `ids differ for ${JSON.stringify(text.slice(0, 80))}`);
    }
  }

  test('the fixture sentences', () => check(VARIED_SENTENCES));

  test('edge cases: empty, single characters, whitespace, NFKC, odd vocabulary entries, unknown characters', () => check(SPECIAL));

  test('scifact abstracts', (t) => {
    let lines: string[];
    try {
      lines = readFileSync('/work/shared/data/scifact/corpus.jsonl', 'utf8').split('\n').filter(Boolean).slice(0, 50);
    } catch {
      t.skip('scifact corpus not available');
      return;
    }
    check(lines.map((l) => {
      const d = JSON.parse(l) as { title: string; text: string };
      return `${d.title} ${d.text}`;
    }));
  });

  test('a very long text (5,000 characters)', () => {
    const text = VARIED_SENTENCES.join(' ').slice(0, 5000);
    assert.equal(text.length, 5000);
    check([text]);
  });

  test('2,000 random strings of vocabulary pieces, random code points and whitespace', () => {
    const next = rng(12345);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
    const ranges: [number, number][] = [
      [0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x6ff], [0x900, 0x97f],
      [0x3040, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xff00, 0xffef], [0x1f300, 0x1faff], [0x10000, 0x1342f],
    ];
    const texts: string[] = [];
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const parts = 1 + Math.floor(next() * 12);
      for (let p = 0; p < parts; p++) {
        const r = next();
        if (r < 0.55) {
          s += pick(vocabulary)[0].replaceAll('▁', ' ');
        } else if (r < 0.85) {
          const [lo, hi] = pick(ranges);
          s += String.fromCodePoint(lo + Math.floor(next() * (hi - lo + 1)));
        } else {
          s += pick([' ', '  ', '\t', '\n', ' \u00a0', '▁']);
        }
      }
      texts.push(s);
    }
    check(texts);
  });

  test('runs in linear time: 200,000 characters well under a second', () => {
    const text = VARIED_SENTENCES.join(' ').repeat(20).slice(0, 200_000);
    const t0 = performance.now();
    const ids = ours.encode(text);
    const ms = performance.now() - t0;
    assert.ok(ids.length > 30_000);
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });

  test('count() is the number of ids, and an empty text has none', () => {
    assert.equal(ours.encode('').length, 0);
    assert.equal(ours.count('Hello world.'), ours.encode('Hello world.').length);
  });
});
