/**
 * Writers against writers on the pgvector store: a write that loses a deadlock (40P01) or a serialization
 * conflict (40001) is run again and stays all-or-nothing; rows are locked in one order whatever order the
 * caller gave. Failures are injected by the server itself: a statement trigger on the collection's table
 * raises the SQLSTATE for the first N statements (a sequence counts them: nextval survives the rollback).
 * Writers that really hold locks at once (two processes, overlapping batches in opposite orders) are
 * test/bench/pgvector-overlap.test.ts: meaningful against a real server (BIENCODER_PG_URL), since PGlite
 * runs every query on one connection.
 */
import assert from 'node:assert/strict';
import { PgvectorCollection } from '../../../src/collection/pgvector/pgvector-collection.ts';
import { DEFAULT_RETRY, isRetryableConflict } from '../../../src/collection/pgvector/connection.ts';
import { pgServerForFile } from '../../helpers/pglite-server.ts';
import { injectFailures, removeInjection } from './inject-failures.ts';
import { after, test } from 'node:test';
import { tempDir } from '../../helpers/synthetic.ts';
import { CountingEncoder, rejectsWith, tinyEncoder, unitVector } from '../helpers.ts';

const server = pgServerForFile();
const tmp = tempDir('pg-'+'conflicts');
after(() => tmp.cleanup());

const DIMS = 4;

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
    const reached = await injectFailures(server, c, state, 2);
    const written = await c.upsertVectors(docs(['c', 'b', 'a'], 2));
    assert.deepEqual(written, { inserted: 1, updated: 2, unchanged: 0, embedded: 0 }, state);
    assert.ok((await reached()) >= 3, 'two runs failed, the third went through');
    assert.deepEqual((await c.get(['a', 'b', 'c'])).map((d) => d?.metadata), [{ seed: 2 }, { seed: 2 }, { seed: 2 }]);

    await injectFailures(server, c, state, 1);
    assert.equal(await c.delete(['c', 'zz']), 1, 'delete');
    await injectFailures(server, c, state, 1);
    assert.equal(await c.deleteWhere({ seed: 2 }), 2, 'deleteWhere');
    assert.equal(await c.count(), 0);
    await removeInjection(server, c);
    await c.close();
  }
});

test('a text upsert is retried too, without embedding its texts again', async () => {
  const encoder = new CountingEncoder(await tinyEncoder(tmp.dir));
  const c = await PgvectorCollection.create(server.collectionUrl('retrytext'), { encoder });
  await injectFailures(server, c, '40P01', 3);
  const r = await c.upsert([{ id: 'y', text: 'why' }, { id: 'x', text: 'ex' }]);
  assert.deepEqual(r, { inserted: 2, updated: 0, unchanged: 0, embedded: 2 });
  assert.equal(encoder.documents, 2, 'the texts were embedded once, before the transaction');
  await removeInjection(server, c);
  await c.close();
});

test('a conflict that persists fails after the bounded retries, with its SQLSTATE, and writes nothing', async () => {
  const c = await PgvectorCollection.create(server.collectionUrl('retryfail'), { encoder: { modelId: 'm', dims: DIMS } });
  await c.upsertVectors(docs(['a'], 1));
  const reached = await injectFailures(server, c, '40P01', 1000);
  const started = performance.now();
  const error = await c.upsertVectors(docs(['a', 'b', 'c'], 2)).then(() => undefined, (e: unknown) => e as { code?: string; details?: { sqlState?: string } });
  assert.equal(error?.code, 'STORE_FAILED');
  assert.equal(error?.details?.sqlState, '40P01');
  assert.equal(await reached(), DEFAULT_RETRY.attempts, 'one statement reached the trigger per run');
  assert.ok(performance.now() - started < 10_000, 'the waits between runs are bounded');
  await removeInjection(server, c);
  assert.equal(await c.count(), 1, 'nothing of the failed batch was written');
  assert.deepEqual((await c.get(['a']))[0]?.metadata, { seed: 1 });
  await c.close();
});

test('other failures are not retried', async () => {
  const c = await PgvectorCollection.create(server.collectionUrl('noretry'), { encoder: { modelId: 'm', dims: DIMS } });
  const reached = await injectFailures(server, c, 'XX000', 1000); // internal_error: not a conflict between writers
  await rejectsWith(c.upsertVectors(docs(['a'], 1)), 'STORE_FAILED', /XX000/);
  assert.equal(await reached(), 1);
  await removeInjection(server, c);
  await c.close();
});
