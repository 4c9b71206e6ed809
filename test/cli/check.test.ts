import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Collection } from '../../src/collection/collection.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { unitVector } from '../collection/helpers.ts';
import { CLI } from '../helpers/cli-bin.ts';

const tmp = tempDir('cli-check');
after(() => tmp.cleanup());

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('biencoder check: 0 on a sound collection, 3 with the problems listed when vectors are missing', async () => {
  const dir = join(tmp.dir, 'col');
  const c = await Collection.create(dir, { encoder: { modelId: 'test/random', dims: 8, normalized: true }, index: { kind: 'hnsw' } });
  await c.upsertVectors(Array.from({ length: 30 }, (_, i) => ({ id: `d${i}`, text: `text ${i}`, vector: unitVector(8, 3, i) })));
  await c.close();

  const ok = cli(['check', dir]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^ok: .*\n {2}documents 30, vectors 30, index 30/);
  const json = JSON.parse(cli(['check', dir, '--json']).stdout) as { ok: boolean; stats: { documents: number } };
  assert.equal(json.ok, true);
  assert.equal(json.stats.documents, 30);

  const db = new Database(join(dir, 'collection.db'));
  db.prepare('DELETE FROM vectors WHERE key = (SELECT key FROM docs WHERE id = ?)').run('d7');
  db.close();
  const bad = cli(['check', dir]);
  assert.equal(bad.code, 3);
  assert.match(bad.stdout, /PROBLEMS FOUND/);
  assert.match(bad.stdout, /problem \[MISSING_VECTOR\].*"d7"/);

  const missing = cli(['check', join(tmp.dir, 'nope')]);
  assert.equal(missing.code, 3);
  assert.match(missing.stdout, /\[MANIFEST\]/);
});
