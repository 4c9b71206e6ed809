/**
 * bench:keyword's options (bench/keyword-args.ts): defaults, the small size dropped when it is not
 * smaller than the full one, and bad values refused with the usage (the bench itself exits 2 on them
 * before loading anything).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseKeywordBenchArgs } from '../../bench/keyword-args.ts';

test('bench:keyword defaults: 1M documents, 100k small, 1,000 queries, every peer', () => {
  const o = parseKeywordBenchArgs([]);
  assert.deepEqual(o, {
    docs: 1_000_000, smallDocs: 100_000, queries: 1000, filteredQueries: 1000, batch: 1000, seed: 1, dir: undefined, keep: false,
    skipFts5: false, skipLancedb: false, skipXquad: false, skipQuality: false,
  });
});

test('bench:keyword options are parsed; a small size not below --docs is dropped', () => {
  const o = parseKeywordBenchArgs(['--docs', '20_000', '--small-docs', '5000', '--queries', '300', '--seed', '7', '--dir', '/tmp/x', '--keep', '--skip-lancedb', '--skip-fts5', '--skip-xquad', '--skip-quality']);
  assert.equal(o.docs, 20_000);
  assert.equal(o.smallDocs, 5000);
  assert.equal(o.queries, 300);
  assert.equal(o.filteredQueries, 300);
  assert.equal(o.seed, 7);
  assert.equal(o.dir, '/tmp/x');
  assert.ok(o.keep && o.skipLancedb && o.skipFts5 && o.skipXquad && o.skipQuality);
  assert.equal(parseKeywordBenchArgs(['--docs', '1000', '--small-docs', '1000']).smallDocs, 0);
  assert.equal(parseKeywordBenchArgs(['--docs', '1000', '--small-docs', '0']).smallDocs, 0);
  assert.equal(parseKeywordBenchArgs(['--queries', '500', '--filtered-queries', '100']).filteredQueries, 100);
  assert.equal(parseKeywordBenchArgs(['--queries', '50', '--filtered-queries', '100']).filteredQueries, 50);
});

test('bench:keyword refuses bad options with its usage', () => {
  for (const argv of [['--docs', '0'], ['--docs', 'many'], ['--docs', '1.5'], ['--queries', ''], ['--small-docs', '-1'], ['--batch', '0'], ['--bogus'], ['extra']]) {
    assert.throws(() => parseKeywordBenchArgs(argv), /usage: npm run bench:keyword/, JSON.stringify(argv));
  }
});

test('bench:keyword exits 2 on a bad option, before any work', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/keyword.ts', '--docs', 'zero'], { cwd: fileURLToPath(new URL('../../', import.meta.url)), encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /bench:keyword: --docs must be an integer >= 1, got "zero"/);
  assert.equal(r.stdout, '');
});
