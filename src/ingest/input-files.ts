/**
 * Turns the PATH arguments of `biencoder index` (files, folders, globs) into the list of input
 * files, each with its format and the id it gives a one-document file (its path relative to the
 * argument's root, with "/" separators).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import fg from 'fast-glob';
import { BiencoderError } from '../errors.ts';

/** text: the whole file is one document; jsonl: one JSON record a line; json: a JSON array of records. */
export type InputFormat = 'text' | 'jsonl' | 'json';

export interface InputFile {
  /** Absolute path. */
  readonly path: string;
  readonly format: InputFormat;
  /** The document id of a text file: its path relative to the root of the argument that named it. */
  readonly relativeId: string;
  /** The path as shown in messages (relative to the working directory when inside it). */
  readonly display: string;
}

export interface ResolvedInputs {
  readonly files: InputFile[];
  /** Files met in folders or globs and left out because of their extension. */
  readonly skipped: string[];
}

const FORMATS: Readonly<Record<string, InputFormat>> = {
  '.txt': 'text',
  '.text': 'text',
  '.md': 'text',
  '.markdown': 'text',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
};

/** The file extensions read, and their formats. */
export const SUPPORTED_EXTENSIONS: readonly string[] = Object.keys(FORMATS);

/** The format of a file name, by extension (case-insensitive); undefined when not supported. */
export function formatOf(path: string): InputFormat | undefined {
  const name = basename(path).toLowerCase();
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? undefined : FORMATS[name.slice(dot)];
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

function display(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') ? toPosix(rel) : path;
}

/**
 * Resolves PATH arguments, in order (files of a folder or glob sorted by path). Text files get
 * ids relative to `root` when given (every file must lie inside it), else to the folder or glob base
 * that named them (a file named directly: its own folder). A file named
 * explicitly must have a supported extension; folders (recursive) and globs take the supported
 * files and list the others in `skipped`. Hidden files and folders (".name") and node_modules are
 * not walked. Throws NOT_FOUND for a missing path or a glob that matches nothing, INVALID_INPUT for an
 * unsupported file, and INVALID_ARGUMENT when nothing is given.
 */
export async function resolveInputs(paths: readonly string[], options: { cwd?: string; root?: string } = {}): Promise<ResolvedInputs> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const fixedRoot = options.root === undefined ? undefined : resolve(cwd, options.root);
  if (!Array.isArray(paths) || paths.length === 0) throw new BiencoderError('INVALID_ARGUMENT', 'no input paths given');
  const files: InputFile[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const add = (path: string, root: string): void => {
    if (seen.has(path)) return;
    const format = formatOf(path);
    if (format === undefined) {
      skipped.push(display(path, cwd));
      return;
    }
    seen.add(path);
    const base = fixedRoot ?? root;
    const relativeId = toPosix(relative(base, path));
    if (relativeId.startsWith('../') || relativeId === '..' || isAbsolute(relativeId)) {
      throw new BiencoderError('INVALID_ARGUMENT', `${display(path, cwd)} is not inside the --root folder ${base}`);
    }
    files.push({ path, format, relativeId, display: display(path, cwd) });
  };
  for (const arg of paths) {
    if (typeof arg !== 'string' || arg === '') throw new BiencoderError('INVALID_ARGUMENT', 'an input path is empty');
    const full = resolve(cwd, arg);
    if (existsSync(full)) {
      const stat = statSync(full);
      if (stat.isDirectory()) {
        const found = await fg('**/*', { cwd: full, absolute: true, onlyFiles: true, dot: false, ignore: ['**/node_modules/**'], followSymbolicLinks: true });
        found.sort();
        for (const f of found) add(resolve(f), full);
        continue;
      }
      if (formatOf(full) === undefined) {
        throw new BiencoderError('INVALID_INPUT', `${arg}: unsupported file type; biencoder index reads ${SUPPORTED_EXTENSIONS.join(', ')} files, folders and globs`, { details: { origin: arg } });
      }
      add(full, dirname(full));
      continue;
    }
    if (!fg.isDynamicPattern(arg)) throw new BiencoderError('NOT_FOUND', `${arg}: no such file or folder`, { details: { path: full } });
    const pattern = toPosix(arg);
    const [task] = fg.generateTasks([pattern], { cwd });
    const root = resolve(cwd, task?.base ?? '.');
    const found = await fg(pattern, { cwd, absolute: true, onlyFiles: true, dot: false, ignore: ['**/node_modules/**'] });
    if (found.length === 0) throw new BiencoderError('NOT_FOUND', `${arg}: no file matches this pattern`, { details: { pattern: arg } });
    found.sort();
    for (const f of found) add(resolve(f), root);
  }
  return { files, skipped };
}
