import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveInputs } from '../../src/ingest/input-files.ts';
import { readDocuments, readInputs } from '../../src/ingest/read-documents.ts';
import { scanInputs } from '../../src/ingest/scan-inputs.ts';
import { recordToDocument, type SourceDocument } from '../../src/ingest/source-document.ts';
import { isBiencoderError } from '../../src/errors.ts';
import { tempDir } from '../helpers/synthetic.ts';

const tmp = tempDir('read-documents');
after(() => tmp.cleanup());

async function all(docs: AsyncIterable<SourceDocument>): Promise<SourceDocument[]> {
  const out: SourceDocument[] = [];
  for await (const d of docs) out.push(d);
  return out;
}

async function filesOf(...names: string[]) {
  return (await resolveInputs(names, { cwd: tmp.dir })).files;
}

test('recordToDocument: BEIR lines, {id, text, metadata}, and what is rejected', () => {
  assert.deepEqual(recordToDocument({ _id: 'd1', title: 'Paris', text: 'The capital of France.', year: 2020, metadata: { lang: 'en' } }, 'f:1'), {
    id: 'd1',
    text: 'Paris\n\nThe capital of France.',
    metadata: { lang: 'en', title: 'Paris', year: 2020 },
    origin: 'f:1',
  });
  assert.deepEqual(recordToDocument({ _id: 7, title: '', text: 'no title' }, 'f:2'), { id: '7', text: 'no title', metadata: { title: '' }, origin: 'f:2' });
  assert.equal(recordToDocument({ id: 'x', title: 'Only a title', text: '' }, 'f:3').text, 'Only a title');
  const bad: [unknown, RegExp][] = [
    [[1, 2], /expected a JSON object/],
    [{ text: 'no id' }, /no "_id" or "id"/],
    [{ _id: '', text: 't' }, /non-empty string/],
    [{ _id: 'a', text: 5 }, /"text" field .* missing or not a string/],
    [{ _id: 'a', text: 't', metadata: [1] }, /"metadata" field .* must be a JSON object/],
    [{ _id: 'a', text: 't', title: 3 }, /"title" field .* must be a string/],
    [{ _id: 'a#2', text: 't' }, /reserved for the ids of chunks/],
    [{ _id: 'a', text: 't', metadata: { _chunk: 1 } }, /reserved for chunk positions/],
    [{ _id: 'x'.repeat(1001), text: 't' }, /the limit is 1000/],
  ];
  for (const [record, message] of bad) {
    assert.throws(() => recordToDocument(record, 'file.jsonl:9'), (e: unknown) => isBiencoderError(e, 'INVALID_INPUT') && e.message.startsWith('file.jsonl:9: ') && message.test(e.message), JSON.stringify(record));
  }
});

test('text, JSONL and JSON files are read in order, with origins', async () => {
  writeFileSync(join(tmp.dir, 'note.md'), '\ufeff# Title\n\nSome text.\n');
  writeFileSync(join(tmp.dir, 'corpus.jsonl'), '{"_id":"a","title":"A","text":"alpha"}\n\n{"id":"b","text":"beta","metadata":{"k":1}}\r\n');
  writeFileSync(join(tmp.dir, 'array.json'), JSON.stringify([{ id: 'c', text: 'gamma' }]));
  const docs = await all(readInputs(await filesOf('note.md', 'corpus.jsonl', 'array.json')));
  assert.deepEqual(docs, [
    { id: 'note.md', text: '# Title\n\nSome text.\n', metadata: { source: 'note.md' }, origin: 'note.md' },
    { id: 'a', text: 'A\n\nalpha', metadata: { title: 'A' }, origin: 'corpus.jsonl:1' },
    { id: 'b', text: 'beta', metadata: { k: 1 }, origin: 'corpus.jsonl:3' },
    { id: 'c', text: 'gamma', metadata: {}, origin: 'array.json[0]' },
  ]);
  assert.deepEqual(await scanInputs(await filesOf('note.md', 'corpus.jsonl', 'array.json')), { documents: 4, perFile: [1, 2, 1] });
});

test('bad inputs name file:line; duplicates name both places', async () => {
  writeFileSync(join(tmp.dir, 'bad.jsonl'), '{"_id":"a","text":"ok"}\n{"_id":"b","text":\n');
  await assert.rejects(all(readDocuments((await filesOf('bad.jsonl'))[0])), (e: unknown) => isBiencoderError(e, 'INVALID_INPUT') && /^bad\.jsonl:2: not valid JSON/.test(e.message));
  writeFileSync(join(tmp.dir, 'notarray.json'), '{"id":"a","text":"x"}');
  await assert.rejects(scanInputs(await filesOf('notarray.json')), (e: unknown) => isBiencoderError(e, 'INVALID_INPUT') && /notarray\.json: expected a JSON array/.test(e.message));
  writeFileSync(join(tmp.dir, 'binary.txt'), Buffer.from([0x66, 0xff, 0xfe, 0x00]));
  await assert.rejects(scanInputs(await filesOf('binary.txt')), (e: unknown) => isBiencoderError(e, 'INVALID_INPUT') && /binary\.txt: the file is not valid UTF-8/.test(e.message));
  writeFileSync(join(tmp.dir, 'dup.jsonl'), '{"_id":"a","text":"one"}\n{"_id":"z","text":"two"}\n{"_id":"a","text":"three"}\n');
  await assert.rejects(scanInputs(await filesOf('dup.jsonl')), (e: unknown) => isBiencoderError(e, 'INVALID_INPUT') && /^dup\.jsonl:3: duplicate document id "a" \(also at dup\.jsonl:1\)/.test(e.message));
});
