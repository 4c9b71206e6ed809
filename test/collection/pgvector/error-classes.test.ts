/**
 * The pgvector store's failures by what a caller can do about them: refused for good (READ_ONLY,
 * PERMISSION: 403), the input (ALREADY_EXISTS 409, INVALID_INPUT 400), or a store failure that is
 * transient (503 with Retry-After) or not (500). A write the server would refuse is refused before
 * anything is embedded.
 */
import assert from 'node:assert/strict';
import { BiencoderError } from '../../../src/errors.ts';
import { storeError } from '../../../src/collection/pgvector/connection.ts';
import { PgvectorCollection } from '../../../src/collection/pgvector/pgvector-collection.ts';
import { createServer } from '../../../src/server/app.ts';
import { errorResponse } from '../../../src/server/errors.ts';
import { pgServerForFile } from '../../helpers/pglite-server.ts';
import { injectFailures, removeInjection } from './inject-failures.ts';
import { after, test } from 'node:test';
import { tempDir } from '../../helpers/synthetic.ts';
import { CountingEncoder, rejectsWith, tinyEncoder, unitVector } from '../helpers.ts';

const server = pgServerForFile();
const tmp = tempDir('pg-'+'errors');
after(() => tmp.cleanup());


test('storeError: SQLSTATEs to error codes, transient or not, and the HTTP status each gets', () => {
  const cases: [string | undefined, string, boolean | undefined, number][] = [
    ['25006', 'READ_ONLY', undefined, 403], // a hot standby, or read-only transactions
    ['42501', 'PERMISSION', undefined, 403], // the role lacks the privilege
    ['23505', 'ALREADY_EXISTS', undefined, 409],
    ['23502', 'INVALID_INPUT', undefined, 400],
    ['22P02', 'INVALID_INPUT', undefined, 400],
    ['40P01', 'STORE_FAILED', true, 503], // a deadlock that outlasted its retries
    ['40001', 'STORE_FAILED', true, 503],
    ['08006', 'STORE_FAILED', true, 503],
    ['53300', 'STORE_FAILED', true, 503], // too many connections
    ['57P01', 'STORE_FAILED', true, 503], // admin shutdown
    ['55P03', 'STORE_FAILED', true, 503],
    [undefined, 'STORE_FAILED', true, 503], // no reply from the server (ECONNREFUSED, a timeout)
    ['42P01', 'STORE_FAILED', false, 500], // undefined table: trying again will not help
    ['XX000', 'STORE_FAILED', false, 500],
  ];
  for (const [state, code, transient, status] of cases) {
    const error = storeError(Object.assign(new Error('boom'), state ? { code: state } : { code: 'ECONNREFUSED' }), 'writing documents', 'postgres://h/db');
    assert.equal(error.code, code, String(state));
    assert.equal(error.details?.sqlState, state, String(state));
    assert.equal(error.details?.transient, transient, String(state));
    assert.match(error.message, /writing documents failed on postgres:\/\/h\/db: boom/);
    assert.equal(errorResponse(error, false).status, status, String(state));
  }
  const own = new BiencoderError('NOT_FOUND', 'x');
  assert.equal(storeError(own, 'w', 'u'), own, 'a BiencoderError passes through');
});

test('a server that accepts no writes: READ_ONLY before anything is embedded, 403 over HTTP, nothing written (PGlite)', { skip: process.env.BIENCODER_PG_URL !== undefined && 'sets a session setting that only PGlite\'s single shared session makes visible to the collection' }, async () => {
  const encoder = new CountingEncoder(await tinyEncoder(tmp.dir));
  const url = server.collectionUrl('readonly');
  const c = await PgvectorCollection.create(url, { encoder });
  await c.upsert([{ id: 'a', text: 'alpha' }]);
  assert.equal(encoder.documents, 1);
  await server.query('SET default_transaction_read_only = on');
  try {
    await rejectsWith(c.upsert([{ id: 'b', text: 'beta' }]), 'READ_ONLY', /accepts no writes/);
    assert.equal(encoder.documents, 1, 'nothing was embedded');
    await rejectsWith(c.upsertVectors([{ id: 'c', vector: unitVector(encoder.dims, 4, 0) }]), 'READ_ONLY', /25006/);
    await rejectsWith(c.delete(['a']), 'READ_ONLY', /25006/);
    const app = await createServer({ collections: { ro: url }, encoders: [encoder] });
    try {
      const res = await app.inject({ method: 'POST', url: '/collections/ro/documents', payload: { documents: [{ id: 'd', text: 'delta' }] } });
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json().code, 'READ_ONLY');
      assert.equal(res.headers['retry-after'], undefined, 'a refusal for good says nothing of trying again');
    } finally {
      await app.close();
    }
    assert.equal(encoder.documents, 1, 'nothing was embedded');
  } finally {
    await server.query('SET default_transaction_read_only = off');
  }
  assert.equal(await c.count(), 1, 'nothing was written');
  await c.close();
});

test('over HTTP: a transient store failure is 503 with Retry-After, a lasting one 500 without', async () => {
  const encoder = new CountingEncoder(await tinyEncoder(tmp.dir));
  const url = server.collectionUrl('http503');
  const c = await PgvectorCollection.create(url, { encoder });
  const app = await createServer({ collections: { pg: url }, encoders: [encoder] });
  try {
    const post = () => app.inject({ method: 'POST', url: '/collections/pg/documents', payload: { documents: [{ id: 'a', vector: Array.from(unitVector(encoder.dims, 1, 0)) }] } });
    await injectFailures(server, c, '53300', 1); // too_many_connections
    let res = await post();
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.json().code, 'STORE_FAILED');
    assert.equal(res.json().details.transient, true);
    await injectFailures(server, c, 'XX000', 1);
    res = await post();
    assert.equal(res.statusCode, 500, res.body);
    assert.equal(res.headers['retry-after'], undefined);
    assert.equal(res.json().details.transient, false);
    await removeInjection(server, c);
    res = await post();
    assert.equal(res.statusCode, 200, res.body);
  } finally {
    await app.close();
    await c.close();
  }
});
