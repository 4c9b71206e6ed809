/**
 * Writes a deterministic random-weight BERT sentence-transformers model (hub layout, real ONNX).
 *
 *   node --import tsx scripts/make-synthetic-model.ts OUT_DIR [--tiny] [--seed N]
 *     [--pooling mean|cls|max|lasttoken] [--no-normalize] [--max-seq-length N]
 *     [--no-token-type-ids] [--variants fp16,quantized]
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isBiencoderError } from '../src/errors.ts';
import { makeSyntheticModel } from './synthetic-model.ts';
import type { SyntheticModelOptions, SyntheticPooling, SyntheticVariant } from './synthetic-model.ts';

const USAGE = `usage: make-synthetic-model OUT_DIR [--tiny] [--seed N] [--pooling mean|cls|max|lasttoken]
       [--no-normalize] [--max-seq-length N] [--no-token-type-ids] [--variants fp16,quantized]`;

class UsageError extends Error {}

function parseInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

function parseCli(argv: string[]): SyntheticModelOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tiny: { type: 'boolean', default: false },
      seed: { type: 'string' },
      pooling: { type: 'string' },
      'no-normalize': { type: 'boolean', default: false },
      'max-seq-length': { type: 'string' },
      'no-token-type-ids': { type: 'boolean', default: false },
      variants: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one OUT_DIR');
  const variants = values.variants === undefined
    ? []
    : values.variants.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  return {
    outDir: positionals[0],
    tiny: values.tiny,
    seed: parseInteger('--seed', values.seed),
    pooling: values.pooling as SyntheticPooling | undefined,
    normalize: !values['no-normalize'],
    maxSeqLength: parseInteger('--max-seq-length', values['max-seq-length']),
    tokenTypeIds: !values['no-token-type-ids'],
    variants: variants as SyntheticVariant[],
  };
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await fs.readdir(path.join(dir, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(dir, rel)));
    else files.push(rel);
  }
  return files;
}

async function main(): Promise<void> {
  let options: SyntheticModelOptions;
  try {
    options = parseCli(process.argv.slice(2));
  } catch (error) {
    console.error(`make-synthetic-model: ${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  try {
    await makeSyntheticModel(options);
  } catch (error) {
    if (isBiencoderError(error, 'INVALID_ARGUMENT')) {
      console.error(`make-synthetic-model: ${error.message}\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const seconds = (performance.now() - started) / 1000;
  const outDir = path.resolve(options.outDir);
  console.log(`wrote synthetic ${options.tiny ? 'tiny ' : ''}model (seed ${options.seed ?? 42}) to ${outDir} in ${seconds.toFixed(1)} s:`);
  for (const file of await listFiles(outDir)) {
    const { size } = await fs.stat(path.join(outDir, file));
    console.log(`  ${file.padEnd(36)} ${size.toString().padStart(12)} bytes`);
  }
}

await main();
