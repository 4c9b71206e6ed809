import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchingEncoder } from '../../src/server/micro-batcher.ts';
import { isBiencoderError } from '../../src/errors.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { CountingEncoder, tinyEncoder } from '../collection/helpers.ts';

const tmp = tempDir('micro-batch');
let base: Encoder;

before(async () => {
  base = await tinyEncoder(tmp.dir);
});
after(async () => {
  await base.close();
  tmp.cleanup();
});

const queries = Array.from({ length: 40 }, (_, i) => `question number ${i} about ${['cells', 'genes', 'proteins', 'viruses'][i % 4]}`);

describe('BatchingEncoder', () => {
  test('N concurrent calls make fewer encode() calls and give the vectors of encoding each text alone', async () => {
    const counting = new CountingEncoder(base);
    const batching = new BatchingEncoder(counting, { windowMs: 20, maxBatch: 16 });
    const results = await Promise.all(queries.map((q) => batching.encode([q], { role: 'query' })));
    // 40 single-text calls within one window: batches of at most 16 -> 3 calls.
    assert.equal(counting.calls, 3);
    assert.deepEqual(batching.stats, { batches: 3, texts: 40 });
    for (let i = 0; i < queries.length; i++) {
      const alone = await base.encode([queries[i]], { role: 'query' });
      assert.equal(results[i].rows, 1);
      assert.equal(results[i].dims, base.dims);
      assert.deepEqual(Array.from(results[i].data), Array.from(alone.data), `vector of query ${i}`);
    }
  });

  test('multi-text calls keep their order and their own truncation indices', async () => {
    const counting = new CountingEncoder(base);
    const batching = new BatchingEncoder(counting, { windowMs: 20, maxBatch: 64 });
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const [a, b] = await Promise.all([
      batching.encode(['short one', long, 'short two'], { role: 'query' }),
      batching.encode([long, 'another'], { role: 'query' }),
    ]);
    assert.equal(counting.calls, 1);
    assert.deepEqual(a.truncatedIndices, [1]);
    assert.equal(a.truncated, 1);
    assert.deepEqual(b.truncatedIndices, [0]);
    const direct = await base.encode(['short two'], { role: 'query' });
    assert.deepEqual(Array.from(a.data.subarray(2 * a.dims)), Array.from(direct.data));
  });

  test('a call that fills a batch goes straight through; roles are batched separately', async () => {
    const counting = new CountingEncoder(base);
    const batching = new BatchingEncoder(counting, { windowMs: 20, maxBatch: 4 });
    await batching.encode(queries.slice(0, 5), { role: 'document' });
    assert.equal(counting.calls, 1);
    await Promise.all([batching.encode(['q1'], { role: 'query' }), batching.encode(['d1'], { role: 'document' })]);
    assert.equal(counting.calls, 3);
    assert.equal(counting.queries, 1);
  });

  test('a bad call is refused alone; a runtime failure reaches only the call that caused it', async () => {
    const counting = new CountingEncoder(base);
    const batching = new BatchingEncoder(counting, { windowMs: 20, maxBatch: 32 });
    const good = batching.encode(['fine text'], { role: 'query' });
    await assert.rejects(batching.encode(['   '], { role: 'query' }), (e) => isBiencoderError(e, 'EMPTY_INPUT'));
    counting.failOn = 'POISON';
    const poisoned = batching.encode(['POISON pill'], { role: 'query' });
    const other = batching.encode(['other fine text'], { role: 'query' });
    await assert.rejects(poisoned, /POISON/);
    assert.equal((await good).rows, 1);
    assert.equal((await other).rows, 1);
    // One shared batch failed, then each of its 3 calls was retried alone.
    assert.equal(counting.calls, 4);
  });

  test('a call aborted while it waits leaves the batch', async () => {
    const counting = new CountingEncoder(base);
    const batching = new BatchingEncoder(counting, { windowMs: 30, maxBatch: 32 });
    const controller = new AbortController();
    const leaving = batching.encode(['leaving early'], { role: 'query', signal: controller.signal });
    const staying = batching.encode(['staying'], { role: 'query' });
    controller.abort();
    await assert.rejects(leaving, (e) => isBiencoderError(e, 'ABORTED'));
    assert.equal((await staying).rows, 1);
    assert.equal(counting.queries, 1, 'only the staying text was embedded');
  });

  test('close() sends what waits; later calls fail with CLOSED; options are validated', async () => {
    const batching = new BatchingEncoder(base, { windowMs: 1000, maxBatch: 32 });
    const waiting = batching.encode(['waits for the window'], { role: 'query' });
    await batching.close();
    assert.equal((await waiting).rows, 1);
    await assert.rejects(batching.encode(['late']), (e) => isBiencoderError(e, 'CLOSED'));
    assert.throws(() => new BatchingEncoder(base, { maxBatch: 0 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => new BatchingEncoder(base, { windowMs: -1 }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  });
});
