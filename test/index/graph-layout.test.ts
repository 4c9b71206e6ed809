import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { HnswIndex } from '../../src/index/hnsw-index.ts';
import { relayoutUsearchFile } from '../../src/index/graph-layout.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { clusteredMatrix, rowsOf, sequentialKeys } from './data.ts';

const N = 6_000;
const D = 32;
const data = clusteredMatrix(N + 300, D, 60, 1.25, 11);
const base = rowsOf(data, 0, N);
const queries = rowsOf(data, N, N + 300);
const { dir, cleanup } = tempDir('graph-layout');
after(cleanup);

/** SHA-256 of each stored vector (rows of `bytes` after the 8-byte matrix header). */
function rowDigests(file: Buffer, bytes: number): string[] {
  const rows = file.readUInt32LE(0);
  return Array.from({ length: rows }, (_, i) => createHash('sha256').update(file.subarray(8 + i * bytes, 8 + (i + 1) * bytes)).digest('hex'));
}

test('save() renumbers the graph for locality: same vectors in another order, identical search results', async () => {
  for (const quantization of ['f32', 'f16', 'i8'] as const) {
    const h = new HnswIndex({ dims: D, metric: 'cosine', quantization, threads: 1 }); // one thread: slots in insertion order
    h.add(sequentialKeys(N), base);
    const path = join(dir, `${quantization}.usearch`);
    await h.save(path);
    const loaded = HnswIndex.load(path, { threads: 1 });
    const viewed = HnswIndex.view(path, { threads: 1 });
    try {
      for (const ef of [16, 64]) {
        const want = h.search(queries, 10, { ef });
        assert.deepEqual(loaded.search(queries, 10, { ef }), want, `${quantization} ef ${ef}: load`);
        assert.deepEqual(viewed.search(queries, 10, { ef }), want, `${quantization} ef ${ef}: view`);
      }
      // The file holds the same vectors, most of them no longer in insertion order.
      const bytes = { f32: 4, f16: 2, i8: 1 }[quantization] * D;
      const file = readFileSync(path);
      const digests = rowDigests(file, bytes);
      const inserted = new HnswIndex({ dims: D, metric: 'cosine', quantization, threads: 1 });
      inserted.add(sequentialKeys(N), base);
      const plain = join(dir, `${quantization}-plain.usearch`);
      await inserted.save(plain); // renumbered the same way (same graph)
      assert.deepEqual(readFileSync(plain), file, 'the layout is deterministic');
      const native = (inserted as unknown as { native: { save(p: string): void } }).native;
      native.save(plain); // usearch's own order
      const original = rowDigests(readFileSync(plain), bytes);
      assert.deepEqual([...digests].sort(), [...original].sort(), 'the same vectors');
      const unmoved = digests.filter((d, i) => d === original[i]).length;
      assert.ok(unmoved < N / 10, `${unmoved} of ${N} rows kept their slot`);
    } finally {
      viewed.close();
    }
  }
});

test('removed entries survive the renumbering: absent after load, their slots reused', async () => {
  const h = new HnswIndex({ dims: D, metric: 'l2', threads: 1 });
  h.add(sequentialKeys(N), base);
  h.remove([0n, 1n, 2n, 4000n]);
  const path = join(dir, 'removed.usearch');
  await h.save(path);
  const loaded = HnswIndex.load(path);
  assert.equal(loaded.size, N - 4);
  for (const k of [0n, 1n, 2n, 4000n]) assert.equal(loaded.has(k), false);
  assert.deepEqual(loaded.search(queries, 10), h.search(queries, 10));
  for (const m of loaded.search(base, 5)) assert.ok(![0n, 1n, 2n, 4000n].some((k) => m.keys.includes(k)));
  loaded.add([0n, 99_999n], rowsOf(base, 0, 2));
  assert.equal(loaded.size, N - 2);
  assert.equal(loaded.search(rowsOf(base, 1, 2), 1)[0].keys[0], 99_999n);
});

test('a file that is not usearch\'s layout is left untouched', () => {
  const junk = join(dir, 'junk.bin');
  const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) & 0xff));
  writeFileSync(junk, bytes);
  assert.equal(relayoutUsearchFile(junk), false);
  assert.deepEqual(readFileSync(junk), bytes);
  // A real file cut short, or with one byte too many, does not parse exactly either.
  const good = join(dir, 'f32.usearch');
  const file = readFileSync(good);
  for (const [name, content] of [['short', file.subarray(0, file.length - 3)], ['long', Buffer.concat([file, Buffer.from([0])])]] as const) {
    const p = join(dir, `${name}.usearch`);
    writeFileSync(p, content);
    assert.equal(relayoutUsearchFile(p), false, name);
    assert.deepEqual(readFileSync(p), content, name);
  }
  // A relaid file can be relaid again (it is a valid usearch file) and still loads.
  const again = join(dir, 'again.usearch');
  copyFileSync(good, again);
  copyFileSync(`${good}.f32`, `${again}.f32`);
  assert.equal(relayoutUsearchFile(again), true);
});
