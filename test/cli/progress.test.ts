import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createProgress, formatDuration, formatRate } from '../../src/cli/progress.ts';

function sink(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number; cursorTo?: unknown; clearLine?: unknown };
  let out = '';
  stream.on('data', (b: Buffer) => (out += b.toString()));
  if (isTTY) {
    stream.isTTY = true;
    stream.columns = 120;
    stream.cursorTo = (_x: number, _y?: number, cb?: () => void): boolean => (cb?.(), true);
    stream.clearLine = (_d: number, cb?: () => void): boolean => (cb?.(), true);
    (stream as unknown as { moveCursor: unknown }).moveCursor = (_x: number, _y: number, cb?: () => void): boolean => (cb?.(), true);
    (stream as unknown as { clearScreenDown: unknown }).clearScreenDown = (cb?: () => void): boolean => (cb?.(), true);
  }
  return { stream, text: () => out };
}

test('formatRate and formatDuration', () => {
  assert.equal(formatRate(0), '0');
  assert.equal(formatRate(3.14159), '3.1');
  assert.equal(formatRate(1234.6), '1235');
  assert.equal(formatDuration(42.4), '42s');
  assert.equal(formatDuration(185), '3m 05s');
  assert.equal(formatDuration(7260), '2h 01m');
  assert.equal(formatDuration(Infinity), '?');
});

test('plain lines off a terminal: count, percentage, rate and ETA, throttled, and the last one always', async () => {
  const { stream, text } = sink(false);
  let clock = 0;
  const p = createProgress({ label: 'indexing', unit: 'docs', total: 100, stream, intervalMs: 1000, now: () => clock });
  clock = 2000;
  p.update(20); // 10 docs/s, 80 left -> 8s
  clock = 2500;
  p.update(25); // throttled
  clock = 4000;
  p.update(40);
  clock = 4100;
  p.update(45); // throttled, then printed by stop()
  p.stop();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(text().trim().split('\n'), [
    'indexing: 20/100 docs (20.0%), 10.0 docs/s, ETA 8s',
    'indexing: 40/100 docs (40.0%), 10.0 docs/s, ETA 6s',
    'indexing: 45/100 docs (45.0%), 11.0 docs/s, ETA 5s',
  ]);
  const done = sink(false);
  let t = 0;
  const q = createProgress({ label: 'indexing', unit: 'docs', total: 3, stream: done.stream, now: () => t });
  t = 1000;
  q.update(3);
  q.stop();
  await new Promise((r) => setImmediate(r));
  assert.equal(done.text(), 'indexing: 3/3 docs (100.0%), 3.0 docs/s, done\n', 'the final line is not repeated');
});

test('a terminal gets a cli-progress bar with docs/s and ETA', async () => {
  const { stream, text } = sink(true);
  const p = createProgress({ label: 'indexing', unit: 'docs', total: 50, stream });
  p.update(25);
  p.stop();
  await new Promise((r) => setImmediate(r));
  const out = text();
  assert.match(out, /indexing \[[█░]+\] 50% \| 25\/50 docs \| [\d.]+ docs\/s \| ETA /);
  assert.doesNotMatch(out, /\n.*indexing: /, 'no plain lines on a terminal');
});
