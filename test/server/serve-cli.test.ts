// `biencoder serve` as a process: listens, answers, and stops cleanly on SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Collection } from '../../src/collection/collection.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { tinyEncoder } from '../collection/helpers.ts';
import { spawnCli } from './helpers.ts';

const tmp = tempDir('serve-cli');
let base: Encoder;
let dir: string;

before(async () => {
  base = await tinyEncoder(tmp.dir);
  dir = join(tmp.dir, 'papers');
  const c = await Collection.create(dir, { encoder: base, index: { kind: 'flat' } });
  await c.upsert([
    { id: 'a', text: 'Vaccines train the immune system.' },
    { id: 'b', text: 'Rivers carry sediment to the sea.' },
  ]);
  await c.close();
});
after(async () => {
  await base.close();
  tmp.cleanup();
});

test('serve --collection DIR --port 0 --api-key: searches, then SIGTERM stops it with exit 0', async () => {
  const p = spawnCli(['serve', '--collection', dir, '--port', '0', '--api-key', 'k1', '--log', 'silent']);
  const url = await p.url();
  try {
    const unauthorized = await fetch(`${url}/collections/papers/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"x"}' });
    assert.equal(unauthorized.status, 401);
    const res = await fetch(`${url}/collections/papers/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k1' },
      body: JSON.stringify({ query: 'Vaccines train the immune system.', k: 2 }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { hits: { id: string }[] };
    assert.deepEqual(body.hits.map((h) => h.id), ['a', 'b']);
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.equal(await p.exit, 0, p.stderr());
  assert.match(p.stderr(), /SIGTERM: finishing requests under way/);
  assert.match(p.stderr(), /stopped/);
  // The writer lock was released: the collection opens as a writer.
  await (await Collection.open(dir, { encoder: base })).close();
});

test('serve with nothing to serve, or a missing collection, fails with a clear error', async () => {
  const none = spawnCli(['serve']);
  assert.equal(await none.exit, 1);
  assert.match(none.stderr(), /nothing to serve/);
  const missing = spawnCli(['serve', '--collection', join(tmp.dir, 'absent'), '--port', '0', '--log', 'silent']);
  assert.equal(await missing.exit, 1);
  assert.match(missing.stderr(), /NOT_FOUND/);
});
