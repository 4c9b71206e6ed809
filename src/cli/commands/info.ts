import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { Collection, type CollectionInfo, type IndexOpenStatus } from '../../collection/collection.ts';
import type { Manifest } from '../../collection/manifest.ts';
import { tallyRows, type RowTally } from '../../ingest/stored-documents.ts';
import { readChunkSettings, type ChunkSettings } from '../../ingest/chunk-settings.ts';

export interface CollectionReport {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly rows: RowTally;
  /** The chunk settings `biencoder index` recorded; null when none were. */
  readonly chunking: ChunkSettings | null;
  readonly state: CollectionInfo;
  /** How opening obtained the index (loaded, caught up from the database, or rebuilt). */
  readonly index: IndexOpenStatus;
  /** Files of the collection and their sizes in bytes. */
  readonly files: { readonly name: string; readonly bytes: number }[];
  readonly totalBytes: number;
}

function filesOf(dir: string): { name: string; bytes: number }[] {
  const out: { name: string; bytes: number }[] = [];
  const walk = (sub: string): void => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const name = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(name);
      else if (entry.isFile()) out.push({ name, bytes: statSync(join(dir, name)).size });
    }
  };
  walk('');
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Manifest, counts, write sequence, index state and disk usage of a collection (opened read-only). */
export async function collectionReport(dir: string): Promise<CollectionReport> {
  const target = resolve(dir);
  const collection = await Collection.open(target, { readOnly: true });
  try {
    const state = collection.info();
    const rows = tallyRows(target);
    const files = filesOf(target);
    return { dir: target, manifest: collection.manifest, rows, chunking: readChunkSettings(target) ?? null, state, index: collection.indexStatus, files, totalBytes: files.reduce((s, f) => s + f.bytes, 0) };
  } finally {
    await collection.close();
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatReport(r: CollectionReport): string {
  const m = r.manifest;
  const e = m.encoder;
  const spec = m.index.kind === 'flat'
    ? 'flat (exact)'
    : `hnsw, ${m.index.quantization} vectors, M ${m.index.connectivity}, efConstruction ${m.index.expansionAdd}, efSearch ${m.index.expansionSearch}${m.index.quantization === 'i8' || m.index.quantization === 'b1' ? `, rescore x${m.index.rescore}` : ''}`;
  const prompts = Object.entries(e.prompts).map(([role, p]) => `${role} ${JSON.stringify(p)}`).join(', ');
  const lines = [
    `collection ${r.dir}`,
    `  model      ${e.modelId}${e.revision ? `@${e.revision}` : ''} (${e.dims}-d${e.normalized ? ', normalized' : ''}, similarity ${e.similarity}${prompts ? `, prompts: ${prompts}` : ''})`,
    `  metric     ${m.metric}`,
    `  index      ${spec}`,
    `  documents  ${r.rows.documents} (${r.rows.rows} rows: ${r.rows.rows - r.rows.chunks} whole documents, ${r.rows.chunks} chunks)`,
    ...(r.chunking ? [`  chunking   at most ${r.chunking.chunkTokens} tokens per chunk, overlap ${r.chunking.chunkOverlap} (reused by biencoder index)`] : []),
    `  writes     seq ${r.state.seq}; index file saved at seq ${r.state.savedIndexSeq}, ${r.state.indexSize} vectors in the index`,
    `  opened     index ${r.index.action}${r.index.replayed ? ` (${r.index.replayed} ${r.index.action === 'rebuilt' ? 'vectors indexed' : 'changes replayed'})` : ''}${r.index.reason ? `: ${r.index.reason}` : ''} in ${r.index.seconds.toFixed(2)} s`,
    `  created    ${m.createdAt}, updated ${m.updatedAt}`,
    `  disk       ${formatBytes(r.totalBytes)}`,
    ...r.files.map((f) => `    ${f.name.padEnd(28)} ${formatBytes(f.bytes).padStart(10)}`),
  ];
  return lines.join('\n') + '\n';
}

export function infoCommand(): Command {
  return new Command('info')
    .description('Show a collection: model, metric and index settings, documents and chunks, write sequence, index state, disk usage.')
    .argument('<dir>', 'the collection directory')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const report = await collectionReport(dir);
      process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
    });
}
