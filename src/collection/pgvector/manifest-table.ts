/**
 * The registry table biencoder_collections: one row per collection holding its manifest (the same JSON
 * as an embedded collection's manifest.json, validated by the same code), its table and its write
 * sequence. Every process opening the collection reads the manifest from here, so the encoder guard
 * (ENCODER_MISMATCH) holds across processes and machines.
 */
import { BiencoderError } from '../../errors.ts';
import { validateManifest, type Manifest } from '../manifest.ts';
import { sqlState, type Pool, type PoolClient } from './connection.ts';
import { REGISTRY_DDL, REGISTRY_TABLE, REGISTRY_UPGRADE_DDL } from './schema.ts';

export interface RegistryRow {
  readonly manifest: Manifest;
  readonly table: string;
  readonly seq: number;
  /** Documents and their total length in terms, kept with the keyword postings; undefined while those are not built. */
  readonly docCount: number | undefined;
  readonly termCount: number | undefined;
}

/** Serializes concurrent collection creation (CREATE TABLE IF NOT EXISTS can race on a new registry). */
const CREATE_LOCK_KEY = 'biencoder_collections';

export async function lockRegistry(client: PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CREATE_LOCK_KEY]);
  await client.query(REGISTRY_DDL);
  await upgradeRegistry(client);
}

/** Adds the statistics' columns to a registry made before keyword search (a no-op once they exist). */
export async function upgradeRegistry(client: PoolClient): Promise<void> {
  const { rows } = await client.query(`SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'term_count' AND NOT attisdropped`, [REGISTRY_TABLE]);
  if (rows.length === 0) await client.query(REGISTRY_UPGRADE_DDL);
}

/** Reads a collection's registry row; NOT_FOUND when the registry or the row is missing. */
export async function readRegistryRow(db: Pool | PoolClient, name: string, where: string): Promise<RegistryRow> {
  let rows: { manifest: unknown; table_name: string; seq: string; doc_count: string | null; term_count: string | null }[];
  try {
    // to_jsonb(r) reads the statistics' columns as null from a registry made before them (REGISTRY_UPGRADE_DDL).
    ({ rows } = await db.query(
      `SELECT manifest, table_name, seq::text AS seq, to_jsonb(r) ->> 'doc_count' AS doc_count, to_jsonb(r) ->> 'term_count' AS term_count FROM ${REGISTRY_TABLE} AS r WHERE name = $1`,
      [name],
    ));
  } catch (error) {
    if (sqlState(error) === '42P01') throw notFound(name, where); // undefined_table: no collection was ever created here
    throw error;
  }
  if (rows.length === 0) throw notFound(name, where);
  const manifest = validateManifest(rows[0].manifest, `${where} (${REGISTRY_TABLE}.manifest)`);
  const r = rows[0];
  return {
    manifest, table: r.table_name, seq: Number(r.seq),
    docCount: r.doc_count === null ? undefined : Number(r.doc_count), termCount: r.term_count === null ? undefined : Number(r.term_count),
  };
}

function notFound(name: string, where: string): BiencoderError {
  return new BiencoderError('NOT_FOUND', `no collection named ${JSON.stringify(name)} at ${where}`, { details: { collection: name, where } });
}

export async function insertRegistryRow(client: PoolClient, name: string, table: string, manifest: Manifest): Promise<void> {
  await client.query(`INSERT INTO ${REGISTRY_TABLE} (name, table_name, manifest, doc_count, term_count) VALUES ($1, $2, $3::jsonb, 0, 0)`, [name, table, JSON.stringify(manifest)]);
}

/** How a write changed the documents and their total length in terms (the BM25 statistics). */
export interface StatsDelta {
  readonly docs: number;
  readonly terms: number;
}

/**
 * Bumps the write sequence inside a write transaction, adding the write's changes to the statistics;
 * returns the new sequence. Every writer updates this row last, after its documents' rows.
 */
export async function bumpSeq(client: PoolClient, name: string, delta: StatsDelta = { docs: 0, terms: 0 }): Promise<number> {
  const { rows } = await client.query<{ seq: string }>(
    `UPDATE ${REGISTRY_TABLE} SET seq = seq + 1, doc_count = doc_count + $2, term_count = term_count + $3, updated_at = now() WHERE name = $1 RETURNING seq::text AS seq`,
    [name, delta.docs, delta.terms],
  );
  if (rows.length === 0) throw new BiencoderError('NOT_FOUND', `the collection ${JSON.stringify(name)} was dropped while it was open`);
  return Number(rows[0].seq);
}

export async function readSeq(db: Pool | PoolClient, name: string): Promise<number> {
  const { rows } = await db.query<{ seq: string }>(`SELECT seq::text AS seq FROM ${REGISTRY_TABLE} WHERE name = $1`, [name]);
  if (rows.length === 0) throw new BiencoderError('NOT_FOUND', `the collection ${JSON.stringify(name)} was dropped while it was open`);
  return Number(rows[0].seq);
}
