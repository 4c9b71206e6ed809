import { join } from 'node:path';
import { makeSyntheticCrossEncoder, type SyntheticCrossEncoderOptions } from '../../scripts/synthetic-cross-encoder.ts';

/** Writes a synthetic cross-encoder (tiny unless told otherwise) into root/name and returns its directory. */
export async function syntheticCrossEncoder(root: string, name: string, options: Omit<SyntheticCrossEncoderOptions, 'outDir'> = {}): Promise<string> {
  const outDir = join(root, name);
  await makeSyntheticCrossEncoder({ tiny: true, ...options, outDir });
  return outDir;
}
