/**
 * The collections a server serves, by name.
 * - Named collections (`collections: { name: dir }`; `serve --collection DIR` names each by its
 *   directory's basename) are opened when the server starts.
 * - With a data directory, clients may also create and address collections by name inside it;
 *   those are opened on first use. A name must match COLLECTION_NAME_PATTERN and must resolve to a
 *   direct child of the data directory (symbolic links included): no `..`, no slashes (encoded or
 *   not), no absolute paths.
 * - pgvector collections (`collections: { name: 'postgres://...?collection=name' }`; `serve --store URL`
 *   names each by its `collection` parameter) are opened when the server starts, like named directories.
 * Each collection opens with the encoder of the model its manifest names (one per model, shared;
 * see EncoderPool). A collection whose model cannot be loaded is served without one: vector
 * searches work, text searches and upserts fail with ENCODER_REQUIRED.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Collection } from '../collection/collection.ts';
import type { CollectionApi } from '../collection/collection-api.ts';
import { isPostgresTarget, openCollection, readTargetManifest } from '../collection/open-collection.ts';
import { parsePgTarget } from '../collection/pgvector/target.ts';
import { MANIFEST_FILE } from '../collection/manifest.ts';
import type { IndexSpecInput } from '../index/index-spec.ts';
import type { IndexMetric } from '../index/vector-index.ts';
import { BiencoderError } from '../errors.ts';
import type { EncoderPool } from './encoder-pool.ts';
import { withTruncateDim } from '../encoders/truncated-encoder.ts';

export const COLLECTION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkCollectionName(name: unknown): string {
  if (typeof name !== 'string' || !COLLECTION_NAME_PATTERN.test(name)) {
    throw new BiencoderError(
      'INVALID_ARGUMENT',
      `invalid collection name ${JSON.stringify(name)}: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { details: { name } },
    );
  }
  return name;
}

export interface CollectionRegistryOptions {
  /** Collections served under fixed names: { name: directory or postgres:// URL }. */
  readonly collections?: Readonly<Record<string, string>>;
  /** A directory in which clients may create and address collections by name. */
  readonly dataDir?: string;
  readonly encoders: EncoderPool;
  /** Open every collection read-only (writes fail with READ_ONLY). Default false. */
  readonly readOnly?: boolean;
  /** Called when a collection is served without an encoder (its model could not be loaded). */
  readonly onWarning?: (message: string) => void;
}

export interface CreateOptions {
  /** A model the server has loaded (its id). */
  readonly model: string;
  readonly index?: IndexSpecInput;
  readonly metric?: IndexMetric;
  /** The keyword analyzer's language (CreateCollectionOptions.language). */
  readonly language?: string;
}

export class CollectionRegistry {
  readonly dataDir: string | undefined;
  readonly readOnly: boolean;
  readonly #fixed = new Map<string, string>();
  readonly #open = new Map<string, Promise<CollectionApi>>();
  readonly #ready = new Map<string, CollectionApi>();
  readonly #writes = new Set<Promise<unknown>>();
  readonly #encoders: EncoderPool;
  readonly #warn: (message: string) => void;
  #closing: Promise<void> | undefined;

  private constructor(options: CollectionRegistryOptions) {
    this.#encoders = options.encoders;
    this.readOnly = options.readOnly ?? false;
    this.#warn = options.onWarning ?? (() => undefined);
    if (options.dataDir !== undefined) {
      if (typeof options.dataDir !== 'string' || options.dataDir === '') throw new BiencoderError('INVALID_ARGUMENT', 'dataDir must be a non-empty path');
      mkdirSync(options.dataDir, { recursive: true });
      this.dataDir = realpathSync(options.dataDir);
    }
    const fixed = options.collections ?? {};
    if (typeof fixed !== 'object' || fixed === null || Array.isArray(fixed)) throw new BiencoderError('INVALID_ARGUMENT', 'collections must be an object { name: directory }');
    for (const [name, target] of Object.entries(fixed)) {
      checkCollectionName(name);
      if (typeof target !== 'string' || target === '') throw new BiencoderError('INVALID_ARGUMENT', `collection ${name}: the directory must be a non-empty path`);
      this.#fixed.set(name, isPostgresTarget(target) ? target : resolve(target));
    }
  }

