/**
 * checkCollection(dir): a read-only integrity check of a collection (takes no lock, changes nothing).
 *
 * Problems (ok: false): an invalid manifest; SQLite `PRAGMA integrity_check` failures; a document
 * without a vector, a vector without a document, a vector of the wrong size or with non-finite
 * values; a text whose sha256 is not the stored content hash; invalid metadata JSON; a deleted key
 * still holding a document; sequence bookkeeping out of order; an index file that cannot be loaded
 * or, once the writes recorded after it are replayed (as open() does), does not hold exactly the
 * document keys.
 * Warnings (ok stays true): a missing index file or one that lags the database (open() catches up),
 * a stale writer lock left by a dead process (the next writer recovers it), an active writer.
 * A damaged database file is INTEGRITY (DATABASE when it cannot be opened at all), with whatever the
 * checks could still read; it is never thrown. Read access is enough (see database-snapshot.ts); a
 * file this process may not read throws PERMISSION: the check could not run.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { BiencoderError, isBiencoderError } from '../errors.ts';
import { loadSavedIndex, replayChanges } from './index-sync.ts';
import { holderState, readLockHolder } from './lock.ts';
import { DATABASE_FILE, readManifest, type Manifest } from './manifest.ts';
import { connectDatabase } from './connect-database.ts';
import { SCHEMA_VERSION, Statements, readMetaState, type MetaState } from './store.ts';
import { isCorruption, sqliteCode, sqliteErrorOf } from './sqlite-errors.ts';

export type CheckProblemCode =
  | 'MANIFEST' | 'DATABASE' | 'INTEGRITY' | 'SCHEMA' | 'MISSING_VECTOR' | 'ORPHAN_VECTOR' | 'VECTOR_DIMS' | 'VECTOR_VALUES'
  | 'CONTENT_HASH' | 'METADATA' | 'SEQUENCE' | 'TOMBSTONE' | 'INDEX_UNREADABLE' | 'INDEX_SIZE' | 'INDEX_MEMBERSHIP';

export interface CheckProblem {
  readonly code: CheckProblemCode;
  readonly message: string;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly dir: string;
  readonly problems: CheckProblem[];
  readonly warnings: string[];
  readonly stats: {
    documents: number;
    vectors: number;
    tombstones: number;
    seq: number;
    /** The sequence the saved index file reflects. */
    indexSeq: number;
    /** Size of the index once caught up (undefined when it could not be loaded). */
    indexSize: number | undefined;
    /** Writes committed after the saved index. */
    indexLag: number;
  };
}

const SAMPLE = 5;

function sample<T>(items: T[], total: number): string {
  const shown = items.slice(0, SAMPLE).map((x) => JSON.stringify(x)).join(', ');
  return total > SAMPLE ? `${shown}, ... (${total} in all)` : shown;
}

