/** Option parsing shared by the collection commands: integers, --filter JSON, usage errors (exit 2). */
import { InvalidArgumentError, type Command } from 'commander';
import { parseFilter, type MetadataFilter } from '../collection/filter.ts';
import { BiencoderError } from '../errors.ts';

/** A commander argParser for integers >= min. */
export function integerOption(min: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got "${value}"`);
    return n;
  };
}

/** Reports a usage error (commander prints "error: ..."; the CLI exits 2). Never returns. */
export function usageError(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: 2, code: 'biencoder.usage' });
  throw new Error('unreachable'); // cmd.error throws (exitOverride) or exits
}

/** Parses a --filter value: JSON text holding a metadata filter. Bad JSON or a bad filter is a usage error. */
export function filterOption(cmd: Command, raw: string | undefined): MetadataFilter | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    usageError(cmd, `--filter is not valid JSON (${(error as Error).message}); example: --filter '{"lang": "en", "year": {"$gte": 2020}}'`);
  }
  try {
    parseFilter(value);
  } catch (error) {
    if (error instanceof BiencoderError) usageError(cmd, `--filter: ${error.message}`);
    throw error;
  }
  return value as MetadataFilter;
}
