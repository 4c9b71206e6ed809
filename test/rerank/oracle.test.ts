/**
 * Oracle: transformers.js AutoTokenizer + AutoModelForSequenceClassification on the same synthetic
 * cross-encoder. A small max length (64) makes the scifact abstracts truncate.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCrossEncoder, type CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { VARIED_SENTENCES } from '../fixtures/sentences.ts';
import { scifactDocs, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';

type Tensorish = { data: ArrayLike<number | bigint>; dims: number[] };
type TjsTokenizer = (text: string[], options: { text_pair: string[]; padding: boolean; truncation: boolean }) => Record<string, Tensorish>;
type TjsModel = (inputs: Record<string, unknown>) => Promise<{ logits: { data: Float32Array; dims: number[] } }>;

const MAX_LENGTH = 64;
const tmp = tempDir('rerank-oracle');
after(() => tmp.cleanup());

const DOCS = [...VARIED_SENTENCES, ...scifactDocs(40)];
/** 260 pairs: varied queries (two of them longer than the whole limit) against short and long documents. */
const PAIRS: Array<[string, string]> = Array.from({ length: 260 }, (_, i) => {
  const query = i % 97 === 5 ? DOCS[DOCS.length - 1 - (i % 3)] : VARIED_SENTENCES[(i * 13) % VARIED_SENTENCES.length];
  return [query, DOCS[(i * 7) % DOCS.length]];
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('oracle: transformers.js AutoModelForSequenceClassification, 1 label', () => {
  let dir: string;
  let tokenizer: TjsTokenizer;
  let model: TjsModel;
  let Tensor: new (type: string, data: BigInt64Array, dims: number[]) => unknown;
  let theirs: Float32Array;
  before(async () => {
    dir = await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: MAX_LENGTH, seed: 3 });
    const tjs = await import('@huggingface/transformers');
    tjs.env.allowRemoteModels = false;
    tjs.env.useFSCache = false;
    tokenizer = (await tjs.AutoTokenizer.from_pretrained(dir)) as unknown as TjsTokenizer;
    model = (await tjs.AutoModelForSequenceClassification.from_pretrained(dir, { dtype: 'fp32' })) as unknown as TjsModel;
    Tensor = tjs.Tensor as unknown as typeof Tensor;
    const out: number[] = [];
    for (let i = 0; i < PAIRS.length; i += 32) {
      const batch = PAIRS.slice(i, i + 32);
      const inputs = tokenizer(batch.map((p) => p[0]), { text_pair: batch.map((p) => p[1]), padding: true, truncation: true });
      out.push(...(await model(inputs)).logits.data);
    }
    theirs = Float32Array.from(out);
  });

  test('transformers.js truncation: logits agree end to end (max abs diff <= 1e-4) on >= 200 pairs', async () => {
    const ce = await loadCrossEncoder(dir, { truncation: 'transformers.js', batchSize: 16 });
    try {
      assert.equal(ce.graph.kind, 'first-token', 'the oracle checks the rewritten graph that runs by default');
      const ours = await ce.predict(PAIRS);
      assert.ok(PAIRS.length >= 200);
      assert.ok(ours.truncated >= 30, `expected many truncated pairs, got ${ours.truncated}`);
      const diff = maxAbsDiff(ours.logits, theirs);
      assert.ok(diff <= 1e-4, `max abs logit diff ${diff}`);
      // The logits spread far wider than the tolerance, so agreement is not trivial.
      const spread = Math.max(...ours.logits) - Math.min(...ours.logits);
      assert.ok(spread > 100 * 1e-4, `logit spread ${spread}`);
      // The default activation of a 1-label model is sigmoid.
      assert.equal(ce.activation, 'sigmoid');
      assert.ok(maxAbsDiff(ours.scores, Array.from(theirs, (x) => 1 / (1 + Math.exp(-x)))) <= 1e-5);
    } finally {
      await ce.close();
    }
  });

  test('only-second truncation (default): transformers.js logits on our token ids agree; untruncated pairs agree end to end', async () => {
    const ce = await loadCrossEncoder(dir);
    try {
      const ours = await ce.predict(PAIRS);
      const cut = new Set(ours.truncatedIndices);
      assert.ok(cut.size >= 30, `${cut.size} truncated`);
      let diff = 0;
      for (let i = 0; i < PAIRS.length; i++) {
        const [pair] = ce.tokenize(PAIRS[i][0], [PAIRS[i][1]]);
        assert.ok(pair.ids.length <= MAX_LENGTH);
        const n = pair.ids.length;
        // [CLS] ... [SEP] ... [SEP]: the closing [SEP] survives truncation, and segment 1 ends the pair.
        assert.equal(pair.ids[0], 101);
        assert.equal(pair.ids[n - 1], 102);
        assert.equal(pair.typeIds[n - 1], 1);
        assert.equal(pair.typeIds[0], 0);
        const inputs = {
          input_ids: new Tensor('int64', BigInt64Array.from(pair.ids, (x) => BigInt(x)), [1, n]),
          attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
          token_type_ids: new Tensor('int64', BigInt64Array.from(pair.typeIds, (x) => BigInt(x)), [1, n]),
        };
        const logit = (await model(inputs)).logits.data[0];
        diff = Math.max(diff, Math.abs(logit - ours.logits[i]));
        if (!cut.has(i)) diff = Math.max(diff, Math.abs(theirs[i] - ours.logits[i]));
      }
      assert.ok(diff <= 1e-4, `max abs logit diff ${diff}`);
    } finally {
      await ce.close();
    }
  });
});

describe('oracle: 3 labels, identity activation', () => {
  let ce: CrossEncoder;
  let dir: string;
  before(async () => {
    dir = await syntheticCrossEncoder(tmp.dir, 'ce3', { maxLength: MAX_LENGTH, labels: 3, seed: 11 });
    ce = await loadCrossEncoder(dir, { truncation: 'transformers.js' });
  });
  after(() => ce.close());

  test('every label agrees with transformers.js', async () => {
    const tjs = await import('@huggingface/transformers');
    tjs.env.allowRemoteModels = false;
    tjs.env.useFSCache = false;
    const tokenizer = (await tjs.AutoTokenizer.from_pretrained(dir)) as unknown as TjsTokenizer;
    const model = (await tjs.AutoModelForSequenceClassification.from_pretrained(dir, { dtype: 'fp32' })) as unknown as TjsModel;
    const pairs = PAIRS.slice(0, 40);
    const inputs = tokenizer(pairs.map((p) => p[0]), { text_pair: pairs.map((p) => p[1]), padding: true, truncation: true });
    const theirs = await model(inputs);
    assert.deepEqual(theirs.logits.dims, [40, 3]);
    const ours = await ce.predict(pairs);
    assert.equal(ours.labels, 3);
    assert.equal(ce.activation, 'identity');
    assert.ok(maxAbsDiff(ours.logits, theirs.logits.data) <= 1e-4);
    assert.deepEqual(ours.scores, ours.logits);
  });
});
