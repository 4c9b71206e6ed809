import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { COMMANDS as COMMAND_TABLE } from '../../src/cli/command-table.ts';
import { runCli, spawnCli } from './run-cli.ts';

const COMMANDS: Record<string, RegExp[]> = {
  index: [/Usage: biencoder index \[options\] <paths\.\.\.>/, /--collection <dir>/, /--chunk-tokens <n>/, /--chunk-overlap <n>/, /--index <kind>/, /--model <id\|dir>/, /Ctrl-C/, /BEIR/],
  search: [/Usage: biencoder search \[options\] <query>/, /-k, --k <n>/, /--filter <json>/, /--json/, /--chunks/, /--ef <n>/],
  demo: [/Usage: biencoder demo \[options\] \[query\]/, /--collection <dir>/, /XQuAD/, /CC BY-SA 4\.0/],
  info: [/Usage: biencoder info \[options\] <dir>/, /--json/],
  delete: [/Usage: biencoder delete \[options\]/, /--id <ids\.\.\.>/, /--filter <json>/, /--all/, /--yes/, /Exit codes/],
};

test('--help on every command of this group: usage, options, exit 0', async () => {
  for (const [name, patterns] of Object.entries(COMMANDS)) {
    const r = await runCli([name, '--help']);
    assert.equal(r.code, 0, `${name} --help exits 0`);
    for (const p of patterns) assert.match(r.stdout, p, `${name} --help shows ${p}`);
  }
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  for (const name of Object.keys(COMMANDS)) assert.match(top.stdout, new RegExp(`\\n  ${name}\\b`));
});

test('--version prints the package version; help lists every command with a summary', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const r = await runCli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), version);
  const top = await runCli(['help']);
  assert.equal(top.code, 0);
  for (const [name, entry] of Object.entries(COMMAND_TABLE)) {
    assert.ok(top.stdout.includes(`  ${entry.term} `), `help shows "${entry.term}"`);
    assert.ok(top.stdout.replace(/\s+/g, ' ').includes(entry.summary), `help shows the summary of ${name}`);
  }
  const one = await runCli(['help', 'search']);
  assert.equal(one.code, 0);
  assert.match(one.stdout, /Usage: biencoder search \[options\] <query>/);
});

test('usage errors exit 2 from the real executable', () => {
  const missing = spawnCli(['search', 'a query']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /required option '--collection <dir>'/);
  const badK = spawnCli(['search', 'q', '--collection', 'x', '-k', 'ten']);
  assert.equal(badK.code, 2);
  assert.match(badK.stderr, /expected an integer >= 1, got "ten"/);
});
