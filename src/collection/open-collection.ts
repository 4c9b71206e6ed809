/**
 * One entry point for both stores: a directory is an embedded collection (Collection: SQLite + usearch),
 * a postgres:// or postgresql:// URL a pgvector collection (PgvectorCollection). The URL names the
 * collection with a `collection` query parameter (default "default"), e.g.
 *
 *   await openCollection('./my-collection', { encoder });
 *   await openCollection('postgres://app:secret@db:5432/search?collection=articles', { encoder });
 *
 * Options that only one store understands are ignored by the other (autoFlushChanges: embedded;
 * poolSize, collection and partitions: pgvector). The pgvector store (and with it `pg`) is loaded on first use,
 * so an application of directories never loads a PostgreSQL client.
 */
import { resolve } from 'node:path';
import type { Encoder } from '../encoders/encoder.ts';
import type { IndexMetric } from '../index/vector-index.ts';
import { Collection, type EncoderDescriptor } from './collection.ts';
import type { CollectionApi } from './collection-api.ts';
import type { IndexSpecInput } from './index-backend.ts';
import { readManifest, type Manifest } from './manifest.ts';
import type { PgvectorCollection } from './pgvector/pgvector-collection.ts';
import { isPostgresUrl } from './pgvector/target.ts';

export interface OpenTargetOptions {
  /** The encoder for upsert() and text queries (checked against the collection's manifest). */
  readonly encoder?: Encoder;
  /** Embedded: open without the writer lock; pgvector: refuse writes. */
  readonly readOnly?: boolean;
  /** Embedded only: see OpenCollectionOptions.autoFlushChanges. */
  readonly autoFlushChanges?: number;
  /** pgvector only: the collection name (overrides the URL's `collection` parameter). */
  readonly collection?: string;
  /** pgvector only: connections in the pool (default 4). */
  readonly poolSize?: number;
}

export interface CreateTargetOptions extends Omit<OpenTargetOptions, 'encoder' | 'readOnly'> {
  readonly encoder: Encoder | EncoderDescriptor;
  readonly index?: IndexSpecInput;
  readonly metric?: IndexMetric;
  /** The keyword analyzer's language (CreateCollectionOptions.language), on both stores. */
  readonly language?: string;
  /** pgvector only: hash partitions of the tables (PgvectorCreateOptions.partitions). */
  readonly partitions?: number;
}

async function pgvectorStore(): Promise<typeof PgvectorCollection> {
  return (await import('./pgvector/pgvector-collection.ts')).PgvectorCollection;
}

/** True when `target` is a postgres:// or postgresql:// URL (a pgvector collection), false for a directory. */
export function isPostgresTarget(target: string): boolean {
  return isPostgresUrl(target);
}

/** Opens the collection at a directory or postgres:// URL. */
export async function openCollection(target: string, options: OpenTargetOptions = {}): Promise<CollectionApi> {
  if (isPostgresUrl(target)) {
    return (await pgvectorStore()).open(target, { encoder: options.encoder, readOnly: options.readOnly, collection: options.collection, poolSize: options.poolSize });
  }
  return Collection.open(target, { encoder: options.encoder, readOnly: options.readOnly, autoFlushChanges: options.autoFlushChanges });
}

/** Creates a collection at a directory or postgres:// URL and opens it for writing. */
export async function createCollection(target: string, options: CreateTargetOptions): Promise<CollectionApi> {
  if (isPostgresUrl(target)) {
    return (await pgvectorStore()).create(target, {
      encoder: options.encoder, index: options.index, metric: options.metric, collection: options.collection, poolSize: options.poolSize,
      language: options.language, partitions: options.partitions,
    });
  }
  return Collection.create(target, { encoder: options.encoder, index: options.index, metric: options.metric, autoFlushChanges: options.autoFlushChanges, language: options.language });
}

/**
 * The manifest of the collection at a directory or postgres:// URL (to find its model before loading
 * an encoder): NOT_FOUND when there is none.
 */
export async function readTargetManifest(target: string, options: Pick<OpenTargetOptions, 'collection'> = {}): Promise<Manifest> {
  if (!isPostgresUrl(target)) return readManifest(resolve(target));
  const c = await (await pgvectorStore()).open(target, { collection: options.collection, readOnly: true, poolSize: 1 });
  try {
    return c.manifest;
  } finally {
    await c.close();
  }
}
