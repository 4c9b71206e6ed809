/**
 * The directories the MCP tool index_path may read: their real paths, checked once at start, and the
 * test that a real path lies inside one (what is outside, through a symlink or `..` included, is refused).
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { BiencoderError } from '../errors.ts';

/** True when `path` (a real path) is `root` or inside it (a name such as `..notes.md` is inside). */
export function inside(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r));
}

/** The real paths of the index roots; one that does not exist is INVALID_ARGUMENT (at start, not per call). */
export async function resolveIndexRoots(roots: readonly string[]): Promise<string[]> {
  return Promise.all(roots.map(async (root) => {
    try {
      return await realpath(root);
    } catch (cause) {
      throw new BiencoderError('INVALID_ARGUMENT', `the index root ${root} does not exist or cannot be read`, { cause });
    }
  }));
}
