/**
 * Reads the documents of one input file: a text file is one document; a JSONL file has one JSON
 * record a line (BEIR corpus lines or { id, text, metadata }); a JSON file is an array of records.
 * Errors are INVALID_INPUT naming file:line (JSONL) or file[index] (JSON arrays).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { BiencoderError } from '../errors.ts';
import type { InputFile } from './input-files.ts';
import { invalidInput, recordToDocument, type SourceDocument } from './source-document.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

async function readText(file: InputFile): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file.path);
  } catch (error) {
    throw new BiencoderError('INVALID_INPUT', `${file.display}: cannot read: ${(error as Error).message}`, { cause: error, details: { origin: file.display } });
  }
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw invalidInput(file.display, 'the file is not valid UTF-8 text', error);
  }
}

async function* lines(file: InputFile): AsyncGenerator<{ line: number; text: string }> {
  const stream = createReadStream(file.path, { encoding: 'utf8' });
  const reader = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of reader) {
      line++;
      yield { line, text: line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
    }
  } catch (error) {
    if (error instanceof BiencoderError) throw error;
    throw new BiencoderError('INVALID_INPUT', `${file.display}: cannot read: ${(error as Error).message}`, { cause: error, details: { origin: file.display } });
  } finally {
    reader.close();
    stream.destroy();
  }
}

async function readArray(file: InputFile): Promise<unknown[]> {
  let value: unknown;
  try {
    value = JSON.parse(await readText(file));
  } catch (error) {
    if (error instanceof BiencoderError) throw error;
    throw invalidInput(file.display, `not valid JSON: ${(error as Error).message}`, error);
  }
  if (!Array.isArray(value)) throw invalidInput(file.display, 'expected a JSON array of documents ({"_id" or "id", "title"?, "text", "metadata"?})');
  return value;
}

/** The documents of a file, in file order. */
export async function* readDocuments(file: InputFile): AsyncGenerator<SourceDocument> {
  if (file.format === 'text') {
    yield { id: file.relativeId, text: await readText(file), metadata: { source: file.display }, origin: file.display };
    return;
  }
  if (file.format === 'json') {
    const records = await readArray(file);
    for (let i = 0; i < records.length; i++) yield recordToDocument(records[i], `${file.display}[${i}]`);
    return;
  }
  for await (const { line, text } of lines(file)) {
    if (text.trim() === '') continue;
    const origin = `${file.display}:${line}`;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      throw invalidInput(origin, `not valid JSON: ${(error as Error).message}`, error);
    }
    yield recordToDocument(record, origin);
  }
}

/** The documents of several files, one file after the other. */
export async function* readInputs(files: readonly InputFile[]): AsyncGenerator<SourceDocument> {
  for (const file of files) yield* readDocuments(file);
}