  /** Creates a registry and opens its named collections (failing on the first that cannot be opened). */
  static async open(options: CollectionRegistryOptions): Promise<CollectionRegistry> {
    const registry = new CollectionRegistry(options);
    try {
      for (const name of registry.#fixed.keys()) await registry.get(name);
    } catch (error) {
      await registry.close();
      throw error;
    }
    return registry;
  }

  /** Names of the collections that can be addressed: the named ones and those in the data directory. */
  names(): string[] {
    const names = new Set(this.#fixed.keys());
    if (this.dataDir !== undefined) {
      for (const entry of readdirSync(this.dataDir, { withFileTypes: true })) {
        if (entry.isDirectory() && COLLECTION_NAME_PATTERN.test(entry.name) && existsSync(join(this.dataDir, entry.name, MANIFEST_FILE))) names.add(entry.name);
      }
    }
    return [...names].sort();
  }

  /** Every collection opened so far (directories and pgvector), by name. */
  opened(): [string, CollectionApi][] {
    return [...this.#ready];
  }

  /** The directory of a name in the data directory (checked: it cannot be anywhere else). */
  #dataPath(name: string): string {
    const dataDir = this.dataDir!;
    const path = join(dataDir, name);
    if (dirname(path) !== dataDir) throw new BiencoderError('INVALID_ARGUMENT', `invalid collection name ${JSON.stringify(name)}`);
    if (existsSync(path)) {
      const real = realpathSync(path);
      if (!real.startsWith(dataDir + sep) || lstatSync(path).isSymbolicLink()) {
        throw new BiencoderError('INVALID_ARGUMENT', `collection ${JSON.stringify(name)} resolves outside the data directory`, { details: { name } });
      }
    }
    return path;
  }

  #targetOf(name: string): string {
    checkCollectionName(name);
    const fixed = this.#fixed.get(name);
    if (fixed !== undefined) return fixed;
    if (this.dataDir === undefined) throw new BiencoderError('NOT_FOUND', `no collection named ${JSON.stringify(name)} (serving: ${[...this.#fixed.keys()].join(', ') || 'none'})`, { details: { name } });
    return this.#dataPath(name);
  }

  /** The open collection of a name (opening it on first use). NOT_FOUND when there is none. */
  get(name: string): Promise<CollectionApi> {
    if (this.#closing !== undefined) return Promise.reject(new BiencoderError('CLOSED', 'the server is shutting down'));
    let target: string;
    try {
      target = this.#targetOf(name);
    } catch (error) {
      return Promise.reject(error);
    }
    let opening = this.#open.get(name);
    if (opening === undefined) {
      opening = this.#openTarget(name, target);
      const p = opening;
      this.#open.set(name, p);
      p.then((c) => this.#ready.set(name, c), () => {
        if (this.#open.get(name) === p) this.#open.delete(name); // a later request may try again
      });
    }
    return opening;
  }

  /** Opens a directory or pgvector collection with the encoder its manifest names (NOT_FOUND when there is none). */
  async #openTarget(name: string, target: string): Promise<CollectionApi> {
    if (!isPostgresTarget(target) && !existsSync(join(target, MANIFEST_FILE))) {
      throw new BiencoderError('NOT_FOUND', `no collection named ${JSON.stringify(name)}${this.#fixed.has(name) ? ` (${target} holds no ${MANIFEST_FILE})` : ''}`, { details: { name } });
    }
    const manifest = await readTargetManifest(target);
    let encoder;
    try {
      // A Matryoshka collection gets the pool's encoder truncated as its manifest says.
      encoder = withTruncateDim(await this.#encoders.get(manifest.encoder.modelId), manifest.encoder.truncateDim);
    } catch (error) {
      this.#warn(`collection ${name}: model ${manifest.encoder.modelId} could not be loaded (${(error as Error).message}); serving it without an encoder (vector queries only)`);
    }
    return openCollection(target, { encoder, readOnly: this.readOnly });
  }

  /** Creates a collection in the data directory. */
  async create(name: string, options: CreateOptions): Promise<Collection> {
    if (this.#closing !== undefined) throw new BiencoderError('CLOSED', 'the server is shutting down');
    checkCollectionName(name);
    if (this.dataDir === undefined) throw new BiencoderError('READ_ONLY', 'this server has no data directory: collections cannot be created (start it with --data-dir)');
    if (this.readOnly) throw new BiencoderError('READ_ONLY', 'this server is read-only');
    if (this.#fixed.has(name) || this.#open.has(name)) throw new BiencoderError('ALREADY_EXISTS', `a collection named ${JSON.stringify(name)} exists`, { details: { name } });
    const dir = this.#dataPath(name);
    const encoder = await this.#encoders.get(options.model);
    const creating = Collection.create(dir, { encoder, index: options.index, metric: options.metric, language: options.language });
    this.#open.set(name, creating);
    try {
      const c = await creating;
      this.#ready.set(name, c);
      return c;
    } catch (error) {
      if (this.#open.get(name) === creating) this.#open.delete(name);
      throw error;
    }
  }

  /** Runs a write so that close() waits for it. */
  write<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(new BiencoderError('CLOSED', 'the server is shutting down'));
    const p = fn();
    this.#writes.add(p);
    const done = (): void => {
      this.#writes.delete(p);
    };
    p.then(done, done);
    return p;
  }

  /** Waits for the writes under way, then flushes and closes every collection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
      const all = await Promise.allSettled([...this.#open.values()]);
      const results = await Promise.allSettled(all.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    })();
    return this.#closing;
  }
}

/**
 * `serve --collection DIR... --store URL...`: each directory under its basename, each postgres:// URL
 * under its `collection` parameter (two with one name are an error).
 */
export function collectionsByBasename(dirs: readonly string[], stores: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of dirs) {
    const name = basename(resolve(dir));
    if (!COLLECTION_NAME_PATTERN.test(name)) throw new BiencoderError('INVALID_ARGUMENT', `the directory name ${JSON.stringify(name)} of ${dir} is not a valid collection name (letters, digits, '.', '_', '-')`);
    if (out[name] !== undefined) throw new BiencoderError('INVALID_ARGUMENT', `two collections would be named ${JSON.stringify(name)}: ${out[name]} and ${resolve(dir)}`);
    out[name] = resolve(dir);
  }
  for (const url of stores) {
    if (!isPostgresTarget(url)) throw new BiencoderError('INVALID_ARGUMENT', `--store must be a postgres:// or postgresql:// URL, got "${url}"; use --collection for a directory`);
    const target = parsePgTarget(url);
    if (out[target.collection] !== undefined) throw new BiencoderError('INVALID_ARGUMENT', `two collections would be named ${JSON.stringify(target.collection)}: ${out[target.collection]} and ${target.display}`);
    out[target.collection] = url;
  }
  return out;
}
