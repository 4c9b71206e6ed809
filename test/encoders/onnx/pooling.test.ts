import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolInto, type PoolingMode } from '../../../src/encoders/onnx/pooling.ts';

// batch 2, seqLen 3, hidden 2; sequence 0 has 3 real tokens, sequence 1 has 2 (one pad).
const states = {
  data: new Float32Array([
    1, 2, 3, 4, 5, 0, // seq 0: t0=(1,2) t1=(3,4) t2=(5,0)
    -1, 6, 7, -2, 99, 99, // seq 1: t0=(-1,6) t1=(7,-2) pad=(99,99)
  ]),
  batch: 2,
  seqLen: 3,
  hidden: 2,
};
const lengths = [3, 2];

function pool(mode: PoolingMode, from?: number[]): number[][] {
  const out = new Float32Array(4);
  // Rows written in reverse order to check rowOf.
  poolInto(mode, states, lengths, from, out, [1, 0]);
  return [Array.from(out.subarray(2, 4)), Array.from(out.subarray(0, 2))];
}

test('mean pooling averages real tokens only', () => {
  assert.deepEqual(pool('mean'), [[3, 2], [3, 2]]);
});

test('cls, lasttoken and max pooling', () => {
  assert.deepEqual(pool('cls'), [[1, 2], [-1, 6]]);
  assert.deepEqual(pool('lasttoken'), [[5, 0], [7, -2]]);
  assert.deepEqual(pool('max'), [[5, 4], [7, 6]]);
});

test('mean_sqrt_len and weightedmean', () => {
  const [s0, s1] = pool('mean_sqrt_len');
  assert.ok(Math.abs(s0[0] - 9 / Math.sqrt(3)) < 1e-6 && Math.abs(s0[1] - 6 / Math.sqrt(3)) < 1e-6);
  assert.ok(Math.abs(s1[0] - 6 / Math.sqrt(2)) < 1e-6);
  const [w0, w1] = pool('weightedmean');
  // weights 1,2,3: (1*1+2*3+3*5)/6 = 22/6, (1*2+2*4+3*0)/6 = 10/6
  assert.ok(Math.abs(w0[0] - 22 / 6) < 1e-6 && Math.abs(w0[1] - 10 / 6) < 1e-6);
  assert.ok(Math.abs(w1[0] - 13 / 3) < 1e-6 && Math.abs(w1[1] - 2 / 3) < 1e-6);
});

test('a start offset leaves prompt tokens out of mean and max', () => {
  assert.deepEqual(pool('mean', [1, 1]), [[4, 2], [7, -2]]);
  assert.deepEqual(pool('max', [1, 1]), [[5, 4], [7, -2]]);
  // cls ignores it, as in sentence-transformers
  assert.deepEqual(pool('cls', [1, 1]), [[1, 2], [-1, 6]]);
});