/** Checks a collection directory; never throws for problems in the collection (only for a bad argument, or PERMISSION). */
export async function checkCollection(dir: string): Promise<CheckReport> {
  if (typeof dir !== 'string' || dir === '') throw new BiencoderError('INVALID_ARGUMENT', 'dir must be a non-empty path');
  const target = resolve(dir);
  const problems: CheckProblem[] = [];
  const warnings: string[] = [];
  const stats: CheckReport['stats'] = { documents: 0, vectors: 0, tombstones: 0, seq: 0, indexSeq: 0, indexSize: undefined, indexLag: 0 };
  const report = (): CheckReport => ({ ok: problems.length === 0, dir: target, problems, warnings, stats });
  const problem = (code: CheckProblemCode, message: string): void => {
    problems.push({ code, message });
  };

  let manifest: Manifest;
  try {
    manifest = readManifest(target);
  } catch (error) {
    problem('MANIFEST', (error as Error).message);
    return report();
  }
  const dims = manifest.dims;

  const holder = readLockHolder(target);
  if (holder !== undefined) {
    const state = holderState(holder);
    if (state === 'dead') warnings.push(`a stale writer lock of dead pid ${holder.pid} is present; the next writer recovers it`);
    else warnings.push(`a writer (pid ${holder.pid} on ${holder.hostname}) holds the lock${state === 'unknown' ? ' (another host)' : ''}; this check saw one snapshot`);
  }

  const dbPath = join(target, DATABASE_FILE);
  if (!existsSync(dbPath)) {
    problem('DATABASE', `${DATABASE_FILE} is missing`);
    return report();
  }
  let db: Database.Database;
  try {
    // Read-only, as search opens it: a reader without write access to the directory reads a snapshot.
    db = connectDatabase(dbPath, { readOnly: true });
  } catch (error) {
    if (isBiencoderError(error, 'PERMISSION')) throw error; // the check cannot run: not a problem of the collection
    const cause = sqliteErrorOf(error);
    problem(isCorruption(cause) ? 'INTEGRITY' : 'DATABASE', `cannot read ${DATABASE_FILE}: ${(cause as Error).message}`);
    return report();
  }
  try {
    try {
      const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check.replace(/\s+/g, ' ').trim());
      if (integrity.length !== 1 || integrity[0] !== 'ok') {
        problem('INTEGRITY', `SQLite integrity_check: ${integrity.slice(0, SAMPLE).join('; ')}${integrity.length > SAMPLE ? ` ... (${integrity.length} messages)` : ''}`);
      }
    } catch (error) {
      problem('INTEGRITY', `SQLite integrity_check stopped: ${(error as Error).message}`);
    }
    // A damaged page met by any of the checks below is reported like the rest: check never throws for it.
    try {
      let st: Statements;
      let meta: MetaState;
      try {
        st = new Statements(db);
        meta = readMetaState(db);
        const schema = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'schema_version'").get()?.value;
        const storedDims = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'dims'").get()?.value;
        if (schema === 1) warnings.push(`schema version 1 (before the keyword index): the next writable open migrates it to ${SCHEMA_VERSION}`);
        else if (schema !== SCHEMA_VERSION) problem('SCHEMA', `schema version ${String(schema)}, expected ${SCHEMA_VERSION}`);
        if (storedDims !== dims) problem('SCHEMA', `the database says ${String(storedDims)}-d vectors, the manifest ${dims}`);
      } catch (error) {
        problem(isCorruption(error) ? 'INTEGRITY' : 'SCHEMA', `the database schema is unusable: ${(error as Error).message}`);
        return report();
      }

      db.exec('BEGIN'); // one snapshot for everything below, even while a writer commits
      try {
        stats.seq = meta.seq;
        stats.indexSeq = meta.indexSeq;
        stats.indexLag = meta.seq - meta.indexSeq;
        stats.documents = st.count.get()!.n;
        stats.vectors = (db.prepare('SELECT count(*) AS n FROM vectors').get() as { n: number }).n;
        stats.tombstones = (db.prepare('SELECT count(*) AS n FROM tombstones').get() as { n: number }).n;
        if (meta.indexSeq > meta.seq) problem('SEQUENCE', `the index checkpoint ${meta.indexSeq} is ahead of the last write ${meta.seq}`);
        if (meta.prunedThrough > meta.indexSeq) problem('SEQUENCE', `tombstones were pruned through ${meta.prunedThrough}, past the index checkpoint ${meta.indexSeq}`);

        const missing = db.prepare('SELECT d.id FROM docs d LEFT JOIN vectors v ON v.key = d.key WHERE v.key IS NULL').pluck().all() as string[];
        if (missing.length > 0) problem('MISSING_VECTOR', `${missing.length} documents have no vector: ${sample(missing, missing.length)}`);
        const orphans = db.prepare('SELECT v.key FROM vectors v LEFT JOIN docs d ON d.key = v.key WHERE d.key IS NULL').pluck().all() as number[];
        if (orphans.length > 0) problem('ORPHAN_VECTOR', `${orphans.length} vectors belong to no document: keys ${sample(orphans, orphans.length)}`);
        const zombies = db.prepare('SELECT t.key FROM tombstones t JOIN docs d ON d.key = t.key').pluck().all() as number[];
        if (zombies.length > 0) problem('TOMBSTONE', `${zombies.length} deleted keys still hold documents: ${sample(zombies, zombies.length)}`);

        // Vectors: size and values.
        const badSize: number[] = [];
        const badValues: number[] = [];
        const f32 = new Float32Array(dims);
        const bytes = new Uint8Array(f32.buffer);
        for (const row of db.prepare('SELECT key, vector FROM vectors').raw().iterate() as Iterable<[number, unknown]>) {
          const [key, blob] = row;
          if (!Buffer.isBuffer(blob) || blob.byteLength !== dims * 4) {
            badSize.push(key);
            continue;
          }
          bytes.set(blob);
          for (let i = 0; i < dims; i++) {
            if (!Number.isFinite(f32[i])) {
              badValues.push(key);
              break;
            }
          }
        }
        if (badSize.length > 0) problem('VECTOR_DIMS', `${badSize.length} vectors are not ${dims}-d f32 (${dims * 4} bytes): keys ${sample(badSize, badSize.length)}`);
        if (badValues.length > 0) problem('VECTOR_VALUES', `${badValues.length} vectors hold NaN or infinite values: keys ${sample(badValues, badValues.length)}`);

        // Documents: content hashes, metadata, sequences.
        const badHash: string[] = [];
        const badMeta: string[] = [];
        const badSeq: string[] = [];
        for (const row of db.prepare('SELECT id, text, hash, metadata, seq FROM docs').raw().iterate() as Iterable<[string, string, Buffer, string, number]>) {
          const [id, text, hash, metadata, seq] = row;
          if (!Buffer.isBuffer(hash) || !createHash('sha256').update(text, 'utf8').digest().equals(hash)) badHash.push(id);
          try {
            const m = JSON.parse(metadata) as unknown;
            if (typeof m !== 'object' || m === null || Array.isArray(m)) badMeta.push(id);
          } catch {
            badMeta.push(id);
          }
          if (seq > meta.seq) badSeq.push(id);
        }
        if (badHash.length > 0) problem('CONTENT_HASH', `${badHash.length} documents' texts do not match their content hash: ${sample(badHash, badHash.length)}`);
        if (badMeta.length > 0) problem('METADATA', `${badMeta.length} documents have invalid metadata JSON: ${sample(badMeta, badMeta.length)}`);
        if (badSeq.length > 0) problem('SEQUENCE', `${badSeq.length} documents carry a sequence after the last write ${meta.seq}: ${sample(badSeq, badSeq.length)}`);

        // The index: load it, replay what was written after it (as open() does), compare with the documents.
        const saved = await loadSavedIndex(target, manifest.index, meta.indexSeq, { dims, metric: manifest.metric });
        if (saved.index === undefined && saved.missing && stats.documents === 0) {
          stats.indexSize = 0; // an empty index is saved as no file
        } else if (saved.index === undefined) {
          if (saved.missing) warnings.push(`${saved.reason}; the index is rebuilt from the stored vectors on the next open`);
          else problem('INDEX_UNREADABLE', `${saved.reason}; the next open rebuilds it`);
        } else if (meta.indexSeq <= meta.seq && meta.prunedThrough <= meta.indexSeq && missing.length === 0 && badSize.length === 0) {
          const index = saved.index;
          if (stats.indexLag > 0) warnings.push(`${saved.name} is ${stats.indexLag} writes behind the database; open() catches it up`);
          try {
            replayChanges(index, st, meta.indexSeq, dims);
            stats.indexSize = index.size;
            if (index.size !== stats.documents) problem('INDEX_SIZE', `the index holds ${index.size} vectors, the database ${stats.documents} documents`);
            const absent: number[] = [];
            for (const key of db.prepare('SELECT key FROM docs').pluck().iterate() as Iterable<number>) {
              if (!index.has(BigInt(key))) absent.push(key);
            }
            if (absent.length > 0) problem('INDEX_MEMBERSHIP', `${absent.length} document keys are not in the index: ${sample(absent, absent.length)}`);
          } catch (error) {
            problem('INDEX_UNREADABLE', `replaying the writes after the index failed: ${(error as Error).message}`);
          }
        }
      } finally {
        db.exec('COMMIT');
      }
    } catch (error) {
      const cause = sqliteErrorOf(error);
      if (sqliteCode(cause) === undefined) throw error;
      problem(isCorruption(cause) ? 'INTEGRITY' : 'DATABASE', `reading ${DATABASE_FILE} failed, so the checks of its contents are incomplete: ${(cause as Error).message}`);
    }
  } finally {
    db.close();
  }
  return report();
}
