import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchingEncoder } from '../../src/server/micro-batcher.ts';
import { isBiencoderError } from '../../src/errors.ts';
import type { EncodeOptions, Embeddings, Encoder } from '../../src/encoders/encoder.ts';
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
    // The first call finds the model idle and goes alone; the 39 others arrive while it runs and go
    // in batches of at most 16: 16, 16, 7.
    assert.equal(counting.calls, 4);
    assert.deepEqual(batching.stats, { batches: 4, texts: 40 });
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
    const [, a, b] = await Promise.all([
      batching.encode(['the model is idle: this goes alone'], { role: 'query' }),
      batching.encode(['short one', long, 'short two'], { role: 'query' }),
      batching.encode([long, 'another'], { role: 'query' }),
    ]);
    assert.equal(counting.calls, 2);
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

  test('while maxInFlight batches run, arriving calls wait and then go as one batch', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    class Slow extends CountingEncoder {
      override async encode(texts: readonly string[], options?: EncodeOptions): Promise<Embeddings> {
        if (this.calls === 0) await gate;
        return super.encode(texts, options);
      }
    }
    const slow = new Slow(base);
    const batching = new BatchingEncoder(slow, { windowMs: 1, maxBatch: 32, maxInFlight: 1 });
    const first = batching.encode(['the first query'], { role: 'query' });
    await new Promise((resolve) => setTimeout(resolve, 20)); // its window passed: it is running (held)
    const later = queries.slice(0, 10).map((q) => batching.encode([q], { role: 'query' }));
    await new Promise((resolve) => setTimeout(resolve, 20)); // their window passed too, but no slot is free
    assert.equal(batching.stats.batches, 1);
    release();
    await Promise.all([first, ...later]);
    assert.deepEqual(batching.stats, { batches: 2, texts: 11 });
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
    // 'fine text' went alone (the model was idle); the shared batch of the other two failed, then each was retried alone.
    assert.equal(counting.calls, 4);
  });

  test('a call aborted while it waits leaves the batch', async () => {
    const counting = new CountingEncoder(base);
    const batching = new BatchingEncoder(counting, { windowMs: 30, maxBatch: 32 });
    const controller = new AbortController();
    const busy = batching.encode(['keeps the model busy'], { role: 'query' }); // goes at once
    const leaving = batching.encode(['leaving early'], { role: 'query', signal: controller.signal });
    const staying = batching.encode(['staying'], { role: 'query' });
    controller.abort();
    await assert.rejects(leaving, (e) => isBiencoderError(e, 'ABORTED'));
    assert.equal((await staying).rows, 1);
    await busy;
    assert.equal(counting.queries, 2, 'the aborted text was not embedded');
    assert.equal(counting.calls, 2);
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
