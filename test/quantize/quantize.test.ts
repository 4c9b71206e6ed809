import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryBytes, binaryScan, packSigns, queryTables } from '../../src/quantize/binary.ts';
import { calibrateI8Scale, quantizeI8 } from '../../src/quantize/scalar-i8.ts';
import { rescore, DEFAULT_RESCORE } from '../../src/quantize/rescore.ts';
import { VectorStore } from '../../src/index/vector-store.ts';
import { randomMatrix, sequentialKeys } from '../index/data.ts';

test('i8: per-row scaling uses the full range; global scaling keeps ratios and clamps', () => {
  const rows = Float32Array.from([0.5, -0.25, 0.1, 0, 0, 0, 2, 4, -8]);
  const q = quantizeI8(rows, 3, 3, { mode: 'row', scale: 1 });
  assert.deepEqual(Array.from(q), [127, -63, 25, 0, 0, 0, 32, 64, -127]);
  const scale = calibrateI8Scale(rows, 6); // the largest |x| of the first two rows is 0.5
  assert.equal(scale, 254);
  const g = quantizeI8(rows, 3, 3, { mode: 'global', scale });
  assert.deepEqual(Array.from(g.subarray(0, 6)), [127, -63, 25, 0, 0, 0]);
  assert.deepEqual(Array.from(g.subarray(6)), [127, 127, -127], 'clamped');
  assert.equal(calibrateI8Scale(new Float32Array(4)), 1);
});

test('b1: sign bits packed most significant first; lookup tables equal q . sign(x)', () => {
  const dims = 11;
  assert.equal(binaryBytes(dims), 2);
  const m = randomMatrix(50, dims, 3);
  const codes = new Uint8Array(50 * 2);
  packSigns(m.data, 50, dims, codes);
  assert.equal((codes[0] >> 7) & 1, m.data[0] > 0 ? 1 : 0);
  const q = randomMatrix(1, dims, 4).data;
  const lut = queryTables(q, 0, dims);
  for (let r = 0; r < 50; r++) {
    let direct = 0;
    for (let j = 0; j < dims; j++) direct += q[j] * (m.data[r * dims + j] > 0 ? 1 : -1);
    const viaLut = lut[codes[r * 2]] + lut[256 + codes[r * 2 + 1]];
    assert.ok(Math.abs(direct - viaLut) < 1e-9, `row ${r}`);
  }
  // The scan returns the rows of the highest asymmetric scores.
  const [top] = binaryScan(codes, 50, dims, q, 1, 5);
  const scores = Array.from({ length: 50 }, (_, r) => lut[codes[r * 2]] + lut[256 + codes[r * 2 + 1]]);
  const best = scores.map((s, r) => [s, r]).sort((a, b) => b[0] - a[0]).slice(0, 5).map((x) => x[1]);
  assert.deepEqual(new Set(top), new Set(best));
  const [sub] = binaryScan(codes, 50, dims, q, 1, 3, Int32Array.from([1, 2, 3, 4]));
  assert.ok(Array.from(sub).every((r) => r >= 1 && r <= 4) && sub.length === 3);
});

test('rescore: exact scores from the f32 store pick the best k of the candidates', () => {
  const m = randomMatrix(100, 8, 5);
  const store = new VectorStore(8, 'dot');
  store.put(sequentialKeys(100), m.data);
  const q = randomMatrix(1, 8, 6).data;
  const cands = Int32Array.from([3, 50, 7, 99, 20]);
  const r = rescore(store, q, 0, cands, cands.length, 3);
  const exact = Array.from(cands, (row) => {
    let s = 0;
    for (let j = 0; j < 8; j++) s += q[j] * m.data[row * 8 + j];
    return [s, row];
  }).sort((a, b) => b[0] - a[0]);
  assert.deepEqual(Array.from(r.rows), exact.slice(0, 3).map((x) => x[1]));
  assert.ok(Math.abs(r.scores[0] - exact[0][0]) < 1e-9);
  assert.deepEqual(DEFAULT_RESCORE, { f32: 1, f16: 1, i8: 4, b1: 32 });
});
