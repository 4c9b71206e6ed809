import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareTexts } from '../../src/encoders/text-input.ts';
import { isBiencoderError } from '../../src/errors.ts';

test('plain texts pass unchanged', () => {
  assert.deepEqual(prepareTexts(['hello', 'wörld 世界 😀', 'tab\tand\nnewline']), ['hello', 'wörld 世界 😀', 'tab\tand\nnewline']);
});

test('a non-array or a non-string element is INVALID_ARGUMENT naming the position', () => {
  assert.throws(() => prepareTexts('hello'), (e) => isBiencoderError(e, 'INVALID_ARGUMENT') && /array/.test(e.message));
  assert.throws(
    () => prepareTexts(['ok', 42]),
    (e) => isBiencoderError(e, 'INVALID_ARGUMENT') && /text 1/.test(e.message) && e.details?.index === 1,
  );
  assert.throws(() => prepareTexts(['ok', null]), (e) => isBiencoderError(e, 'INVALID_ARGUMENT') && /null/.test(e.message));
});

test('empty and whitespace-only strings are EMPTY_INPUT', () => {
  assert.throws(() => prepareTexts(['']), (e) => isBiencoderError(e, 'EMPTY_INPUT') && e.details?.index === 0);
  assert.throws(() => prepareTexts(['a', ' \n\t ']), (e) => isBiencoderError(e, 'EMPTY_INPUT') && e.details?.index === 1);
  assert.throws(() => prepareTexts(['\u0000\u0000']), (e) => isBiencoderError(e, 'EMPTY_INPUT'));
});

test('lone surrogates become U+FFFD and control characters a space', () => {
  assert.deepEqual(prepareTexts(['a\uD800b', 'x\uDC00']), ['a\uFFFDb', 'x\uFFFD']);
  assert.deepEqual(prepareTexts(['nul\u0000byte', 'bell\u0007']), ['nul byte', 'bell ']);
  // A valid surrogate pair is kept.
  assert.deepEqual(prepareTexts(['\uD83D\uDE00']), ['😀']);
});

test('the input array is not modified', () => {
  const input = ['a\u0000'];
  prepareTexts(input);
  assert.equal(input[0], 'a\u0000');
});
