/**
 * Writers against writers on the pgvector store: a write that loses a deadlock (40P01) or a serialization
 * conflict (40001) is run again and stays all-or-nothing; rows are locked in one order whatever order the
 * caller gave. Failures are injected by the server itself: a statement trigger on the collection's table
 * raises the SQLSTATE for the first N statements (a sequence counts them: nextval survives the rollback).
 * The two-connection deadlock needs a real server (BIENCODER_PG_URL): PGlite runs every query on one
 * connection, so writers there never hold locks at the same time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PgvectorCollection } from '../../../src/collection/pgvector/pgvector-collection.ts';
import { DEFAULT_RETRY, isRetryableConflict } from '../../../src/collection/pgvector/connection.ts';
import { pgServerForFile } from '../../helpers/pglite-server.ts';
import { rejectsWith, unitVector } from '../helpers.ts';

const server = pgServerForFile();
const DIMS = 4;

/** Makes the next `failures` write statements on the collection's table fail with `state`; returns how many statements reached the trigger so far. */
async function injectFailures(c: PgvectorCollection, state: string, failures: number): Promise<() => Promise<number>> {
  const table = `biencoder_${c.collectionName}`;
  const seq = `${table}_inject_seq`;
  await server.query(`DROP TRIGGER IF EXISTS inject ON ${table}`);
  await server.query(`DROP SEQUENCE IF EXISTS ${seq}`);
  await server.query(`CREATE SEQUENCE ${seq}`);
  await server.query(`CREATE OR REPLACE FUNCTION ${table}_inject() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('${seq}') <= ${failures} THEN RAISE EXCEPTION 'injected conflict' USING ERRCODE = '${state}'; END IF;
      RETURN NULL;
    END $$`);
  await server.query(`CREATE TRIGGER inject BEFORE INSERT OR UPDATE OR DELETE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${table}_inject()`);
  return async () => Number((await server.query<{ n: string }>(`SELECT last_value AS n FROM ${seq}`)).rows[0].n);
}

async function removeInjection(c: PgvectorCollection): Promise<void> {
  await server.query(`DROP TRIGGER IF EXISTS inject ON biencoder_${c.collectionName}`);
}

const docs = (ids: readonly string[], seed: number) => ids.map((id, i) => ({ id, vector: unitVector(DIMS, seed, i), metadata: { seed } }));

test('isRetryableConflict: deadlocks and serialization failures only', () => {
  assert.equal(isRetryableConflict({ code: '40P01' }), true);
  assert.equal(isRetryableConflict({ code: '40001' }), true);
  for (const code of ['23505', '42501', '25006', '57P01', undefined]) assert.equal(isRetryableConflict({ code }), false, String(code));
});

test('a write that loses a deadlock or serialization conflict is run again, and counts once', async () => {
  for (const state of ['40P01', '40001']) {
    const c = await PgvectorCollection.create(server.collectionUrl('retry'), { encoder: { modelId: 'm', dims: DIMS } });
    await c.upsertVectors(docs(['a', 'b'], 1));
    const reached = await injectFailures(c, state, 2);
    const written = await c.upsertVectors(docs(['c', 'b', 'a'], 2));
    assert.deepEqual(written, { inserted: 1, updated: 2, unchanged: 0, embedded: 0 }, state);
    assert.ok((await reached()) >= 3, 'two runs failed, the third went through');
    assert.deepEqual((await c.get(['a', 'b', 'c'])).map((d) => d?.metadata), [{ seed: 2 }, { seed: 2 }, { seed: 2 }]);

    await injectFailures(c, state, 1);
    assert.equal(await c.delete(['c', 'zz']), 1, 'delete');
    await injectFailures(c, state, 1);
    assert.equal(await c.deleteWhere({ seed: 2 }), 2, 'deleteWhere');
    assert.equal(await c.count(), 0);
    await removeInjection(c);
    await c.close();
  }
});

