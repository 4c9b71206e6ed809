/**
 * The CLI's link between a --model argument, a collection's manifest and the encoder to load.
 * A local model directory is recorded by its absolute path, so that the collection can be reopened
 * (and its model found again) from any working directory.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Encoder } from '../encoders/encoder.ts';
import { DEFAULT_MODEL, loadEncoder } from '../encoders/load-encoder.ts';
import type { Manifest } from '../collection/manifest.ts';
import { readTargetManifest } from '../collection/open-collection.ts';
import { BiencoderError } from '../errors.ts';
import { encoderOptionsFrom, type ModelCliOptions } from './model-options.ts';

/** The model id a --model value stands for: an existing directory becomes its absolute path. */
export function modelIdFor(model: string | undefined): string {
  const id = model ?? DEFAULT_MODEL;
  if (id !== DEFAULT_MODEL && existsSync(id) && statSync(id).isDirectory()) return resolve(id);
  return id;
}

/** ENCODER_MISMATCH when an explicit --model is not the model the collection was built with (checked before loading anything). */
export function checkModelMatches(dir: string, manifest: Manifest, model: string | undefined): void {
  if (model === undefined) return;
  const wanted = modelIdFor(model);
  if (wanted !== manifest.encoder.modelId) {
    throw new BiencoderError(
      'ENCODER_MISMATCH',
      `the collection at ${dir} holds vectors of ${manifest.encoder.modelId}, but --model is ${wanted}; vectors of two models are never mixed: leave out --model to use the collection's model, or index into a new collection`,
      { details: { dir, collection: manifest.encoder.modelId, given: wanted } },
    );
  }
}

/**
 * Loads the encoder named in the manifest of the collection at a directory or postgres:// URL
 * (the --model, --dtype, --cache-dir, --offline options apply).
 */
export async function loadCollectionEncoder(target: string, opts: ModelCliOptions): Promise<{ manifest: Manifest; encoder: Encoder }> {
  const manifest = await readTargetManifest(target);
  checkModelMatches(target, manifest, opts.model);
  // A Matryoshka collection is searched with the same truncation it was indexed with.
  const encoder = await loadEncoder(manifest.encoder.modelId, { ...encoderOptionsFrom(opts), ...(manifest.encoder.truncateDim === undefined ? {} : { truncateDim: manifest.encoder.truncateDim }) });
  return { manifest, encoder };
}
