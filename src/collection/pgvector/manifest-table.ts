/**
 * The registry table biencoder_collections: one row per collection holding its manifest (the same JSON
 * as an embedded collection's manifest.json, validated by the same code), its table and its write
 * sequence. Every process opening the collection reads the manifest from here, so the encoder guard
 * (ENCODER_MISMATCH) holds across processes and machines.
 */
import { BiencoderError } from '../../errors.ts';
import { validateManifest, type Manifest } from '../manifest.ts';
import { sqlState, type Pool, type PoolClient } from './connection.ts';
import { REGISTRY_DDL, REGISTRY_TABLE } from './schema.ts';

export interface RegistryRow {
  readonly manifest: Manifest;
  readonly table: string;
  readonly seq: number;
}

/** Serializes concurrent collection creation (CREATE TABLE IF NOT EXISTS can race on a new registry). */
const CREATE_LOCK_KEY = 'biencoder_collections';

export async function lockRegistry(client: PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CREATE_LOCK_KEY]);
  await client.query(REGISTRY_DDL);
}

/** Reads a collection's registry row; NOT_FOUND when the registry or the row is missing. */
export async function readRegistryRow(db: Pool | PoolClient, name: string, where: string): Promise<RegistryRow> {
  let rows: { manifest: unknown; table_name: string; seq: string }[];
  try {
    ({ rows } = await db.query(`SELECT manifest, table_name, seq::text AS seq FROM ${REGISTRY_TABLE} WHERE name = $1`, [name]));
  } catch (error) {
    if (sqlState(error) === '42P01') throw notFound(name, where); // undefined_table: no collection was ever created here
    throw error;
  }
  if (rows.length === 0) throw notFound(name, where);
  const manifest = validateManifest(rows[0].manifest, `${where} (${REGISTRY_TABLE}.manifest)`);
  return { manifest, table: rows[0].table_name, seq: Number(rows[0].seq) };
}

function notFound(name: string, where: string): BiencoderError {
  return new BiencoderError('NOT_FOUND', `no collection named ${JSON.stringify(name)} at ${where}`, { details: { collection: name, where } });
}

export async function insertRegistryRow(client: PoolClient, name: string, table: string, manifest: Manifest): Promise<void> {
  await client.query(`INSERT INTO ${REGISTRY_TABLE} (name, table_name, manifest) VALUES ($1, $2, $3::jsonb)`, [name, table, JSON.stringify(manifest)]);
}

/** Bumps the write sequence inside a write transaction; returns the new sequence. */
export async function bumpSeq(client: PoolClient, name: string): Promise<number> {
  const { rows } = await client.query<{ seq: string }>(`UPDATE ${REGISTRY_TABLE} SET seq = seq + 1, updated_at = now() WHERE name = $1 RETURNING seq::text AS seq`, [name]);
  if (rows.length === 0) throw new BiencoderError('NOT_FOUND', `the collection ${JSON.stringify(name)} was dropped while it was open`);
  return Number(rows[0].seq);
}

export async function readSeq(db: Pool | PoolClient, name: string): Promise<number> {
  const { rows } = await db.query<{ seq: string }>(`SELECT seq::text AS seq FROM ${REGISTRY_TABLE} WHERE name = $1`, [name]);
  if (rows.length === 0) throw new BiencoderError('NOT_FOUND', `the collection ${JSON.stringify(name)} was dropped while it was open`);
  return Number(rows[0].seq);
}
