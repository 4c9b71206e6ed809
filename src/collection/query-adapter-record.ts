/**
 * A collection's query adapter (src/tune): the manifest's record of it and the checks made when a
 * collection loads it, shared by both stores. The adapter belongs to the collection's model: a file
 * made for another model, or whose bytes are not those the manifest recorded, is COLLECTION_CORRUPT.
 */
import { createHash } from 'node:crypto';
import { BiencoderError } from '../errors.ts';
import { QueryAdapter } from '../tune/query-adapter.ts';
import type { Manifest, QueryAdapterRecord } from './manifest.ts';

/** The adapter file's name: its checksum in it, so that a new adapter never overwrites the one the manifest names. */
export function adapterFileName(bytes: Buffer): string {
  return `query-adapter-${sha256(bytes).slice(0, 16)}.bin`;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The bytes and manifest record of an adapter to store with a collection (INVALID_ARGUMENT when it does not fit the collection). */
export function adapterRecord(adapter: QueryAdapter, manifest: Manifest, validation?: Readonly<Record<string, unknown>>): { bytes: Buffer; record: QueryAdapterRecord } {
  if (!(adapter instanceof QueryAdapter)) throw new BiencoderError('INVALID_ARGUMENT', 'setQueryAdapter takes a QueryAdapter (from trainQueryAdapter)');
  if (adapter.dims !== manifest.dims) {
    throw new BiencoderError('DIMENSION_MISMATCH', `the query adapter maps ${adapter.dims}-d vectors; the collection holds ${manifest.dims}-d vectors`);
  }
  const baseModel = { modelId: manifest.encoder.modelId, revision: manifest.encoder.revision };
  const bytes = adapter.serialize({ modelId: baseModel.modelId, ...(baseModel.revision === null ? {} : { revision: baseModel.revision }) }, validation);
  const record: QueryAdapterRecord = {
    file: adapterFileName(bytes), sha256: sha256(bytes), baseModel, rank: adapter.rank, createdAt: new Date().toISOString(),
    ...(validation === undefined ? {} : { validation }),
  };
  return { bytes, record };
}

/**
 * A collection's adapter as loaded at open: the adapter, or the error that its text queries meet (a
 * missing or damaged adapter does not stop the collection from opening: vector queries, `adapter: false`
 * and removeQueryAdapter() still work, so that nothing stored is out of reach and the remedy can run).
 */
export interface LoadedAdapter {
  readonly adapter?: QueryAdapter;
  readonly error?: BiencoderError;
}

export function loadedAdapter(load: () => QueryAdapter): LoadedAdapter {
  try {
    return { adapter: load() };
  } catch (error) {
    if (error instanceof BiencoderError) return { error };
    throw error;
  }
}

/** The adapter the manifest records, from its stored bytes, checked against the record and the collection's model. */
export function loadRecordedAdapter(bytes: Buffer, manifest: Manifest, where: string): QueryAdapter {
  const record = manifest.queryAdapter!;
  if (sha256(bytes) !== record.sha256) {
    throw new BiencoderError('COLLECTION_CORRUPT', `the query adapter ${where} does not match the checksum in the collection's manifest: text queries cannot be embedded through it (search with adapter: false, remove it with \`biencoder tune --remove\`, or train it again)`, { details: { where } });
  }
  const { adapter, header } = QueryAdapter.parse(bytes, where);
  const model = manifest.encoder;
  if (header.baseModel.modelId !== model.modelId || (header.baseModel.revision ?? null) !== model.revision || adapter.dims !== manifest.dims) {
    throw new BiencoderError('COLLECTION_CORRUPT', `the query adapter ${where} was trained for ${header.baseModel.modelId}@${header.baseModel.revision ?? '(no revision)'} (${adapter.dims}-d); the collection holds ${model.modelId}@${model.revision ?? '(no revision)'} (${manifest.dims}-d)`, { details: { where } });
  }
  return adapter;
}
