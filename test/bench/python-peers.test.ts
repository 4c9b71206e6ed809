/**
 * Benches that measure against Python peers check for them before any long work: on a machine
 * without them (here: an interpreter that does not exist, and no apt-get), they stop at once with one
 * line saying how to get them, instead of failing with a traceback after minutes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function runBench(script: string): { code: number | null; stderr: string; seconds: number } {
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, BIENCODER_BENCH_PYTHON: '/nonexistent/python3', BIENCODER_BENCH_NO_INSTALL: '1' },
  });
  return { code: r.status, stderr: r.stderr, seconds: (performance.now() - started) / 1000 };
}

test('bench:ann without its Python peers stops at once and says how to get them', () => {
  const r = runBench('bench/ann.ts');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /bench:ann: needs Python modules numpy, hnswlib, faiss in \/nonexistent\/python3: sudo apt-get install python3 python3-numpy python3-hnswlib python3-faiss, or run without them: npm run bench:ann -- --skip-peers/);
  assert.doesNotMatch(r.stderr, /Traceback/);
  assert.ok(r.seconds < 30, `it stopped after ${r.seconds.toFixed(1)} s`);
});

test('bench:quality without numpy stops before embedding anything', () => {
  const r = runBench('bench/quality.ts');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /bench:quality: needs Python modules numpy in \/nonexistent\/python3: sudo apt-get install python3 python3-numpy/);
  assert.ok(r.seconds < 30, `it stopped after ${r.seconds.toFixed(1)} s`);
});
