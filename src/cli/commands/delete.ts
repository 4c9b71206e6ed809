import { resolve } from 'node:path';
import { Command } from 'commander';
import { Collection } from '../../collection/collection.ts';
import { removeCollectionDirectory } from '../../collection/remove-collection.ts';
import { chunkIdsOf, idsMatching } from '../../ingest/stored-documents.ts';
import { filterOption, usageError } from '../cli-options.ts';
import { lockedForCommandLine } from '../locked-collection.ts';

interface DeleteCliOptions {
  collection: string;
  id?: string[];
  filter?: string;
  all?: boolean;
  yes?: boolean;
  json?: boolean;
}

export interface DeleteResult {
  readonly dir: string;
  /** Rows deleted (documents and chunks). */
  readonly deleted: number;
  /** --id values that matched nothing. */
  readonly notFound: string[];
  /** --all: the collection directory was removed. */
  readonly removedCollection: boolean;
}

/** Deletes documents by id: each id's own row and its chunks (`id#n`). */
export async function deleteDocuments(dir: string, ids: readonly string[]): Promise<DeleteResult> {
  const target = resolve(dir);
  const collection = await Collection.open(target);
  try {
    const wanted = [...new Set(ids)];
    const present = await collection.get(wanted);
    const chunks = chunkIdsOf(target, wanted);
    const withChunks = new Set(chunks.map((id) => id.slice(0, id.lastIndexOf('#'))));
    const notFound = wanted.filter((id, i) => present[i] === undefined && !withChunks.has(id));
    const deleted = await collection.delete([...wanted.filter((_, i) => present[i] !== undefined), ...chunks]);
    return { dir: target, deleted, notFound, removedCollection: false };
  } finally {
    await collection.close();
  }
}

/** Deletes every row (document or chunk) whose metadata match the filter. */
export async function deleteMatching(dir: string, filter: Parameters<typeof idsMatching>[1]): Promise<DeleteResult> {
  const target = resolve(dir);
  const collection = await Collection.open(target);
  try {
    const ids = idsMatching(target, filter);
    const deleted = ids.length > 0 ? await collection.delete(ids) : 0;
    return { dir: target, deleted, notFound: [], removedCollection: false };
  } finally {
    await collection.close();
  }
}

/**
 * Removes a whole collection directory (see remove-collection.ts): refuses a directory that is not a
 * collection and one held by a live writer; a crash never leaves half a collection at `dir`.
 */
export function removeCollection(dir: string): DeleteResult {
  const target = resolve(dir);
  removeCollectionDirectory(target);
  return { dir: target, deleted: 0, notFound: [], removedCollection: true };
}

export function deleteCommand(): Command {
  return new Command('delete')
    .description('Delete documents (with their chunks) from a collection, or a whole collection.')
    .addHelpText(
      'after',
      `
  biencoder delete --collection DIR --id ID...     documents by id (with their chunks)
  biencoder delete --collection DIR --filter JSON  every document or chunk whose metadata match
  biencoder delete --collection DIR --all --yes    remove the collection directory

Exit codes: 0 done, 1 failure, 2 usage error.`,
    )
    .requiredOption('--collection <dir>', 'the collection directory')
    .option('--id <ids...>', 'document ids to delete')
    .option('--filter <json>', 'delete what matches this metadata filter (the search filter language)')
    .option('--all', 'remove the whole collection (needs --yes)')
    .option('--yes', 'confirm --all')
    .option('--json', 'print the result as JSON')
    .action(async (opts: DeleteCliOptions, cmd: Command) => {
      const modes = [opts.id !== undefined, opts.filter !== undefined, opts.all === true].filter(Boolean).length;
      if (modes !== 1) usageError(cmd, 'give exactly one of --id, --filter or --all');
      let result: DeleteResult;
      if (opts.all && !opts.yes) usageError(cmd, `refusing to remove the collection at ${resolve(opts.collection)} without --yes`);
      const filter = opts.filter === undefined ? undefined : filterOption(cmd, opts.filter)!;
      try {
        if (opts.all) result = removeCollection(opts.collection);
        else if (filter !== undefined) result = await deleteMatching(opts.collection, filter);
        else result = await deleteDocuments(opts.collection, opts.id!);
      } catch (error) {
        throw lockedForCommandLine(error, resolve(opts.collection));
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      if (result.removedCollection) {
        process.stdout.write(`removed the collection ${result.dir}\n`);
        return;
      }
      process.stdout.write(`deleted ${result.deleted} row(s) (documents and chunks) from ${result.dir}\n`);
      if (result.notFound.length > 0) process.stderr.write(`biencoder: not found: ${result.notFound.map((id) => JSON.stringify(id)).join(', ')}\n`);
    });
}
