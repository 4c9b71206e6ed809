import { test } from 'node:test';
import assert from 'node:assert/strict';
import { similarity, similarityMatrix, pairwiseSimilarity } from '../../src/encoders/similarity.ts';
import { matrixFromRows } from '../../src/matrix.ts';
import { isBiencoderError } from '../../src/errors.ts';

const a = [1, 2, 2];
const b = [2, 0, 1];

test('similarity computes dot, cosine, negative l2 and negative manhattan', () => {
  assert.equal(similarity(a, b, 'dot'), 4);
  assert.ok(Math.abs(similarity(a, b, 'cosine') - 4 / (3 * Math.sqrt(5))) < 1e-12);
  assert.ok(Math.abs(similarity(a, b, 'l2') + Math.sqrt(1 + 4 + 1)) < 1e-12);
  assert.equal(similarity(a, b, 'manhattan'), -(1 + 2 + 1));
  assert.equal(similarity(a, a, 'l2'), -0);
});

test('cosine of a zero vector is 0, not NaN', () => {
  assert.equal(similarity([0, 0, 0], b, 'cosine'), 0);
});

test('similarity rejects mismatched dims and unknown metrics', () => {
  assert.throws(() => similarity([1, 2], [1, 2, 3]), (e) => isBiencoderError(e, 'DIMENSION_MISMATCH'));
  // @ts-expect-error an invalid metric on purpose
  assert.throws(() => similarity(a, b, 'hamming'), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});

test('similarityMatrix and pairwiseSimilarity agree with the scalar function', () => {
  const A = matrixFromRows([a, b, [0.5, -1, 3]]);
  const B = matrixFromRows([b, [1, 1, 1]]);
  for (const metric of ['dot', 'cosine', 'l2', 'manhattan'] as const) {
    const m = similarityMatrix(A, B, metric);
    assert.equal(m.rows, 3);
    assert.equal(m.dims, 2);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        const expected = similarity(A.data.subarray(i * 3, i * 3 + 3), B.data.subarray(j * 3, j * 3 + 3), metric);
        assert.ok(Math.abs(m.data[i * 2 + j] - expected) < 1e-5, `${metric} ${i},${j}`);
      }
    }
  }
  const p = pairwiseSimilarity(matrixFromRows([a, b]), matrixFromRows([b, b]), 'dot');
  assert.deepEqual(Array.from(p), [4, 5]);
  assert.throws(() => pairwiseSimilarity(matrixFromRows([a]), matrixFromRows([a, b])), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});
