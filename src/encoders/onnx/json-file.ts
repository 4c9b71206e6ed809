import { readFile } from 'node:fs/promises';
import { BiencoderError } from '../../errors.ts';

/** Reads a model's JSON file; a missing optional file gives undefined, anything else wrong gives MODEL_INVALID. */
export async function readJsonFile<T = Record<string, unknown>>(path: string, required: true): Promise<T>;
export async function readJsonFile<T = Record<string, unknown>>(path: string, required: false): Promise<T | undefined>;
export async function readJsonFile<T>(path: string, required: boolean): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
    throw new BiencoderError('MODEL_INVALID', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new BiencoderError('MODEL_INVALID', `${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}
