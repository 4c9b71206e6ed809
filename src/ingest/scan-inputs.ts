/**
 * A validating first pass over the input files, before anything is written: every record is read
 * and checked (so a bad line fails the run with nothing written), duplicate ids are found, and the
 * documents are counted (the progress total).
 */
import type { InputFile } from './input-files.ts';
import { readDocuments } from './read-documents.ts';
import { BiencoderError } from '../errors.ts';
import { invalidInput } from './source-document.ts';

export interface InputScan {
  /** Documents in all files. */
  readonly documents: number;
  /** Documents per file, in file order. */
  readonly perFile: number[];
}

/**
 * Reads every document once; throws INVALID_INPUT (naming file:line) at the first bad record or
 * duplicate id, and ABORTED when the signal fires.
 */
export async function scanInputs(files: readonly InputFile[], options: { signal?: AbortSignal } = {}): Promise<InputScan> {
  const seen = new Map<string, string>();
  const perFile: number[] = [];
  for (const file of files) {
    let n = 0;
    for await (const doc of readDocuments(file)) {
      if (options.signal?.aborted) throw new BiencoderError('ABORTED', 'reading the inputs was interrupted', { cause: options.signal.reason });
      const first = seen.get(doc.id);
      if (first !== undefined) throw invalidInput(doc.origin, `duplicate document id ${JSON.stringify(doc.id)} (also at ${first})`);
      seen.set(doc.id, doc.origin);
      n++;
    }
    perFile.push(n);
  }
  return { documents: perFile.reduce((a, b) => a + b, 0), perFile };
}
