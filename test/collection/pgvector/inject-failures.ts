/**
 * Failures raised by the server itself, for tests: a statement trigger on a collection's table raises a
 * SQLSTATE for the next N write statements (a sequence counts them: nextval survives the rollback).
 */
import type { PgvectorCollection } from '../../../src/collection/pgvector/pgvector-collection.ts';
import type { PgServer } from '../../helpers/pglite-server.ts';

/** Makes the next `failures` write statements on the collection's table fail with `state`; returns a reader of how many statements reached the trigger so far. */
export async function injectFailures(server: PgServer, c: PgvectorCollection, state: string, failures: number): Promise<() => Promise<number>> {
  const table = `biencoder_${c.collectionName}`;
  const seq = `${table}_inject_seq`;
  await server.query(`DROP TRIGGER IF EXISTS inject ON ${table}`);
  await server.query(`DROP SEQUENCE IF EXISTS ${seq}`);
  await server.query(`CREATE SEQUENCE ${seq}`);
  await server.query(`CREATE OR REPLACE FUNCTION ${table}_inject() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('${seq}') <= ${failures} THEN RAISE EXCEPTION 'injected failure' USING ERRCODE = '${state}'; END IF;
      RETURN NULL;
    END $$`);
  await server.query(`CREATE TRIGGER inject BEFORE INSERT OR UPDATE OR DELETE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${table}_inject()`);
  return async () => Number((await server.query<{ n: string }>(`SELECT last_value AS n FROM ${seq}`)).rows[0].n);
}

export async function removeInjection(server: PgServer, c: PgvectorCollection): Promise<void> {
  await server.query(`DROP TRIGGER IF EXISTS inject ON biencoder_${c.collectionName}`);
}
