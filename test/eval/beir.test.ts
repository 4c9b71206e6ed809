import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { documentText, loadBeirDataset, parseQrels } from '../../src/eval/beir.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { writeMiniBeir } from './helpers.ts';

const tmp = tempDir('beir');
after(() => tmp.cleanup());
const DATA = new URL('../../../shared/data/', import.meta.url).pathname;

test('loads the real scifact splits: 300 test and 809 train queries, graded qrels', () => {
  const test = loadBeirDataset(join(DATA, 'scifact'));
  assert.equal(test.name, 'scifact');
  assert.equal(test.corpus.length, 5183);
  assert.equal(test.queries.length, 300);
  assert.equal([...test.qrels.values()].reduce((n, m) => n + m.size, 0), 339);
  const train = loadBeirDataset(join(DATA, 'scifact'), { split: 'train', skipCorpus: true });
  assert.equal(train.queries.length, 809);
  assert.equal(train.corpus.length, 0);
  const cranfield = loadBeirDataset(join(DATA, 'cranfield'), { skipCorpus: true });
  assert.equal(cranfield.queries.length, 225);
  const grades = new Set([...cranfield.qrels.values()].flatMap((m) => [...m.values()]));
  assert.deepEqual([...grades].sort(), [1, 2, 3, 4]);
});

test('queries without judgements are not split queries; documentText joins title and text', () => {
  const { dir } = writeMiniBeir(join(tmp.dir, 'mini'), 5, 3);
  const d = loadBeirDataset(dir);
  assert.deepEqual(d.queries.map((q) => q.id), ['q0', 'q1', 'q2']);
  assert.equal(documentText({ title: ' T ', text: 'body' }), 'T body');
  assert.equal(documentText({ title: '', text: 'body' }), 'body');
  assert.equal(documentText({ title: '', text: '  ' }), '');
});

test('qrels parsing: header, tabs, TREC layout, bad lines', () => {
  const q = parseQrels('query-id\tcorpus-id\tscore\n1\td1\t2\n1\td2\t0\n2 0 d3 1\n');
  assert.deepEqual([...q.get('1')!], [['d1', 2], ['d2', 0]]);
  assert.equal(q.get('2')!.get('d3'), 1);
  assert.throws(() => parseQrels('1\td1\thigh\n', 'x.tsv'), (e) => isBiencoderError(e, 'INVALID_INPUT') && /x\.tsv:1/.test(e.message));
  assert.throws(() => parseQrels('1\td1\n'), (e) => isBiencoderError(e, 'INVALID_INPUT'));
});

test('missing and malformed files give NOT_FOUND / INVALID_INPUT naming the file and line', () => {
  assert.throws(() => loadBeirDataset(join(tmp.dir, 'nope')), (e) => isBiencoderError(e, 'NOT_FOUND'));
  const { dir } = writeMiniBeir(join(tmp.dir, 'bad'), 5, 3);
  assert.throws(() => loadBeirDataset(dir, { split: 'dev' }), (e) => isBiencoderError(e, 'NOT_FOUND') && /qrels\/dev\.tsv/.test(e.message));
  assert.throws(() => loadBeirDataset(dir, { split: '../x' }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  writeFileSync(join(dir, 'queries.jsonl'), '{"_id": "q0", "text": "ok"}\n{not json}\n');
  assert.throws(() => loadBeirDataset(dir), (e) => isBiencoderError(e, 'INVALID_INPUT') && /queries\.jsonl:2/.test(e.message));
  writeFileSync(join(dir, 'queries.jsonl'), '{"_id": "q0", "text": "ok"}\n');
  assert.throws(() => loadBeirDataset(dir), (e) => isBiencoderError(e, 'INVALID_INPUT') && /"q1"/.test(e.message));
  mkdirSync(join(tmp.dir, 'dup', 'qrels'), { recursive: true });
  writeFileSync(join(tmp.dir, 'dup', 'corpus.jsonl'), '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n');
  writeFileSync(join(tmp.dir, 'dup', 'queries.jsonl'), '{"_id": "q", "text": "x"}\n');
  writeFileSync(join(tmp.dir, 'dup', 'qrels', 'test.tsv'), 'q\ta\t1\n');
  assert.throws(() => loadBeirDataset(join(tmp.dir, 'dup')), (e) => isBiencoderError(e, 'INVALID_INPUT') && /appears twice/.test(e.message));
});
