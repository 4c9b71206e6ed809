// bench:pgvector --overlap as CI runs it (PGlite, or BIENCODER_PG_URL): two writer processes, overlapping batches in opposite orders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OVERLAP, overlapDocument, runOverlap, writerBatches } from '../../bench/pgvector-overlap.ts';

test('the overlap plan: consecutive batches overlap by half, odd writers go in reverse, documents are fixed by their number', () => {
  const even = writerBatches(0);
  const odd = writerBatches(1);
  assert.equal(even.length, OVERLAP.batches);
  assert.deepEqual(even[1].slice(0, 2), [OVERLAP.step, OVERLAP.step + 1]);
  assert.deepEqual(odd[0], [...even.at(-1)!].reverse());
  assert.deepEqual(overlapDocument(7).vector, overlapDocument(7).vector);
  assert.notDeepEqual(overlapDocument(7).vector, overlapDocument(8).vector);
});

test('two writers, overlapping batches in opposite orders: no failed batch, exact contents', async () => {
  const figures = await runOverlap(2);
  assert.equal(figures.overlap_failed_batches, 0);
  assert.equal(figures.overlap_contents_exact, true);
  assert.equal(figures.overlap_statistics_exact, true, 'doc_count, term_count and the postings follow the rows');
  assert.equal(figures.documents, (OVERLAP.batches - 1) * OVERLAP.step + OVERLAP.batchSize);
});
