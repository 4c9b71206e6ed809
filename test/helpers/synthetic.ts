import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { makeSyntheticModel, type SyntheticModelOptions } from '../../scripts/synthetic-model.ts';

/** A temporary directory removed by cleanup(). */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `biencoder-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a synthetic sentence-transformers model into root/name and returns its directory. */
export async function syntheticModel(root: string, name: string, options: Omit<SyntheticModelOptions, 'outDir'> = {}): Promise<string> {
  const outDir = join(root, name);
  await makeSyntheticModel({ ...options, outDir });
  return outDir;
}

/** The first n scifact documents as "title text", from ../shared/data. */
export function scifactDocs(n: number, skip = 0): string[] {
  const path = new URL('../../../shared/data/scifact/corpus.jsonl', import.meta.url);
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  return lines.slice(skip, skip + n).map((l) => {
    const d = JSON.parse(l) as { title: string; text: string };
    return `${d.title} ${d.text}`;
  });
}
