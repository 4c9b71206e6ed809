/** biencoder index --language: the keyword analyzer of a new collection, used by search; refused for an existing one with another. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { runCli } from './run-cli.ts';

const tmp = tempDir('cli-language');
let model: string;
const docs = join(tmp.dir, 'zh.jsonl');
const ZH = [
  { id: 'z1', text: '北京是中华人民共和国的首都，也是全国的政治和文化中心。' },
  { id: 'z2', text: '长江是亚洲最长的河流，流经中国十一个省份。' },
  { id: 'z3', text: '熊猫主要生活在四川的山区竹林里。' },
];

before(async () => {
  model = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
  writeFileSync(docs, ZH.map((d) => JSON.stringify(d)).join('\n') + '\n');
});
after(() => tmp.cleanup());

test('index --language zh: Chinese keyword search finds words inside unbroken text; another --language later is refused', async () => {
  const col = join(tmp.dir, 'zh');
  const indexed = await runCli(['index', docs, '--collection', col, '--model', model, '--language', 'zh', '--no-progress', '--json']);
  assert.equal(indexed.code, 0, indexed.stderr);
  const manifest = JSON.parse(readFileSync(join(col, 'manifest.json'), 'utf8')) as { keyword: { analyzer: { language: string } } };
  assert.equal(manifest.keyword.analyzer.language, 'zh');
  for (const [query, id] of [['首都', 'z1'], ['最长的河流', 'z2'], ['熊猫', 'z3']]) {
    const r = await runCli(['search', query, '--collection', col, '--mode', 'keyword', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const hits = (JSON.parse(r.stdout) as { hits: { id: string }[] }).hits;
    assert.equal(hits[0]?.id, id, `${query}: ${r.stdout}`);
  }
  const again = await runCli(['index', docs, '--collection', col, '--model', model, '--language', 'en', '--no-progress']);
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, /keyword language zh; --language en applies only when a collection is created/);
  const bad = await runCli(['index', docs, '--collection', join(tmp.dir, 'bad'), '--model', model, '--language', 'klingon', '--no-progress']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /language/);
});

test('the default (English) analyzer segments runs of Chinese too: Unicode word segmentation is for every script', async () => {
  const col = join(tmp.dir, 'en');
  assert.equal((await runCli(['index', docs, '--collection', col, '--model', model, '--no-progress'])).code, 0);
  const r = await runCli(['search', '首都', '--collection', col, '--mode', 'keyword', '--json']);
  assert.deepEqual((JSON.parse(r.stdout) as { hits: { id: string }[] }).hits.map((h) => h.id), ['z1']);
});
