/**
 * Read-only queries over a collection's stored rows that the Collection API does not offer: the ids
 * matching a metadata filter (for `biencoder delete --filter` and deleting a document's chunks) and
 * the document / chunk tallies (for `biencoder info`). A separate read-only SQLite connection: it
 * takes no lock and sees every committed write.
 */
import { join, resolve } from 'node:path';
import { CHUNK_METADATA_KEY } from '../chunking/group-by-document.ts';
import { compileFilter, type MetadataFilter } from '../collection/filter.ts';
import { DATABASE_FILE, readManifest } from '../collection/manifest.ts';
import { openDatabase, type Db } from '../collection/store.ts';

function withDatabase<T>(dir: string, run: (db: Db) => T): T {
  const target = resolve(dir);
  const manifest = readManifest(target);
  const db = openDatabase(join(target, DATABASE_FILE), { readOnly: true, dims: manifest.dims });
  try {
    return run(db);
  } finally {
    db.close();
  }
}

/** The ids of the rows whose metadata match a filter (the search filter language), in insertion order. */
export function idsMatching(dir: string, filter: MetadataFilter): string[] {
  const { sql, params } = compileFilter(filter, 'metadata');
  return withDatabase(dir, (db) => db.prepare(`SELECT id FROM docs WHERE ${sql} ORDER BY key`).pluck().all(params) as string[]);
}

/** The ids of the stored chunks of these documents (rows whose metadata._chunk.parent is one of them). */
export function chunkIdsOf(dir: string, parents: readonly string[]): string[] {
  if (parents.length === 0) return [];
  return idsMatching(dir, { [`${CHUNK_METADATA_KEY}.parent`]: { $in: [...parents] } });
}

export interface RowTally {
  /** Rows: whole documents plus chunks. */
  readonly rows: number;
  /** Rows that are chunks of a longer document. */
  readonly chunks: number;
  /** Distinct documents: unchunked rows plus the distinct parents of chunks. */
  readonly documents: number;
}

export function tallyRows(dir: string): RowTally {
  const path = `'$.${CHUNK_METADATA_KEY}.parent'`;
  return withDatabase(dir, (db) => {
    const r = db
      .prepare(`SELECT count(*) AS rows, count(json_extract(metadata, ${path})) AS chunks, count(DISTINCT json_extract(metadata, ${path})) AS parents FROM docs`)
      .get() as { rows: number; chunks: number; parents: number };
    return { rows: r.rows, chunks: r.chunks, documents: r.rows - r.chunks + r.parents };
  });
}
