/** migrate: an embedded collection copied into pgvector, resumable, verified by counts and checksums; the CLI. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Collection } from '../../../src/collection/collection.ts';
import { migrateCollection } from '../../../src/collection/pgvector/migrate.ts';
import { PgvectorCollection } from '../../../src/collection/pgvector/pgvector-collection.ts';
import { isBiencoderError } from '../../../src/errors.ts';
import { pgServerForFile } from '../../helpers/pglite-server.ts';
import { tempDir } from '../../helpers/synthetic.ts';
import { unitVector } from '../helpers.ts';
import { CLI } from '../../helpers/cli-bin.ts';

const tmp = tempDir('migrate');
const server = pgServerForFile();
after(() => tmp.cleanup());

const DIMS = 8;
let dirN = 0;

async function source(n: number, index: { kind: 'hnsw'; quantization?: 'f16' | 'i8' } = { kind: 'hnsw' }): Promise<string> {
  const dir = join(tmp.dir, `src${dirN++}`);
  const c = await Collection.create(dir, { encoder: { modelId: 'test/model', revision: 'abc', dims: DIMS, normalized: true }, index });
  await c.upsertVectors(Array.from({ length: n }, (_, i) => ({
    id: i % 7 === 0 ? `ü-${i}` : `doc-${String(i).padStart(4, '0')}`, text: `text ${i}`, vector: unitVector(DIMS, 5, i), metadata: { i, odd: i % 2 === 1 },
  })));
  await c.close();
  return dir;
}

/** Runs the CLI asynchronously (the PGlite server lives in this process and must keep serving). */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('migrate copies documents, metadata and exact vectors; searches agree; verification passes', async () => {
  const dir = await source(130);
  const url = server.collectionUrl('mig');
  const report = await migrateCollection(dir, url, { batchSize: 50 });
  assert.equal(report.created, true);
  assert.deepEqual([report.inserted, report.updated, report.unchanged], [130, 0, 0]);
  assert.equal(report.verification.ok, true);
  assert.equal(report.verification.sourceCount, 130);
  assert.equal(report.verification.sourceChecksum, report.verification.targetChecksum);
  const src = await Collection.open(dir, { readOnly: true });
  const dst = await PgvectorCollection.open(url);
  try {
    assert.deepEqual(dst.manifest.encoder, src.manifest.encoder);
    assert.equal(dst.metric, src.metric);
    assert.deepEqual(await dst.get(['ü-7', 'doc-0005'], { vectors: true }), await src.get(['ü-7', 'doc-0005'], { vectors: true }));
    for (let i = 0; i < 5; i++) {
      const q = unitVector(DIMS, 77, i);
      const a = await src.search(q, { k: 5, ef: 200 });
      const b = await dst.search(q, { k: 5, ef: 200 });
      assert.deepEqual(b.map((h) => h.id), a.map((h) => h.id));
    }
  } finally {
    await src.close();
    await dst.close();
  }
});

test('migrate is resumable: an interrupted run is finished by the next; source changes are brought over', async () => {
  const dir = await source(120);
  const url = server.collectionUrl('resume');
  const abort = new AbortController();
  await assert.rejects(
    migrateCollection(dir, url, { batchSize: 40, signal: abort.signal, onProgress: (p) => { if (p.done >= 40) abort.abort(); } }),
    (e: unknown) => isBiencoderError(e, 'ABORTED'),
  );
  const partial = await PgvectorCollection.open(url);
  assert.equal(await partial.count(), 40);
  assert.equal((await partial.info()).indexBuilt, false, 'the index is built after the copy');
  await partial.close();
  const resumed = await migrateCollection(dir, url, { batchSize: 40 });
  assert.equal(resumed.created, false);
  assert.deepEqual([resumed.inserted, resumed.updated, resumed.unchanged], [80, 0, 40]);
  assert.equal(resumed.indexBuilt, true);
  assert.equal(resumed.verification.ok, true);

  const src = await Collection.open(dir);
  await src.upsertVectors([{ id: 'doc-0001', text: 'changed', vector: unitVector(DIMS, 6, 1) }, { id: 'zz-new', vector: unitVector(DIMS, 6, 2) }]);
  await src.close();
  const again = await migrateCollection(dir, url, { batchSize: 40 });
  assert.deepEqual([again.inserted, again.updated, again.unchanged], [1, 1, 119]);
  assert.equal(again.indexBuilt, false, 'the index exists already');
  assert.equal(again.verification.ok, true);
});

