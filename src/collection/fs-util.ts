/** Small durable-file helpers: fsync of files and directories, atomic replace. */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync, constants } from 'node:fs';
import { dirname } from 'node:path';

/** fsyncs a file (by path) so its data survives an OS crash or power loss. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs a directory so a rename or create inside it is durable. A no-op where directories cannot be opened (Windows). */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY);
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on directories; the rename is still atomic
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` with `data` atomically: a temporary sibling is written and fsynced, renamed into
 * place, and the directory fsynced. Readers see the old or the new content, never a mix.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  fsyncDir(dirname(path));
}
