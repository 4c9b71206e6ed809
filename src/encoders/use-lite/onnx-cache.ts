/**
 * The on-disk cache of the translated Universal Sentence Encoder lite ONNX model.
 *
 * The model is translated from the TF.js graph at first use (onnx-model.ts) and kept as
 * `<cacheDir>/use-lite/<key>.onnx` beside `<key>.json`, which records the SHA-256 of the .onnx
 * bytes. `key` is the SHA-256 of what the translation reads (converter version, package name and
 * version, model.json's topology, the weight manifest and bytes), so a new package version or a
 * new translator gets a new file. Every load checks the .onnx bytes against the recorded digest: a
 * truncated or altered file is translated again and replaced. Writes go to a temporary file that
 * is renamed into place, so concurrent processes never see a half-written model. Writing a new
 * translation removes earlier ones of the same package (older translator versions). A cache folder
 * that cannot be written is not an error: the model is then translated in memory on every load.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { BiencoderError } from '../../errors.ts';
import type { UseLiteModelFiles } from './model-files.ts';
import { translateUseLiteGraph, USE_LITE_ONNX_CONVERTER_VERSION } from './onnx-model.ts';

export interface UseLiteOnnxModel {
  /** The ONNX model bytes. */
  readonly bytes: Uint8Array;
  /** The file it was read from or written to; undefined when the cache folder is not writable. */
  readonly path: string | undefined;
  /** SHA-256 (hex) of `bytes`. */
  readonly sha256: string;
  /** 'cache': read from a verified cache file; 'translated': translated in this call. */
  readonly source: 'cache' | 'translated';
  /** Why the cache file was not used or not written, when it was not. */
  readonly cacheNote?: string;
}

/** The `format` of a cache record. */
const CACHE_FORMAT = 'biencoder-use-lite-onnx';

interface CacheRecord {
  format: typeof CACHE_FORMAT;
  key: string;
  sha256: string;
  bytes: number;
  converterVersion: number;
  package: string;
  createdAt: string;
}

/** $XDG_CACHE_HOME/biencoder, else ~/.cache/biencoder. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg !== undefined && xdg !== '' && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache'), 'biencoder');
}

/** The cache key: SHA-256 over everything the translation reads. */
export function useLiteOnnxKey(files: Pick<UseLiteModelFiles, 'packageName' | 'packageVersion' | 'modelTopology' | 'weightSpecs' | 'weightData'>): string {
  const hash = createHash('sha256');
  hash.update(`converter ${USE_LITE_ONNX_CONVERTER_VERSION}\n${files.packageName}@${files.packageVersion}\n`);
  hash.update(JSON.stringify(files.modelTopology));
  hash.update(JSON.stringify(files.weightSpecs));
  hash.update(new Uint8Array(files.weightData));
  return hash.digest('hex');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Returns the ONNX model for `files`: from `<cacheDir>/use-lite/` when a verified copy is there,
 * else translated now (and written there when possible).
 */
export async function loadUseLiteOnnxModel(files: UseLiteModelFiles, options: { cacheDir?: string } = {}): Promise<UseLiteOnnxModel> {
  if (options.cacheDir !== undefined && (typeof options.cacheDir !== 'string' || options.cacheDir === '')) {
    throw new BiencoderError('INVALID_ARGUMENT', 'cacheDir must be a non-empty string');
  }
  const dir = path.join(path.resolve(options.cacheDir ?? defaultCacheDir()), 'use-lite');
  const key = useLiteOnnxKey(files);
  const name = key.slice(0, 32);
  const modelPath = path.join(dir, `${name}.onnx`);
  const recordPath = path.join(dir, `${name}.json`);

  const cached = await readVerified(modelPath, recordPath, key);
  if (cached.bytes !== undefined && cached.sha256 !== undefined) return { bytes: cached.bytes, path: modelPath, sha256: cached.sha256, source: 'cache' };

  const { model } = translateUseLiteGraph(files);
  const digest = sha256(model);
  const record: CacheRecord = {
    format: CACHE_FORMAT,
    key,
    sha256: digest,
    bytes: model.byteLength,
    converterVersion: USE_LITE_ONNX_CONVERTER_VERSION,
    package: `${files.packageName}@${files.packageVersion}`,
    createdAt: new Date().toISOString(),
  };
  try {
    await mkdir(dir, { recursive: true });
    // The model first, then its record: a record always describes a complete file.
    await writeAtomically(modelPath, model);
    await writeAtomically(recordPath, `${JSON.stringify(record, null, 2)}\n`);
  } catch (error) {
    const note = `cannot write the use-lite ONNX cache in ${dir}: ${(error as Error).message}`;
    return { bytes: model, path: undefined, sha256: digest, source: 'translated', cacheNote: cached.note ? `${cached.note}; ${note}` : note };
  }
  await removeStale(dir, name, record.package);
  return { bytes: model, path: modelPath, sha256: digest, source: 'translated', ...(cached.note ? { cacheNote: cached.note } : {}) };
}

/** Removes earlier translations of the same package (another key: an older translator or weights), best effort. */
async function removeStale(dir: string, keep: string, packageId: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const file of names) {
    const match = /^([0-9a-f]{32})\.json$/.exec(file);
    if (match === null || match[1] === keep) continue;
    try {
      const other = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Partial<CacheRecord>;
      if (other.format !== CACHE_FORMAT || other.package !== packageId) continue;
      await rm(path.join(dir, file), { force: true });
      await rm(path.join(dir, `${match[1]}.onnx`), { force: true });
    } catch {
      // Another process may be replacing it: leave it.
    }
  }
}

async function readVerified(modelPath: string, recordPath: string, key: string): Promise<{ bytes?: Uint8Array; sha256?: string; note?: string }> {
  let record: Partial<CacheRecord>;
  try {
    record = JSON.parse(await readFile(recordPath, 'utf8')) as Partial<CacheRecord>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return { note: `unreadable cache record ${recordPath}: ${(error as Error).message}` };
  }
  if (record.format !== CACHE_FORMAT || record.key !== key || typeof record.sha256 !== 'string') {
    return { note: `cache record ${recordPath} does not describe this model` };
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(modelPath);
  } catch (error) {
    return { note: `cannot read ${modelPath}: ${(error as Error).message}` };
  }
  const digest = sha256(bytes);
  if (digest !== record.sha256 || bytes.byteLength !== record.bytes) {
    return { note: `${modelPath} failed its checksum (sha256 ${digest.slice(0, 12)}..., expected ${record.sha256.slice(0, 12)}...): translated again` };
  }
  return { bytes, sha256: digest };
}

async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { flush: true });
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
