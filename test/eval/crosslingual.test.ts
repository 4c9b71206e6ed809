import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOnnxEncoder } from '../../src/encoders/onnx/onnx-encoder.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { readTatoeba, readXquad, runTatoeba, runXquad } from '../../src/eval/crosslingual.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';

const DATA = new URL('../../../shared/data/', import.meta.url).pathname;
let root: { dir: string; cleanup: () => void };
let encoder: Encoder;
before(async () => {
  root = tempDir('crosslingual');
  encoder = await loadOnnxEncoder(await syntheticModel(root.dir, 'tiny', { tiny: true }));
});
after(async () => {
  await encoder.close();
  root.cleanup();
});

test('reads the real XQuAD and Tatoeba files', () => {
  const en = readXquad(join(DATA, 'xquad'), 'en');
  const de = readXquad(join(DATA, 'xquad'), 'de');
  assert.equal(en.paragraphs.length, 240);
  assert.equal(en.questions.length, 1190);
  assert.ok(en.questions.every((q) => de.paragraphOf.get(q.id) === en.paragraphOf.get(q.id)), 'same ids, same paragraphs across languages');
  const t = readTatoeba(join(DATA, 'tatoeba'), 'deu');
  assert.equal(t.foreign.length, 1000);
  assert.equal(t.english.length, 1000);
  assert.throws(() => readXquad(join(DATA, 'xquad'), 'xx'), (e) => isBiencoderError(e, 'NOT_FOUND'));
  assert.throws(() => readTatoeba(join(DATA, 'tatoeba'), 'xxx'), (e) => isBiencoderError(e, 'NOT_FOUND'));
});

function squad(paragraphs: { context: string; ids: string[] }[]): string {
  return JSON.stringify({ version: '1.1', data: [{ title: 't', paragraphs: paragraphs.map((p) => ({ context: p.context, qas: p.ids.map((id) => ({ id, question: p.context, answers: [] })) })) }] });
}

test('XQuAD: a question finds the paragraph holding its id in the document language', async () => {
  const dir = join(root.dir, 'xquad');
  mkdirSync(dir);
  const texts = ['Paris is the capital of France.', 'Photosynthesis converts light into energy.', 'The Nile flows north.', 'Rust has a borrow checker.'];
  writeFileSync(join(dir, 'xquad.aa.json'), squad(texts.map((context, i) => ({ context, ids: [`q${i}`, `r${i}`] }))));
  // Same paragraphs in another order: the ids, not positions, define the relevant paragraph.
  writeFileSync(join(dir, 'xquad.bb.json'), squad([3, 1, 0, 2].map((i) => ({ context: texts[i], ids: [`q${i}`, `r${i}`] }))));
  const same = await runXquad(encoder, dir, { queryLanguage: 'aa', documentLanguage: 'aa' });
  assert.equal(same.questions, 8);
  assert.equal(same.metrics['recall@1'], 1);
  const cross = await runXquad(encoder, dir, { queryLanguage: 'aa', documentLanguage: 'bb' });
  assert.equal(cross.metrics['recall@1'], 1);
  assert.equal(cross.metrics['mrr@10'], 1);
  writeFileSync(join(dir, 'xquad.cc.json'), squad([{ context: texts[0], ids: ['other'] }]));
  await assert.rejects(runXquad(encoder, dir, { queryLanguage: 'aa', documentLanguage: 'cc' }), (e) => isBiencoderError(e, 'INVALID_INPUT'));
});

test('Tatoeba: accuracy both ways; identical sides mine perfectly, misaligned files are refused', async () => {
  const dir = join(root.dir, 'tatoeba');
  mkdirSync(dir);
  const lines = ['the cat sleeps', 'I like green tea', 'where is the station', 'numbers 1 2 3'];
  writeFileSync(join(dir, 'tatoeba.xxx-eng.xxx'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'tatoeba.xxx-eng.eng'), `${lines.join('\n')}\n`);
  const r = await runTatoeba(encoder, dir, { language: 'xxx' });
  assert.equal(r.pairs, 4);
  assert.equal(r.accuracyToEnglish, 1);
  assert.equal(r.accuracyFromEnglish, 1);
  writeFileSync(join(dir, 'tatoeba.xxx-eng.eng'), `${lines.slice(1).join('\n')}\n`);
  assert.throws(() => readTatoeba(dir, 'xxx'), (e) => isBiencoderError(e, 'INVALID_INPUT'));
});
