/** A filter's share of the rows, from a bounded sample: TABLESAMPLE on a large analyzed table, a bounded count otherwise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PgvectorCollection } from '../../../src/collection/pgvector/pgvector-collection.ts';
import { SqlParams, compileFilterToSql } from '../../../src/collection/pgvector/filter-sql.ts';
import { parseFilter } from '../../../src/collection/filter.ts';
import { SELECTIVITY_SAMPLE_ROWS, estimateFilterFraction } from '../../../src/collection/pgvector/selectivity.ts';
import { pgServerForFile } from '../../helpers/pglite-server.ts';
import { unitVector } from '../helpers.ts';

const server = pgServerForFile();

test('estimateFilterFraction: a large analyzed table is sampled (about SELECTIVITY_SAMPLE_ROWS rows), a small one counted', async () => {
  const n = 3 * SELECTIVITY_SAMPLE_ROWS;
  const c = await PgvectorCollection.create(server.collectionUrl('selectivity'), { encoder: { modelId: 'm', dims: 4 }, index: { kind: 'flat' } });
  for (let from = 0; from < n; from += 5000) {
    await c.upsertVectors(Array.from({ length: 5000 }, (_, j) => ({ id: `d${from + j}`, vector: unitVector(4, 1, from + j), metadata: { bucket: (from + j) % 100 } })));
  }
  const table = `biencoder_${c.collectionName}`;
  const pool = new pg.Pool({ connectionString: server.url, max: 1 });
  const client = await pool.connect();
  try {
    const compile = (filter: object) => {
      const params = new SqlParams();
      return { where: compileFilterToSql(parseFilter(filter), params), params: params.values };
    };
    const onePercent = compile({ bucket: 7 });
    await server.query(`ANALYZE ${table}`);
    const sampled = await estimateFilterFraction(client, table, onePercent.where, onePercent.params);
    assert.equal(sampled.method, 'tablesample');
    assert.ok(sampled.sampled > SELECTIVITY_SAMPLE_ROWS / 3 && sampled.sampled < n, `${sampled.sampled} rows read of ${n}`);
    assert.ok(Math.abs(sampled.fraction - 0.01) < 0.007, `estimated ${sampled.fraction} for 1%`);
    const half = compile({ bucket: { $lt: 50 } });
    const halfEstimate = await estimateFilterFraction(client, table, half.where, half.params);
    assert.ok(Math.abs(halfEstimate.fraction - 0.5) < 0.05, `estimated ${halfEstimate.fraction} for 50%`);
    // The plan reads a sample, not the table.
    const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT count(*) FROM ${table} TABLESAMPLE SYSTEM (10)`);
    assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /Sample Scan/);
    // A small table is counted in full: the exact share.
    await c.delete(Array.from({ length: n - 500 }, (_, i) => `d${i + 500}`));
    await server.query(`ANALYZE ${table}`);
    const small = await estimateFilterFraction(client, table, onePercent.where, onePercent.params);
    assert.deepEqual(small, { fraction: 5 / 500, sampled: 500, method: 'bounded-scan' });
  } finally {
    client.release();
    await pool.end();
    await c.close();
  }
});
