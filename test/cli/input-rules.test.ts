/**
 * The CLI's doors apply the library's input rules: a lone surrogate (a JSON escape such as "\ud800")
 * in a text becomes U+FFFD, as in `embed`; in an id or in metadata it is refused, like a `__proto__`
 * key, by the validating first pass of `index` (file:line named, nothing written, no collection).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordToDocument } from '../../src/ingest/source-document.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { CLI } from '../helpers/cli-bin.ts';
import { syntheticModel, tempDir } from '../helpers/synthetic.ts';
import { runCli } from './run-cli.ts';

const tmp = tempDir('cli-input-rules');
let model: string;

before(async () => {
  model = await syntheticModel(tmp.dir, 'tiny', { tiny: true });
});
after(() => tmp.cleanup());

test('recordToDocument: lone surrogates in text and title become U+FFFD; in ids and metadata, like __proto__ keys, they are INVALID_INPUT', () => {
  const doc = recordToDocument(JSON.parse('{"_id":"a","title":"T\\udc00","text":"x \\ud800 y"}'), 'f.jsonl:1');
  assert.equal(doc.text, 'T\ufffd\n\nx \ufffd y');
  assert.equal(doc.metadata.title, 'T\ufffd');
  const bad: [string, RegExp][] = [
    ['{"_id":"a\\ud800","text":"t"}', /lone surrogate/],
    ['{"_id":"a","text":"t","metadata":{"k":"v\\ud800"}}', /metadata\.k: string contains a lone surrogate/],
    ['{"_id":"a","text":"t","metadata":{"__proto__":{"x":1}}}', /metadata: the key "__proto__" is not allowed/],
    ['{"_id":"a","text":"t","__proto__":{"x":1}}', /the key "__proto__" is not allowed/],
    ['{"_id":"a","text":"t","nested":{"deep":[{"__proto__":1}]}}', /metadata\.nested\.deep\[0\]: the key "__proto__" is not allowed/],
  ];
  for (const [line, message] of bad) {
    assert.throws(() => recordToDocument(JSON.parse(line), 'f.jsonl:7'), (e: unknown) => isBiencoderError(e, 'INVALID_INPUT') && e.message.startsWith('f.jsonl:7: ') && message.test(e.message), line);
  }
});

test('biencoder index: a lone surrogate in a text is indexed as U+FFFD (a rerun finds it unchanged); one in metadata fails before anything is created', async () => {
  const corpus = join(tmp.dir, 'surrogates.jsonl');
  writeFileSync(corpus, '{"_id":"a","text":"broken \\ud800 text"}\n{"_id":"b","text":"a clean text"}\n');
  const col = join(tmp.dir, 'col');
  const first = await runCli(['index', corpus, '--collection', col, '--model', model, '--json', '--no-progress']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(JSON.parse(first.stdout).inserted, 2);
  const again = await runCli(['index', corpus, '--collection', col, '--json', '--no-progress']);
  assert.equal(again.code, 0, again.stderr);
  const summary = JSON.parse(again.stdout);
  assert.deepEqual([summary.unchanged, summary.rowsWritten], [2, 0], 'the stored U+FFFD text is what a rerun reads');
  const hits = await runCli(['search', 'broken \ufffd text', '--collection', col, '--json', '-k', '1']);
  assert.equal(hits.code, 0, hits.stderr);
  assert.equal(JSON.parse(hits.stdout).hits[0].text, 'broken \ufffd text');

  const bad = join(tmp.dir, 'bad.jsonl');
  writeFileSync(bad, '{"_id":"ok","text":"fine"}\n{"_id":"m","text":"t","metadata":{"k":"v\\ud800"}}\n');
  const fresh = join(tmp.dir, 'never');
  const r = await runCli(['index', bad, '--collection', fresh, '--model', model, '--no-progress']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\[INVALID_INPUT\]: .*bad\.jsonl:2: .*lone surrogate/);
  assert.equal(existsSync(fresh), false, 'the validating pass refused it: no collection');
});

test('biencoder embed --format jsonl: a lone surrogate embeds like U+FFFD', async () => {
  const input = '{"id":"a","text":"x \\ud800 y"}\n{"id":"b","text":"x \\ufffd y"}\n';
  const r = spawnSync(process.execPath, [...CLI, 'embed', '--format', 'jsonl', '--model', model], { input, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const [a, b] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { embedding: number[] });
  assert.deepEqual(a.embedding, b.embedding);
});
