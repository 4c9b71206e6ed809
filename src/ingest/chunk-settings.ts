/**
 * The chunk settings `biencoder index` used for a collection, recorded in DIR/chunking.json so that
 * a rerun without --chunk-tokens / --chunk-overlap chunks the same way (and so finds its documents
 * unchanged) instead of falling back to the defaults.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../collection/fs-util.ts';
import { BiencoderError } from '../errors.ts';

export const CHUNK_SETTINGS_FILE = 'chunking.json';

export interface ChunkSettings {
  /** Max tokens per chunk, prompt and special tokens included. */
  readonly chunkTokens: number;
  /** Tokens shared by consecutive chunks. */
  readonly chunkOverlap: number;
}

/** The recorded settings, or undefined when none were recorded. COLLECTION_CORRUPT when the file is malformed. */
export function readChunkSettings(dir: string): ChunkSettings | undefined {
  const path = join(dir, CHUNK_SETTINGS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BiencoderError('COLLECTION_CORRUPT', `${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const v = value as Partial<ChunkSettings> | null;
  const ok = (n: unknown, min: number): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= min;
  if (v === null || typeof v !== 'object' || !ok(v.chunkTokens, 1) || !ok(v.chunkOverlap, 0)) {
    throw new BiencoderError('COLLECTION_CORRUPT', `${path} must hold {"chunkTokens": integer >= 1, "chunkOverlap": integer >= 0}`);
  }
  return { chunkTokens: v.chunkTokens!, chunkOverlap: v.chunkOverlap! };
}

/** Records the settings (atomically) unless they are already recorded. */
export function writeChunkSettings(dir: string, settings: ChunkSettings): void {
  const current = readChunkSettings(dir);
  if (current?.chunkTokens === settings.chunkTokens && current.chunkOverlap === settings.chunkOverlap) return;
  writeFileAtomic(join(dir, CHUNK_SETTINGS_FILE), `${JSON.stringify({ chunkTokens: settings.chunkTokens, chunkOverlap: settings.chunkOverlap }, null, 2)}\n`);
}
