/**
 * One writer of bench:pgvector's overlap run (pgvector-overlap.ts), in its own process: upserts its
 * batches into the collection at argv[2] in its order, counting the batches that fail, and prints one
 * JSON line { failed, errors, seconds }.
 */
import { PgvectorCollection } from '../src/collection/pgvector/pgvector-collection.ts';
import { overlapDocument, writerBatches } from './pgvector-overlap.ts';

const [url, writer] = process.argv.slice(2);
const c = await PgvectorCollection.open(url, { poolSize: 1 });
const started = performance.now();
let failed = 0;
const errors = new Set<string>();
for (const batch of writerBatches(Number(writer))) {
  try {
    await c.upsertVectors(batch.map(overlapDocument));
  } catch (error) {
    failed++;
    errors.add((error as Error).message.slice(0, 200));
  }
}
await c.close();
console.log(JSON.stringify({ failed, errors: [...errors], seconds: (performance.now() - started) / 1000 }));
