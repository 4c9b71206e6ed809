import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isBiencoderError } from '../../../src/errors.ts';
import { loadUseLite } from '../../../src/encoders/use-lite/index.ts';
import type { UseLiteEncoder } from '../../../src/encoders/use-lite/index.ts';
import { tempDir } from '../../helpers/synthetic.ts';
import { maxAbsDiff, rowCosine } from '../../helpers/vector-math.ts';
import { variedTexts } from './varied-texts.ts';

const DIMS = 512;

let onnxRoute: UseLiteEncoder;
let tfjsRoute: UseLiteEncoder;
let cacheDir: string;
let cleanup: () => void;
before(async () => {
  const tmp = tempDir('use-lite-onnx-route');
  cacheDir = tmp.dir;
  cleanup = tmp.cleanup;
  [onnxRoute, tfjsRoute] = await Promise.all([
    loadUseLite({ route: 'onnx', cacheDir }),
    loadUseLite({ route: 'tfjs' }),
  ]);
});
after(async () => {
  await Promise.all([onnxRoute?.close(), tfjsRoute?.close()]);
  cleanup?.();
});

describe('use-lite ONNX route', () => {
  test('gives the TF.js route\'s vectors: per-row cosine >= 0.9999 (max abs diff <= 1e-5) on >= 500 varied texts', async (t) => {
    const texts = variedTexts((s) => onnxRoute.countTokens([s])[0]);
    assert.ok(texts.length >= 500, `${texts.length} texts`);
    const counts = onnxRoute.countTokens(texts);
    assert.ok(counts.includes(1) && counts.includes(127) && counts.includes(128) && counts.includes(129), 'edge lengths present');
    assert.ok(counts.filter((c) => c > 128).length >= 50, 'truncated texts present');
    const [ours, theirs] = [await onnxRoute.encode(texts), await tfjsRoute.encode(texts)];
    assert.equal(ours.rows, texts.length);
    assert.equal(ours.truncated, theirs.truncated);
    assert.deepEqual(ours.truncatedIndices, theirs.truncatedIndices);
    let minCosine = 1;
    let worstRow = -1;
    for (let i = 0; i < texts.length; i++) {
      const c = rowCosine(ours.data, theirs.data, DIMS, i);
      if (c < minCosine) {
        minCosine = c;
        worstRow = i;
      }
    }
    const diff = maxAbsDiff(ours.data, theirs.data);
    t.diagnostic(`${texts.length} texts, min row cosine ${minCosine.toFixed(9)} (row ${worstRow}), max abs diff ${diff.toExponential(2)}`);
    assert.ok(minCosine >= 0.9999, `row ${worstRow} cosine ${minCosine}: ${JSON.stringify(texts[worstRow]?.slice(0, 60))}`);
    assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
  });

  test('describes itself like the TF.js route (same modelId, revision, dims): collections stay compatible', () => {
    for (const key of ['modelId', 'revision', 'packageName', 'dims', 'normalized', 'maxTokens', 'similarity'] as const) {
      assert.deepEqual(onnxRoute[key], tfjsRoute[key], key);
    }
    assert.equal(onnxRoute.route, 'onnx');
    assert.equal(tfjsRoute.route, 'tfjs');
    assert.equal(onnxRoute.onnxFile?.source, 'translated');
    assert.match(onnxRoute.onnxFile?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(tfjsRoute.onnxFile, undefined);
  });

  test('the event loop stays free while a large job runs in the workers', async () => {
    const texts = variedTexts((s) => onnxRoute.countTokens([s])[0]).slice(0, 300);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    await onnxRoute.encode(texts, { batchSize: 64 });
    const ms = performance.now() - started;
    clearInterval(timer);
    // A 5 ms timer on a free loop fires about ms/5 times; a blocked loop would fire ~once per batch.
    assert.ok(ticks >= Math.min(10, ms / 20), `${ticks} ticks in ${ms.toFixed(0)} ms`);
  });

  test('batches run on every worker', async () => {
    const own = await loadUseLite({ route: 'onnx', threads: 2, cacheDir });
    try {
      assert.equal(own.onnxFile?.source, 'cache');
      await own.encode(variedTexts((s) => own.countTokens([s])[0]).slice(0, 64), { batchSize: 8 });
      const stats = await own.runtimeStats();
      assert.equal(stats.length, 2);
      for (const s of stats) {
        assert.equal(s.route, 'onnx');
        if (s.route === 'onnx') assert.ok(s.runs >= 1 && s.rows >= 1, JSON.stringify(s));
      }
      const rows = stats.reduce((n, s) => n + (s.route === 'onnx' ? s.rows : 0), 0);
      assert.equal(rows, 64);
    } finally {
      await own.close();
    }
  });

  test('a batch larger than one model call (1,024 padded positions) runs in several calls, each text as if alone', async () => {
    const own = await loadUseLite({ route: 'onnx', threads: 1, cacheDir });
    try {
      const long = 'The committee reviewed every clause of the agreement before the vote. '.repeat(20);
      // 20 texts: 12 of 128 pieces (after truncation) and 8 short ones, in one batch of 20.
      const texts = [...Array.from({ length: 12 }, (_, i) => `${i} ${long}`), ...Array.from({ length: 8 }, (_, i) => `short text number ${i}`)];
      const together = await own.encode(texts, { batchSize: 20 });
      const stats = await own.runtimeStats();
      const runs = stats.reduce((n, s) => n + (s.route === 'onnx' ? s.runs : 0), 0);
      // 12 x 128 positions need at least two calls of <= 1,024; the 8 short texts fit in one more.
      assert.ok(runs >= 3, `model calls: ${runs}`);
      for (let i = 0; i < texts.length; i++) {
        const alone = await own.encode([texts[i]]);
        assert.ok(maxAbsDiff(alone.data, together.data.subarray(i * DIMS, (i + 1) * DIMS)) <= 1e-5, `text ${i}`);
      }
    } finally {
      await own.close();
    }
  });

  test('bad route or cacheDir: INVALID_ARGUMENT', async () => {
    await assert.rejects(loadUseLite({ route: 'gpu' as never }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    await assert.rejects(loadUseLite({ route: 'onnx', cacheDir: '' }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  });
});
