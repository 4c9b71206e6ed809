/**
 * Scaling a pgvector collection out with Citus: its tables distributed by id, the postings colocated
 * with their documents (both are keyed by id, as the hash partitions are), the registry a reference
 * table on every node. The same schema as a plain or hash-partitioned collection (schema.ts).
 *
 * NOT VERIFIED: Citus cannot be installed in the environment this was written in (no Debian package,
 * no network), so neither this function nor the store's statements have run on a Citus cluster. What
 * its documentation says the store would meet is in docs/pgvector.md ("Citus"); the statements
 * below follow its create_distributed_table / create_reference_table API. Without the citus extension
 * the call is refused (UNSUPPORTED) before anything changes.
 */
import { BiencoderError } from '../../errors.ts';
import { createPool, inTransaction, storeError } from './connection.ts';
import { REGISTRY_TABLE, quoteIdent, tableNames } from './schema.ts';
import { parsePgTarget } from './target.ts';

/** The statements that distribute a collection, in order (the registry only when it is not distributed yet). */
export function citusDistributionStatements(collection: string, registryDistributed: boolean): string[] {
  const names = tableNames(collection);
  const literal = (name: string): string => `'${quoteIdent(name).replaceAll("'", "''")}'`;
  return [
    ...(registryDistributed ? [] : [`SELECT create_reference_table(${literal(REGISTRY_TABLE)})`]),
    `SELECT create_distributed_table(${literal(names.table)}, 'id')`,
    `SELECT create_distributed_table(${literal(names.terms)}, 'id', colocate_with => ${literal(names.table)})`,
  ];
}

/**
 * Distributes the collection at `url` over a Citus cluster (run on the coordinator, with pgvector
 * installed on every node). UNSUPPORTED when the database has no citus extension.
 */
export async function distributeWithCitus(url: string, options: { readonly collection?: string } = {}): Promise<string[]> {
  const target = parsePgTarget(url, options.collection);
  const pool = createPool(target.connectionString, 1);
  try {
    return await inTransaction(pool, async (client) => {
      const citus = await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'citus'`);
      if (citus.rows.length === 0) {
        throw new BiencoderError('UNSUPPORTED', `the database at ${target.display} has no citus extension: distributing a collection needs a Citus coordinator (CREATE EXTENSION citus)`);
      }
      const registry = await client.query(`SELECT 1 FROM pg_dist_partition WHERE logicalrelid = $1::regclass`, [REGISTRY_TABLE]);
      const statements = citusDistributionStatements(target.collection, registry.rows.length > 0);
      for (const sql of statements) await client.query(sql);
      return statements;
    });
  } catch (error) {
    throw storeError(error, 'distributing the collection with Citus', target.display);
  } finally {
    await pool.end();
  }
}
