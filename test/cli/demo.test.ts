/** `biencoder demo` for real: the shipped sample, the embedded default model (USE lite), offline. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_SAMPLE, defaultDemoDir } from '../../src/cli/commands/demo.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { spawnCli } from './run-cli.ts';

const tmp = tempDir('cli-demo');
after(() => tmp.cleanup());

test('the demo sample: 240 distinct XQuAD paragraphs with titles, and its license notice', () => {
  const lines = readFileSync(DEMO_SAMPLE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { _id: string; title: string; text: string });
  assert.equal(lines.length, 240);
  assert.deepEqual(lines.slice(0, 2).map((d) => d._id), ['xquad-en-0', 'xquad-en-1']);
  assert.equal(new Set(lines.map((d) => d.text)).size, 240);
  assert.equal(new Set(lines.map((d) => d.title)).size, 48);
  assert.ok(lines.every((d) => d.title !== '' && !d.title.includes('_') && d.text.length > 100));
  const readme = readFileSync(join(DEMO_SAMPLE, '..', 'README.md'), 'utf8');
  assert.match(readme, /CC BY-SA 4\.0/);
  assert.match(readme, /XQuAD/);
  assert.match(readme, /Wikipedia/);
});

test('the default demo directory is under the user cache', () => {
  assert.equal(defaultDemoDir({ XDG_CACHE_HOME: '/x/cache' }), '/x/cache/biencoder/demo');
  assert.match(defaultDemoDir({}), /\/\.cache\/biencoder\/demo$/);
});

test('biencoder demo indexes the sample with USE lite, answers the default question, and a rerun reuses the collection', { timeout: 600_000 }, () => {
  // No network is used: HF_HUB_OFFLINE makes any download attempt an error.
  const env = { ...process.env, XDG_CACHE_HOME: join(tmp.dir, 'cache'), HF_HUB_OFFLINE: '1' };
  const started = performance.now();
  const first = spawnCli(['demo'], { env, timeout: 590_000 });
  const seconds = (performance.now() - started) / 1000;
  assert.equal(first.code, 0, first.stderr);
  const dir = join(tmp.dir, 'cache', 'biencoder', 'demo');
  assert.ok(existsSync(join(dir, 'manifest.json')));
  assert.match(first.stdout, /indexed 240 documents into .*\(new collection, model use-lite\): 240 new, 0 updated, 0 unchanged/);
  assert.match(first.stdout, /Query: "Who discovered oxygen\?"/);
  const hits = [...first.stdout.matchAll(/^ {2}(\d)\. ([\d.]+) {2}(xquad-en-\d+) {2}([^[\n]+)/gm)];
  assert.equal(hits.length, 5);
  assert.equal(hits[0][4].trim(), 'Oxygen', `the best answer comes from the Oxygen article:\n${first.stdout}`);
  assert.match(first.stdout, /Oxygen was discovered independently by Carl Wilhelm Scheele/);
  process.stderr.write(`demo, first run: ${seconds.toFixed(1)} s\n`);

  const t2 = performance.now();
  const again = spawnCli(['demo', 'What causes autoimmune diseases?', '-k', '3', '--json'], { env, timeout: 300_000 });
  const seconds2 = (performance.now() - t2) / 1000;
  assert.equal(again.code, 0, again.stderr);
  const r = JSON.parse(again.stdout) as { index: { unchanged: number; embedded: number }; hits: { id: string; metadata: { title: string } }[] };
  assert.equal(r.index.unchanged, 240);
  assert.equal(r.index.embedded, 0, 'a rerun embeds only the question');
  assert.equal(r.hits.length, 3);
  assert.equal(r.hits[0].metadata.title, 'Immune system');
  process.stderr.write(`demo, rerun: ${seconds2.toFixed(1)} s\n`);
});
