// Entry point of the Universal Sentence Encoder lite worker thread, in plain JavaScript because
// a worker thread does not inherit the TypeScript loader of its parent (tsx registers its hooks
// in the main thread only). It registers tsx here, as bin/biencoder.js does, then loads the
// TypeScript worker. A runtime that runs TypeScript natively needs no loader.
import { workerData } from 'node:worker_threads';

try {
  const { register } = await import('tsx/esm/api');
  register();
} catch {
  // tsx is not installed: rely on the runtime's own TypeScript support.
}
await import(workerData.entry);
