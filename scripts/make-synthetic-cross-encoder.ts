/**
 * Writes a deterministic random-weight BERT cross-encoder (hub layout, real ONNX).
 *
 *   node --import tsx scripts/make-synthetic-cross-encoder.ts OUT_DIR [--tiny] [--seed N] [--labels N]
 *     [--max-length N] [--activation DOTTED_PATH|none] [--legacy-activation-key] [--no-token-type-ids]
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isBiencoderError } from '../src/errors.ts';
import { makeSyntheticCrossEncoder, SYNTHETIC_CROSS_ENCODER_FILES, type SyntheticCrossEncoderOptions } from './synthetic-cross-encoder.ts';

const USAGE = `usage: make-synthetic-cross-encoder OUT_DIR [--tiny] [--seed N] [--labels N] [--max-length N]
       [--activation DOTTED_PATH|none] [--legacy-activation-key] [--no-token-type-ids]`;

class UsageError extends Error {}

function parseInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

function parseCli(argv: string[]): SyntheticCrossEncoderOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tiny: { type: 'boolean', default: false },
      seed: { type: 'string' },
      labels: { type: 'string' },
      'max-length': { type: 'string' },
      activation: { type: 'string' },
      'legacy-activation-key': { type: 'boolean', default: false },
      'no-token-type-ids': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError('expected exactly one OUT_DIR');
  const activation = values.activation;
  return {
    outDir: positionals[0],
    tiny: values.tiny,
    seed: parseInteger('--seed', values.seed),
    labels: parseInteger('--labels', values.labels),
    maxLength: parseInteger('--max-length', values['max-length']),
    ...(activation === undefined ? {} : { activationFn: activation === 'none' ? null : activation }),
    activationKey: values['legacy-activation-key'] ? 'sbert_ce_default_activation_function' : 'sentence_transformers',
    tokenTypeIds: !values['no-token-type-ids'],
  };
}

async function main(): Promise<void> {
  let options: SyntheticCrossEncoderOptions | 'help';
  try {
    options = parseCli(process.argv.slice(2));
  } catch (error) {
    console.error(`make-synthetic-cross-encoder: ${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  const started = performance.now();
  try {
    await makeSyntheticCrossEncoder(options);
  } catch (error) {
    if (isBiencoderError(error, 'INVALID_ARGUMENT')) {
      console.error(`make-synthetic-cross-encoder: ${error.message}\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const outDir = path.resolve(options.outDir);
  const seconds = (performance.now() - started) / 1000;
  console.log(`wrote synthetic ${options.tiny ? 'tiny ' : ''}cross-encoder (seed ${options.seed ?? 42}, ${options.labels ?? 1} label(s)) to ${outDir} in ${seconds.toFixed(1)} s:`);
  for (const file of SYNTHETIC_CROSS_ENCODER_FILES) {
    const { size } = await fs.stat(path.join(outDir, file));
    console.log(`  ${file.padEnd(28)} ${size.toString().padStart(12)} bytes`);
  }
}

await main();
