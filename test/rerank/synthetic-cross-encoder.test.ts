import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeSyntheticCrossEncoder, SYNTHETIC_CROSS_ENCODER_FILES } from '../../scripts/synthetic-cross-encoder.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { syntheticCrossEncoder } from '../helpers/synthetic-cross-encoder.ts';

const tmp = tempDir('synthetic-ce');
after(() => tmp.cleanup());
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

test('writes the CrossEncoder hub layout: BertForSequenceClassification, labels, activation, max length', async () => {
  const dir = await syntheticCrossEncoder(tmp.dir, 'a', { labels: 2, maxLength: 100 });
  for (const f of SYNTHETIC_CROSS_ENCODER_FILES) assert.ok(readFileSync(join(dir, f)).length > 0, f);
  const config = readJson(join(dir, 'config.json'));
  assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
  assert.deepEqual(config.id2label, { 0: 'LABEL_0', 1: 'LABEL_1' });
  assert.deepEqual(config.label2id, { LABEL_0: 0, LABEL_1: 1 });
  assert.deepEqual(config.sentence_transformers, { activation_fn: 'torch.nn.modules.linear.Identity', version: '4.1.0' });
  assert.equal(config.hidden_size, 32);
  assert.equal(readJson(join(dir, 'tokenizer_config.json')).model_max_length, 100);

  const one = readJson(join(await syntheticCrossEncoder(tmp.dir, 'b'), 'config.json'));
  assert.deepEqual(one.sentence_transformers, { activation_fn: 'torch.nn.modules.activation.Sigmoid', version: '4.1.0' });
  const legacy = readJson(join(await syntheticCrossEncoder(tmp.dir, 'c', { activationFn: 'torch.nn.modules.linear.Identity', activationKey: 'sbert_ce_default_activation_function' }), 'config.json'));
  assert.equal(legacy.sbert_ce_default_activation_function, 'torch.nn.modules.linear.Identity');
  assert.equal(legacy.sentence_transformers, undefined);
  const none = readJson(join(await syntheticCrossEncoder(tmp.dir, 'd', { activationFn: null }), 'config.json'));
  assert.equal(none.sentence_transformers, undefined);
  assert.equal(none.sbert_ce_default_activation_function, undefined);
});

test('deterministic: same seed gives byte-identical ONNX, another seed differs', async () => {
  const a = readFileSync(join(await syntheticCrossEncoder(tmp.dir, 's1', { seed: 9 }), 'onnx/model.onnx'));
  const b = readFileSync(join(await syntheticCrossEncoder(tmp.dir, 's2', { seed: 9 }), 'onnx/model.onnx'));
  const c = readFileSync(join(await syntheticCrossEncoder(tmp.dir, 's3', { seed: 10 }), 'onnx/model.onnx'));
  assert.ok(a.equals(b));
  assert.ok(!a.equals(c));
});

test('bad options are INVALID_ARGUMENT', async () => {
  const outDir = join(tmp.dir, 'bad');
  for (const options of [{ labels: 0 }, { labels: 1.5 }, { maxLength: 2 }, { maxLength: 513 }, { seed: -1 }, { activationFn: '' }, { activationKey: 'x' as never }]) {
    await assert.rejects(makeSyntheticCrossEncoder({ outDir, tiny: true, ...options }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'), JSON.stringify(options));
  }
  await assert.rejects(makeSyntheticCrossEncoder({ outDir: '' }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});

test('the make-synthetic-cross-encoder script writes a model; bad arguments exit 2', () => {
  const script = fileURLToPath(new URL('../../scripts/make-synthetic-cross-encoder.ts', import.meta.url));
  const out = join(tmp.dir, 'cli');
  const ok = spawnSync(process.execPath, ['--import', 'tsx', script, out, '--tiny', '--labels', '3', '--activation', 'none', '--max-length', '64'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /wrote synthetic tiny cross-encoder \(seed 42, 3 label\(s\)\)/);
  const config = readJson(join(out, 'config.json'));
  assert.equal(Object.keys(config.id2label as object).length, 3);
  assert.equal(config.sentence_transformers, undefined);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', script, out, '--labels', 'many'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--labels must be a non-negative integer/);
});
