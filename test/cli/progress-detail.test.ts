/** Progress inside an item (a large document being indexed): a fractional count and a detail. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createProgress } from '../../src/cli/progress.ts';

function sink(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  let out = '';
  stream.on('data', (b: Buffer) => (out += b.toString()));
  if (isTTY) {
    stream.isTTY = true;
    stream.columns = 160;
    const done = (...args: unknown[]): boolean => {
      const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
    Object.assign(stream, { cursorTo: done, clearLine: done, moveCursor: done, clearScreenDown: done });
  }
  return { stream, text: () => out };
}

test('plain lines: whole items in the count, the fraction in percentage, rate and ETA, then the detail', async () => {
  const { stream, text } = sink(false);
  let clock = 0;
  const p = createProgress({ label: 'indexing', unit: 'docs', total: 2, stream, intervalMs: 1000, now: () => clock });
  clock = 10_000;
  p.update(0.25, 'big.txt: 256 chunks (25%)'); // 0.025 docs/s, 1.75 left -> 70 s
  clock = 10_500;
  p.update(0.5, 'big.txt: 512 chunks (50%)'); // throttled (then printed by stop(), with its detail): 1.5 left at 0.048/s
  p.stop();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(text().trim().split('\n'), [
    'indexing: 0/2 docs (12.5%), 0.0 docs/s, ETA 1m 10s; big.txt: 256 chunks (25%)',
    'indexing: 0/2 docs (25.0%), 0.0 docs/s, ETA 32s; big.txt: 512 chunks (50%)',
  ]);
});

test('a terminal bar shows whole items and the detail after the ETA', async () => {
  const { stream, text } = sink(true);
  const p = createProgress({ label: 'indexing', unit: 'docs', total: 4, stream });
  p.update(1.5, 'big.txt: 256 chunks (50%)');
  p.stop();
  await new Promise((r) => setImmediate(r));
  assert.match(text(), /indexing \[[█░]+\] 37% \| 1\/4 docs \| [\d.]+ docs\/s \| ETA \S+ \| big\.txt: 256 chunks \(50%\)/);
});
