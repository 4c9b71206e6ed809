import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCrossEncoder, type CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { rewriteToFirstToken } from '../../src/rerank/first-token-graph.ts';
import { VARIED_SENTENCES } from '../fixtures/sentences.ts';
import { scifactDocs, syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';
import { maxAbsDiff } from '../helpers/vector-math.ts';

const tmp = tempDir('first-token');
after(() => tmp.cleanup());

describe('first-token last layer', () => {
  let dir: string;
  let rewritten: CrossEncoder;
  let full: CrossEncoder;
  before(async () => {
    dir = await syntheticCrossEncoder(tmp.dir, 'ce', { maxLength: 96, labels: 2, seed: 21 });
    rewritten = await loadCrossEncoder(dir, { batchSize: 8 });
    full = await loadCrossEncoder(dir, { batchSize: 8, firstTokenLastLayer: false });
  });
  after(async () => Promise.all([rewritten.close(), full.close()]));

  test('is used by default and gives the logits of the full graph (max abs diff <= 1e-5), padding included', async () => {
    assert.equal(rewritten.graph.kind, 'first-token');
    assert.ok(rewritten.graph.probeDiff! <= 1e-5);
    assert.deepEqual(full.graph, { kind: 'full', reason: 'disabled by option' });
    const docs = [...VARIED_SENTENCES.slice(0, 50), ...scifactDocs(6)];
    const a = await rewritten.score('what do proteins do?', docs);
    const b = await full.score('what do proteins do?', docs);
    assert.equal(a.labels, 2);
    assert.ok(maxAbsDiff(a.logits, b.logits) <= 1e-5, `${maxAbsDiff(a.logits, b.logits)}`);
  });

  test('the rewrite adds one Slice and leaves the K and V projections on every token', async () => {
    const onnx = (await import('onnx-proto')).default.onnx;
    const bytes = readFileSync(join(dir, 'onnx/model.onnx'));
    const { bytes: out, reason } = await rewriteToFirstToken(bytes);
    assert.equal(reason, undefined);
    const before = onnx.ModelProto.decode(bytes).graph!.node!;
    const after = onnx.ModelProto.decode(out!).graph!.node!;
    assert.equal(after.length, before.length + 1);
    const slice = after.find((n) => n.opType === 'Slice' && n.name!.endsWith('__first_token__Slice'))!;
    const hidden = slice.input![0];
    const readers = after.filter((n) => n.input!.includes(hidden)).map((n) => n.name);
    // The last layer's input feeds the Slice, the key and the value projections only.
    assert.deepEqual(readers.sort(), ['/encoder/layer.1/attention/self/key/MatMul', '/encoder/layer.1/attention/self/value/MatMul', slice.name].sort());
    const sliceReaders = after.filter((n) => n.input!.includes(slice.output![0])).map((n) => n.name).sort();
    assert.deepEqual(sliceReaders, ['/encoder/layer.1/attention/output/Add', '/encoder/layer.1/attention/self/query/MatMul']);
  });

  test('graphs without a classification head or that do not decode are left as they are', async () => {
    const bi = await syntheticModel(tmp.dir, 'bi', { tiny: true });
    const embedding = await rewriteToFirstToken(readFileSync(join(bi, 'onnx/model.onnx')));
    assert.equal(embedding.bytes, undefined);
    assert.match(embedding.reason!, /first-token Gather/);
    const garbage = await rewriteToFirstToken(new Uint8Array([1, 2, 3, 4, 5]));
    assert.equal(garbage.bytes, undefined);
    assert.match(garbage.reason!, /cannot decode|no graph/);
  });

  test('a graph without token_type_ids is rewritten too', async () => {
    const ce = await loadCrossEncoder(await syntheticCrossEncoder(tmp.dir, 'no-tt', { tokenTypeIds: false }));
    try {
      assert.equal(ce.graph.kind, 'first-token');
      assert.equal((await ce.score('q', ['a document'])).rows, 1);
    } finally {
      await ce.close();
    }
  });
});
