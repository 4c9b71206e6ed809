/**
 * COLLECTION_LOCKED as the command line says it: who writes to the collection and what to do next.
 * (The library's message suggests `readOnly: true`, an option of the API, not of a command.)
 */
import { hostname } from 'node:os';
import { BiencoderError, isBiencoderError } from '../errors.ts';

/** `error` reworded for a writing command when it is COLLECTION_LOCKED; any other error as it is. */
export function lockedForCommandLine(error: unknown, dir: string): unknown {
  if (!isBiencoderError(error, 'COLLECTION_LOCKED')) return error;
  const d = error.details ?? {};
  const lockFile = String(d.lockFile ?? 'writer.lock');
  let holder: string;
  if (typeof d.pid === 'number') {
    holder = d.hostname !== hostname() ? `pid ${d.pid} on host ${String(d.hostname)}, since ${String(d.createdAt)}; if that process is gone, remove ${lockFile}` : `pid ${d.pid}, since ${String(d.createdAt)}`;
  } else if (d.reason === 'unreadable') {
    holder = `its lock file ${lockFile} is unreadable; if no writer is running, remove it`;
  } else {
    holder = 'other writers were taking and releasing its lock at the same time'; // contention: no one holder to name
  }
  return new BiencoderError(
    'COLLECTION_LOCKED',
    `${dir} is being written by another process (${holder}): another \`biencoder index\` or \`biencoder delete\`, or a \`biencoder serve\`. ` +
      'Run this command again when it has finished; `biencoder search`, `info` and `check` work meanwhile.',
    { details: d, cause: error },
  );
}