test('a text upsert is retried too, without embedding its texts again', async () => {
  let encoded = 0;
  const encoder = {
    modelId: 'm', dims: DIMS, normalized: true, similarity: 'cosine' as const, prompts: {}, maxTokens: 128,
    async encode(texts: readonly string[]) {
      encoded += texts.length;
      const data = new Float32Array(texts.length * DIMS);
      texts.forEach((_, i) => data.set(unitVector(DIMS, 5, i), i * DIMS));
      return { data, rows: texts.length, dims: DIMS, truncated: 0, truncatedIndices: [] };
    },
    async close() {},
  };
  const c = await PgvectorCollection.create(server.collectionUrl('retrytext'), { encoder });
  await injectFailures(c, '40P01', 3);
  const r = await c.upsert([{ id: 'y', text: 'why' }, { id: 'x', text: 'ex' }]);
  assert.deepEqual(r, { inserted: 2, updated: 0, unchanged: 0, embedded: 2 });
  assert.equal(encoded, 2, 'the texts were embedded once, before the transaction');
  await removeInjection(c);
  await c.close();
});

test('a conflict that persists fails after the bounded retries, with its SQLSTATE, and writes nothing', async () => {
  const c = await PgvectorCollection.create(server.collectionUrl('retryfail'), { encoder: { modelId: 'm', dims: DIMS } });
  await c.upsertVectors(docs(['a'], 1));
  const reached = await injectFailures(c, '40P01', 1000);
  const started = performance.now();
  const error = await c.upsertVectors(docs(['a', 'b', 'c'], 2)).then(() => undefined, (e: unknown) => e as { code?: string; details?: { sqlState?: string } });
  assert.equal(error?.code, 'STORE_FAILED');
  assert.equal(error?.details?.sqlState, '40P01');
  assert.equal(await reached(), DEFAULT_RETRY.attempts, 'one statement reached the trigger per run');
  assert.ok(performance.now() - started < 10_000, 'the waits between runs are bounded');
  await removeInjection(c);
  assert.equal(await c.count(), 1, 'nothing of the failed batch was written');
  assert.deepEqual((await c.get(['a']))[0]?.metadata, { seed: 1 });
  await c.close();
});

test('other failures are not retried', async () => {
  const c = await PgvectorCollection.create(server.collectionUrl('noretry'), { encoder: { modelId: 'm', dims: DIMS } });
  const reached = await injectFailures(c, '22012', 1000); // division_by_zero: a statement that will never succeed
  await rejectsWith(c.upsertVectors(docs(['a'], 1)), 'STORE_FAILED', /22012/);
  assert.equal(await reached(), 1);
  await removeInjection(c);
  await c.close();
});

test('two writers upserting overlapping ids in opposite orders: no failed batch, exact contents (real server)', { skip: process.env.BIENCODER_PG_URL === undefined && 'PGlite runs every query on one connection (set BIENCODER_PG_URL)' }, async () => {
  const url = server.collectionUrl('overlap');
  const a = await PgvectorCollection.create(url, { encoder: { modelId: 'm', dims: DIMS } });
  const b = await PgvectorCollection.open(url);
  const ids = Array.from({ length: 2000 }, (_, i) => `d${i}`);
  const batches = (reverse: boolean): string[][] => Array.from({ length: 8 }, (_, j) => {
    const part = ids.slice(j * 200, j * 200 + 600); // overlapping windows
    return reverse ? [...part].reverse() : part;
  });
  const run = async (c: PgvectorCollection, list: string[][], seed: number) => {
    for (const batch of list) await c.upsertVectors(docs(batch, seed));
  };
  const results = await Promise.allSettled([run(a, batches(false), 1), run(b, batches(true).reverse(), 2)]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled'], String(results.map((r) => (r as PromiseRejectedResult).reason)));
  const stored = await a.get(ids);
  assert.equal(stored.filter((d) => d !== undefined).length, Math.min(ids.length, 7 * 200 + 600));
  await a.close();
  await b.close();
});
