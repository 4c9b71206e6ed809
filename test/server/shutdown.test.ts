// Graceful shutdown: app.close() lets a write under way finish, then flushes and closes the collection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import { checkCollection } from '../../src/collection/check.ts';
import { createServer } from '../../src/server/app.ts';
import type { EncodeOptions, Embeddings, Encoder } from '../../src/encoders/encoder.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { CountingEncoder, tinyEncoder } from '../collection/helpers.ts';

const tmp = tempDir('server-shutdown');
let base: Encoder;

/** Holds document embeddings until released, so that a write is under way when the server closes. */
class GatedEncoder extends CountingEncoder {
  readonly started: Promise<void>;
  readonly release: () => void;
  readonly #markStarted: () => void;
  readonly #gate: Promise<void>;

  constructor(inner: Encoder) {
    super(inner);
    let markStarted!: () => void;
    let release!: () => void;
    this.started = new Promise((resolve) => {
      markStarted = resolve;
    });
    this.#gate = new Promise((resolve) => {
      release = resolve;
    });
    this.#markStarted = markStarted;
    this.release = release;
  }

  override async encode(texts: readonly string[], options?: EncodeOptions): Promise<Embeddings> {
    if (options?.role !== 'query') {
      this.#markStarted();
      await this.#gate;
    }
    return super.encode(texts, options);
  }
}

before(async () => {
  base = await tinyEncoder(tmp.dir);
});
after(async () => {
  await base.close();
  tmp.cleanup();
});

test('an upsert under way when the server closes completes, and is there after reopening', async () => {
  const dir = join(tmp.dir, 'col');
  await (await Collection.create(dir, { encoder: base, index: { kind: 'hnsw' } })).close();
  const gated = new GatedEncoder(base);
  const app = await createServer({ collections: { col: dir }, encoders: [gated] });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const documents = Array.from({ length: 50 }, (_, i) => ({ id: `doc-${i}`, text: `document number ${i} about shutdown`, metadata: { i } }));
  const upsert = fetch(`${address}/collections/col/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ documents }),
  });
  await gated.started; // the write is embedding
  const closing = app.close();
  try {
    // The server stops taking connections while the write is still under way.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(fetch(`${address}/healthz`));
  } finally {
    gated.release();
  }
  const res = await upsert;
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { inserted: 50, updated: 0, unchanged: 0, embedded: 50 });
  await closing;

  // The collection was flushed and closed (its writer lock released): it opens as a writer, index current.
  const reopened = await Collection.open(dir, { encoder: base });
  try {
    assert.equal(reopened.count(), 50);
    assert.equal(reopened.indexStatus.action, 'loaded', 'the index was saved at close: nothing to catch up');
    const [doc] = await reopened.get(['doc-17']);
    assert.equal(doc?.text, documents[17].text);
    const hits = await reopened.search(documents[17].text, { k: 1 });
    assert.equal(hits[0].id, 'doc-17');
  } finally {
    await reopened.close();
  }
  const report = await checkCollection(dir);
  assert.equal(report.ok, true, JSON.stringify(report.problems));
});
