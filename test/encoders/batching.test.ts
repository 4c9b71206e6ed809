import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isBiencoderError } from '../../src/errors.ts';
import { checkPositiveInteger, longestFirst, nextBatchSize } from '../../src/encoders/batching.ts';

describe('batching helpers', () => {
  test('longestFirst: longest first, ties in input order', () => {
    const seqs = [[1, 2], [1, 2, 3], [1], [4, 5, 6], [7, 8]].map((ids) => ({ ids }));
    assert.deepEqual(longestFirst(seqs), [1, 3, 0, 4, 2]);
  });

  test('nextBatchSize: the smallest of the texts left, maxTexts and maxPositions / longest, at least one', () => {
    assert.equal(nextBatchSize(256, 100, 32, 2048), 8);
    assert.equal(nextBatchSize(10, 100, 32, 2048), 32);
    assert.equal(nextBatchSize(10, 5, 32, 2048), 5);
    assert.equal(nextBatchSize(4096, 100, 32, 2048), 1, 'a text longer than the cap still runs, alone');
    assert.equal(nextBatchSize(128, 20, 20, 1024), 8);
    assert.equal(nextBatchSize(0, 3, 32, 2048), 3, 'a zero length does not divide by zero');
  });

  test('checkPositiveInteger: positive integers only, the option named in the error', () => {
    assert.equal(checkPositiveInteger(4, 'batchSize'), 4);
    for (const bad of [0, -1, 2.5, Number.NaN, '4', undefined]) {
      assert.throws(() => checkPositiveInteger(bad, 'batchSize'), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT') && e.message.startsWith('batchSize must be a positive integer'));
    }
  });
});
