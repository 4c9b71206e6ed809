// A worker thread that runs the CLI's main() for each {id, args} message, with this thread's stdout
// and stderr captured (the parent's stdout belongs to the test runner), and posts back
// {id, code, stdout, stderr}. Plain JavaScript: a worker does not inherit the parent's tsx loader.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../../src/cli/main.ts');

let queue = Promise.resolve();
parentPort.on('message', ({ id, args }) => {
  queue = queue.then(async () => {
    let stdout = '';
    let stderr = '';
    const out = process.stdout.write;
    const err = process.stderr.write;
    process.stdout.write = (chunk) => ((stdout += String(chunk)), true);
    process.stderr.write = (chunk) => ((stderr += String(chunk)), true);
    process.exitCode = undefined;
    let code;
    try {
      code = await main(['node', 'biencoder', ...args]);
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
      process.exitCode = undefined;
    }
    parentPort.postMessage({ id, code, stdout, stderr });
  });
});
parentPort.postMessage({ ready: true });