test('verification catches a target that differs (a changed vector, an extra row); the CLI prints it and exits 3', async () => {
  const dir = await source(60);
  const url = server.collectionUrl('cli');
  const name = new URL(url).searchParams.get('collection')!;
  const ok = await cli(['migrate', dir, url, '--batch-size', '25']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /created .* from .* in/);
  assert.match(ok.stdout, /inserted 60, updated 0, already present 0\n {2}built the HNSW index/);
  assert.match(ok.stdout, /documents: source 60, target 60 \(equal\)/);
  assert.match(ok.stdout, /checksum: {2}source [0-9a-f]{64}\n {13}target [0-9a-f]{64} \(equal\)/);
  assert.match(ok.stdout, /^verified$/m);

  await server.query(`UPDATE biencoder_${name} SET embedding = '[1,0,0,0,0,0,0,0]' WHERE id = 'doc-0003'`);
  const tampered = await cli(['migrate', dir, url, '--verify-only', '--json']);
  assert.equal(tampered.code, 3, tampered.stderr);
  const report = JSON.parse(tampered.stdout) as { inserted: number; verification: { ok: boolean; sourceCount: number; targetCount: number; sourceChecksum: string; targetChecksum: string } };
  assert.equal(report.inserted, 0, 'verify-only copies nothing');
  assert.equal(report.verification.ok, false);
  assert.equal(report.verification.sourceCount, report.verification.targetCount);
  assert.notEqual(report.verification.sourceChecksum, report.verification.targetChecksum);

  const repaired = await migrateCollection(dir, url);
  assert.deepEqual([repaired.updated, repaired.verification.ok], [1, true]);
  await server.query(`INSERT INTO biencoder_${name} (id, text, hash, metadata, embedding) VALUES ('extra', '', '\\x00', '{}', '[1,0,0,0,0,0,0,0]')`);
  const extra = await migrateCollection(dir, url);
  assert.equal(extra.verification.ok, false);
  assert.deepEqual([extra.verification.sourceCount, extra.verification.targetCount], [60, 61]);

  const usage = await cli(['migrate', dir, '/not/a/url']);
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /INVALID_ARGUMENT.*postgres:\/\//);
});

test('f16 sources become halfvec targets and verify (f16 rounding on the source side); i8 becomes f32; another model is refused', async () => {
  const half = await source(40, { kind: 'hnsw', quantization: 'f16' });
  const url = server.collectionUrl('f16');
  const report = await migrateCollection(half, url);
  assert.equal(report.verification.ok, true, JSON.stringify(report.verification));
  const c = await PgvectorCollection.open(url);
  assert.equal(c.vectorType, 'halfvec');
  await c.close();

  const i8 = await source(10, { kind: 'hnsw', quantization: 'i8' });
  const url8 = server.collectionUrl('i8');
  assert.equal((await migrateCollection(i8, url8)).verification.ok, true);
  const c8 = await PgvectorCollection.open(url8);
  assert.equal(c8.vectorType, 'vector');
  assert.equal(c8.manifest.index.kind === 'hnsw' && c8.manifest.index.quantization, 'f32');
  await c8.close();

  const otherUrl = server.collectionUrl('other');
  await (await PgvectorCollection.create(otherUrl, { encoder: { modelId: 'another/model', dims: DIMS } })).close();
  await assert.rejects(migrateCollection(half, otherUrl), (e: unknown) => isBiencoderError(e, 'ENCODER_MISMATCH'));
  await assert.rejects(migrateCollection(half, server.collectionUrl('none'), { verifyOnly: true }), (e: unknown) => isBiencoderError(e, 'NOT_FOUND'));
});

test('keyword search carries over: the source\'s language and BM25 scores in the target (partitioned too); a target in another language is refused', async () => {
  const dir = join(tmp.dir, `src${dirN++}`);
  const texts = [
    'Les chercheurs étudient les protéines du cerveau.', 'La protéine se replie dans la cellule.', 'Le vaccin protège les enfants contre la maladie.',
    'Les enfants du village vont à l\'école.', 'Une étude sur les maladies du cœur chez les femmes.', 'Le cerveau des souris et la mémoire.',
  ];
  const c = await Collection.create(dir, { encoder: { modelId: 'test/model', revision: 'abc', dims: DIMS, normalized: true }, language: 'fr' });
  await c.upsertVectors(texts.map((text, i) => ({ id: `f${i}`, text, vector: unitVector(DIMS, 8, i) })));
  await c.close();
  const url = server.collectionUrl('migkw');
  const run = await cli(['migrate', dir, url, '--partitions', '2', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const src = await Collection.open(dir, { readOnly: true });
  const dst = await PgvectorCollection.open(url);
  try {
    assert.equal(dst.manifest.keyword?.analyzer.language, 'fr');
    assert.equal((await dst.info()).partitions, 2);
    for (const q of ['protéines', 'les enfants', 'cerveau mémoire', 'maladie du cœur']) {
      const a = await src.search(q, { mode: 'keyword' });
      const b = await dst.search(q, { mode: 'keyword' });
      assert.ok(a.length > 0, q);
      assert.deepEqual(b.map((h) => h.id), a.map((h) => h.id), q);
      b.forEach((h, i) => assert.ok(Math.abs(h.score - a[i].score) <= 1e-4, `${q}: ${h.score} vs ${a[i].score}`));
    }
  } finally {
    await src.close();
    await dst.close();
  }
  const english = server.collectionUrl('migen');
  await (await PgvectorCollection.create(english, { encoder: { modelId: 'test/model', revision: 'abc', dims: DIMS, normalized: true } })).close();
  await assert.rejects(migrateCollection(dir, english), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT') && /language en.*fr/.test((e as Error).message));
});
