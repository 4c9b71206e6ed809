import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ANALYZER_LANGUAGES, createAnalyzer } from '../../analysis/index.ts';
import type { CollectionApi } from '../../collection/collection-api.ts';
import { MANIFEST_FILE, type Manifest } from '../../collection/manifest.ts';
import { createCollection, isPostgresTarget, openCollection, readTargetManifest } from '../../collection/open-collection.ts';
import { parsePgTarget } from '../../collection/pgvector/target.ts';
import type { Encoder } from '../../encoders/encoder.ts';
import { loadEncoder } from '../../encoders/load-encoder.ts';
import { BiencoderError, isBiencoderError } from '../../errors.ts';
import type { IndexSpec, IndexSpecInput } from '../../index/index-spec.ts';
import { indexDocuments, type IndexSummary } from '../../ingest/index-documents.ts';
import { resolveInputs, SUPPORTED_EXTENSIONS, type InputFile } from '../../ingest/input-files.ts';
import { readInputs } from '../../ingest/read-documents.ts';
import { scanInputs } from '../../ingest/scan-inputs.ts';
import { readChunkSettings, writeChunkSettings, type ChunkSettings } from '../../ingest/chunk-settings.ts';
import { assertCollectionWritable } from '../../collection/permissions.ts';
import { emptyDirectoryAt, removeCollectionDirectory, type EmptyDirectory } from '../../collection/remove-collection.ts';
import { lockedForCommandLine } from '../locked-collection.ts';
import { chunkText } from '../../chunking/chunker.ts';
import { tallyRows } from '../../ingest/stored-documents.ts';
import { checkModelMatches, modelIdFor } from '../collection-encoder.ts';
import { integerOption } from '../cli-options.ts';
import { encoderOptionsFrom, modelOptions, type ModelCliOptions } from '../model-options.ts';
import { createProgress } from '../progress.ts';

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT = 130;

/** The --index choices and the index spec each creates. */
export const INDEX_CHOICES: Readonly<Record<string, IndexSpecInput>> = {
  flat: { kind: 'flat' },
  hnsw: { kind: 'hnsw' },
  i8: { kind: 'hnsw', quantization: 'i8' },
  binary: { kind: 'hnsw', quantization: 'b1' },
};

interface IndexCliOptions extends ModelCliOptions {
  collection?: string;
  store?: string;
  index?: string;
  language?: string;
  chunkTokens?: number;
  chunkOverlap?: number;
  batchSize: number;
  root?: string;
  json?: boolean;
  progress?: boolean;
}

export interface IndexFilesOptions extends ModelCliOptions {
  /**
   * The collection directory, or a postgres:// URL of a pgvector collection (created when it does not
   * exist). Chunk settings are recorded in DIR/chunking.json; for a URL they are not recorded.
   */
  readonly dir: string;
  readonly files: readonly InputFile[];
  /** --index choice, for a new collection. */
  readonly index?: string;
  /** --language of keyword search, for a new collection (ANALYZER_LANGUAGES). */
  readonly language?: string;
  readonly chunkTokens?: number;
  readonly chunkOverlap?: number;
  readonly batchSize?: number;
  /** Show progress on stderr (default true). */
  readonly progress?: boolean;
  /** An encoder already loaded for the model (left open); default: loaded here and closed. */
  readonly encoder?: Encoder;
}

export interface IndexFilesResult extends IndexSummary {
  /** The collection directory (absolute), or the postgres:// URL with its password shown as ***. */
  readonly dir: string;
  readonly created: boolean;
  readonly model: string;
  /** Rows (documents and chunks) in the collection afterwards. */
  readonly rows: number;
  /** The chunk settings used (undefined when the run was interrupted before they were settled). */
  readonly chunkTokens: number | undefined;
  readonly chunkOverlap: number | undefined;
}

function describeSpec(spec: IndexSpec): string {
  return spec.kind === 'flat' ? 'flat' : `hnsw (${spec.quantization})`;
}

function specMatches(spec: IndexSpec, wanted: IndexSpecInput): boolean {
  if (spec.kind !== wanted.kind) return false;
  if (spec.kind === 'flat' || wanted.kind === 'flat') return true;
  return spec.quantization === (wanted.quantization ?? 'f32');
}

/** The manifest at a directory or postgres:// URL, or undefined when there is no collection there yet. */
async function existingManifest(target: string): Promise<Manifest | undefined> {
  if (!isPostgresTarget(target)) return existsSync(join(target, MANIFEST_FILE)) ? readTargetManifest(target) : undefined;
  try {
    return await readTargetManifest(target);
  } catch (error) {
    if (isBiencoderError(error, 'NOT_FOUND')) return undefined;
    throw error;
  }
}

/** Rows in the pgvector collection at a URL. */
async function countRows(url: string): Promise<number> {
  const c = await openCollection(url, { readOnly: true, poolSize: 1 });
  try {
    return await c.count();
  } finally {
    await c.close();
  }
}

/**
 * The collection target of `--collection DIR` or `--store URL`: exactly one of them is required, and
 * --store must be a postgres:// URL (usage errors of `command`: exit 2).
 */
export function collectionTarget(opts: { collection?: string; store?: string }, command: Command): string {
  if (opts.collection === undefined && opts.store === undefined) {
    command.error("error: required option '--collection <dir>' or '--store <url>' not specified", { exitCode: 2, code: 'commander.missingMandatoryOptionValue' });
  }
  if (opts.collection !== undefined && opts.store !== undefined) {
    command.error('error: give one of --collection <dir> and --store <url>, not both', { exitCode: 2, code: 'commander.conflictingOption' });
  }
  if (opts.store !== undefined && !isPostgresTarget(opts.store)) {
    command.error(`error: --store must be a postgres:// or postgresql:// URL (e.g. postgres://user:pw@host/db?collection=name), got "${opts.store}"; use --collection for a directory`, { exitCode: 2, code: 'commander.invalidArgument' });
  }
  return opts.store ?? opts.collection!;
}

/**
 * The collection an index run writes to: opened, or created by the first run. When another run
 * created it meanwhile (two first runs at once), it is opened as a rerun would open it, provided it
 * was made for the same model and index.
 */
async function openForIndexing(o: {
  target: string; dir: string; exists: boolean; model: string; encoder: Encoder; wantedSpec: IndexSpecInput | undefined; index: string | undefined; language: string | undefined;
}): Promise<{ collection: CollectionApi; created: boolean }> {
  if (!o.exists) {
    try {
      const created = await createCollection(o.target, { encoder: o.encoder, ...(o.wantedSpec ? { index: o.wantedSpec } : {}), ...(o.language !== undefined ? { language: o.language } : {}) });
      return { collection: created, created: true };
    } catch (error) {
      if (!isBiencoderError(error, 'ALREADY_EXISTS')) throw error;
      const manifest = await readTargetManifest(o.target);
      checkModelMatches(o.dir, manifest, o.model);
      if (o.wantedSpec !== undefined && !specMatches(manifest.index, o.wantedSpec)) {
        throw new BiencoderError('INVALID_ARGUMENT', `the collection at ${o.dir} was created meanwhile by another run, with a ${describeSpec(manifest.index)} index; --index ${o.index} applies only when a collection is created`);
      }
    }
  }
  return { collection: await openCollection(o.target, { encoder: o.encoder }), created: false };
}

/**
 * Indexes input files into a collection (creating it with --model and --index when it does not
 * exist, else with the model its manifest names). Ctrl-C stops after the batch in flight (a second
 * Ctrl-C abandons it); everything committed is kept.
 */
export async function indexFiles(options: IndexFilesOptions): Promise<IndexFilesResult> {
  const postgres = isPostgresTarget(options.dir);
  // A URL is used as given; `dir` in messages and the result shows it without its password.
  const target = postgres ? options.dir : resolve(options.dir);
  const dir = postgres ? parsePgTarget(options.dir).display : target;
  const found = await existingManifest(target);
  const exists = found !== undefined;
  const wantedSpec = options.index === undefined ? undefined : INDEX_CHOICES[options.index];
  if (options.index !== undefined && wantedSpec === undefined) {
    throw new BiencoderError('INVALID_ARGUMENT', `--index must be one of ${Object.keys(INDEX_CHOICES).join(', ')}, got "${options.index}"`);
  }
  let model: string;
  let truncateDim: number | undefined; // a Matryoshka collection is indexed with the truncation it was created with
  if (found !== undefined) {
    const manifest = found;
    checkModelMatches(dir, manifest, options.model);
    if (wantedSpec !== undefined && !specMatches(manifest.index, wantedSpec)) {
      throw new BiencoderError('INVALID_ARGUMENT', `the collection at ${dir} has a ${describeSpec(manifest.index)} index; --index ${options.index} applies only when a collection is created`);
    }
    if (options.language !== undefined) {
      const wanted = createAnalyzer(options.language).spec.language;
      const has = manifest.keyword?.analyzer.language ?? 'en';
      if (wanted !== has) throw new BiencoderError('INVALID_ARGUMENT', `the collection at ${dir} has keyword language ${has}; --language ${options.language} applies only when a collection is created`);
    }
    model = manifest.encoder.modelId;
    truncateDim = manifest.encoder.truncateDim;
    if (!postgres) assertCollectionWritable(target); // PERMISSION now, not after reading the inputs and loading the model
  } else {
    model = modelIdFor(options.model);
  }

  const stop = new AbortController();
  const abandon = new AbortController();
  const onSigint = (): void => {
    if (!stop.signal.aborted) {
      stop.abort();
      process.stderr.write('\nbiencoder: stopping after the batch in flight (Ctrl-C again to abandon it)...\n');
    } else if (!abandon.signal.aborted) {
      abandon.abort();
      process.stderr.write('\nbiencoder: abandoning the batch in flight...\n');
    }
  };
  process.on('SIGINT', onSigint);
  let encoder: Encoder | undefined;
  let collection: CollectionApi | undefined;
  let created = false;
  let emptyDir: EmptyDirectory | undefined; // the empty directory DIR was before this run created a collection there
  try {
    let scan;
    try {
      scan = await scanInputs(options.files, { signal: stop.signal });
    } catch (error) {
      if (!isBiencoderError(error, 'ABORTED')) throw error;
      const none = { documents: 0, inserted: 0, updated: 0, unchanged: 0, empty: 0, rowsWritten: 0, rowsUnchanged: 0, rowsDeleted: 0, embedded: 0 };
      const rows = !exists ? 0 : postgres ? await countRows(target) : tallyRows(dir).rows;
      return { ...none, interrupted: true, seconds: 0, dir, created: false, model, rows, chunkTokens: options.chunkTokens, chunkOverlap: options.chunkOverlap };
    }
    encoder = options.encoder ?? (await loadEncoder(model, { ...encoderOptionsFrom(options), ...(truncateDim === undefined ? {} : { truncateDim }) }));
    // Chunk settings: the options given, else those recorded by the last run, else the model's defaults.
    // (A pgvector collection has no directory to record them in: they are not recorded for a URL.)
    const enc = encoder;
    const settle = (recorded: ChunkSettings | undefined): ChunkSettings => {
      const settings = {
        chunkTokens: options.chunkTokens ?? recorded?.chunkTokens ?? enc.maxTokens,
        chunkOverlap: options.chunkOverlap ?? recorded?.chunkOverlap ?? 0,
      };
      chunkText('probe', 'probe', enc, { maxTokens: settings.chunkTokens, overlapTokens: settings.chunkOverlap }); // validates them
      return settings;
    };
    let chunking = settle(exists && !postgres ? readChunkSettings(dir) : undefined);
    emptyDir = exists || postgres ? undefined : emptyDirectoryAt(target);
    try {
      ({ collection, created } = await openForIndexing({ target, dir, exists, model, encoder, wantedSpec, index: options.index, language: options.language }));
    } catch (error) {
      throw lockedForCommandLine(error, dir);
    }
    // Another run created the collection meanwhile: the settings it recorded apply, as in a rerun.
    if (!exists && !created && !postgres) chunking = settle(readChunkSettings(dir));
    if (!postgres) writeChunkSettings(dir, chunking);
    const showProgress = options.progress ?? true;
    const progress = showProgress ? createProgress({ label: 'indexing', unit: 'docs', total: scan.documents }) : undefined;
    let summary: IndexSummary;
    try {
      summary = await indexDocuments(collection, readInputs(options.files), {
        chunkTokens: chunking.chunkTokens,
        chunkOverlap: chunking.chunkOverlap,
        batchSize: options.batchSize,
        stop: stop.signal,
        signal: abandon.signal,
        // Inside a large document, the bar also moves by the share of it committed (batches of its chunks).
        onBatch: (p) => progress?.update(p.documents + (p.partial?.fraction ?? 0), p.partial && `${p.partial.origin}: ${p.partial.rows} chunks (${Math.floor(100 * p.partial.fraction)}%)`),
      });
    } finally {
      progress?.stop();
    }
    const rows = await collection.count();
    await collection.close();
    return { ...summary, dir, created, model, rows, ...chunking };
  } catch (error) {
    // A run that created the collection and failed before any batch was acknowledged takes it back,
    // so a rejected first `index` leaves DIR as it was (unless another writer wrote to it meanwhile).
    // (Collection.create takes back what it created when it fails itself. A pgvector collection is kept.)
    if (created && !postgres) {
      await collection?.close().catch(() => undefined);
      try {
        removeCollectionDirectory(target, { onlyIfUnwritten: true, restore: emptyDir });
      } catch {
        // kept: another writer holds it, or it cannot be removed; the original error matters more
      }
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
    await collection?.close().catch(() => undefined);
    if (options.encoder === undefined) await encoder?.close().catch(() => undefined);
  }
}

/** The human summary of an index run. */
export function formatIndexSummary(r: IndexFilesResult): string {
  const rate = r.seconds > 0 ? (r.documents / r.seconds).toFixed(1) : '0';
  const chunking = r.chunkTokens === undefined ? '' : `, at most ${r.chunkTokens} tokens each${r.chunkOverlap ? `, overlap ${r.chunkOverlap}` : ''}`;
  const lines = [
    `${r.interrupted ? 'interrupted: kept' : 'indexed'} ${r.documents} documents into ${r.dir}${r.created ? ' (new collection, model ' + r.model + ')' : ''}: ` +
      `${r.inserted} new, ${r.updated} updated, ${r.unchanged} unchanged${r.empty ? `, ${r.empty} empty (skipped)` : ''}`,
    `  rows (documents and chunks${chunking}): ${r.rowsWritten} written, ${r.rowsUnchanged} unchanged, ${r.rowsDeleted} stale deleted; ${r.embedded} texts embedded in ${r.seconds.toFixed(1)} s (${rate} docs/s)`,
    `  the collection holds ${r.rows} rows`,
  ];
  if (r.interrupted) lines.push('  every acknowledged batch is stored; run the same command again to index the rest');
  return lines.join('\n') + '\n';
}

export function indexCommand(): Command {
  const cmd = new Command('index')
    .description('Index documents into a collection (created when DIR does not exist); reruns skip what is already indexed.')
    .addHelpText(
      'after',
      `
Inputs:
  files      ${SUPPORTED_EXTENSIONS.join(' ')}
             .txt/.md: one document per file, id = its path relative to the folder or glob base (or --root)
             .jsonl: one document a line, BEIR corpus {"_id", "title", "text", ...} or {"id", "text", "metadata"}
                     (text = "title\\n\\ntext"; other fields go to metadata)
             .json: an array of such objects
  folders    walked recursively (hidden files and node_modules left out)
  globs      quote them: 'docs/**/*.md'

Long documents are split into chunks of at most --chunk-tokens model tokens, stored as "ID#0", "ID#1", ...
with metadata._chunk = {parent, index, start, end}; a document that fits is stored under its own id.
The chunk settings are recorded in DIR/chunking.json and reused by later runs that do not give them
(with --store they are not recorded: give them on every run, or get the model's max and no overlap).

--store URL indexes into a PostgreSQL + pgvector collection instead of a directory (see docs/pgvector.md):
postgres://user:password@host:5432/db?collection=NAME; the collection is created when it does not exist.
Progress: a bar on a terminal, plain lines otherwise. Ctrl-C stops after the batch in flight (twice:
abandons it) and keeps everything acknowledged; exit ${INTERRUPTED_EXIT}. Run the same command again to finish.

Examples:
  biencoder index notes/ --collection ./kb
  biencoder index corpus.jsonl --collection ./kb --model ./my-onnx-model --index hnsw --chunk-tokens 256
  biencoder index 'docs/**/*.md' --collection ./kb --json
  biencoder index notes/ --store 'postgres://app:secret@db:5432/search?collection=notes'`,
    )
    .argument('<paths...>', 'files, folders or globs (quote globs)')
    .option('--collection <dir>', 'the collection directory (this or --store)')
    .option('--store <url>', 'a pgvector collection: postgres://user:pw@host/db?collection=NAME (this or --collection)')
    .addOption(new Option('--index <kind>', 'index of a new collection: flat (exact), hnsw, i8 (hnsw, int8 vectors), binary (1-bit codes, rescored)').choices(Object.keys(INDEX_CHOICES)))
    .addOption(new Option('--language <code>', "keyword search language of a new collection: word splitting, stemming, stopwords (default en; auto: mixed languages, no stemming)").choices([...ANALYZER_LANGUAGES]))
    .option('--chunk-tokens <n>', "max tokens per chunk (default: the last run's, else the model's max)", integerOption(2))
    .option('--chunk-overlap <n>', "tokens shared by consecutive chunks (default: the last run's, else 0)", integerOption(0))
    .option('--batch-size <n>', 'documents per committed batch', integerOption(1), 32)
    .option('--root <dir>', 'ids of .txt/.md files are their paths relative to this folder (default: the folder or glob base named; a file named directly: its own folder)')
    .option('--no-progress', 'no progress display')
    .option('--json', 'print the summary as JSON on stdout');
  modelOptions(cmd);
  return cmd.action(async (paths: string[], opts: IndexCliOptions, command: Command) => {
    const target = collectionTarget(opts, command);
    const inputs = await resolveInputs(paths, opts.root === undefined ? {} : { root: opts.root });
    if (inputs.skipped.length > 0) {
      const shown = inputs.skipped.slice(0, 5).join(', ');
      process.stderr.write(`biencoder: skipped ${inputs.skipped.length} file(s) of unsupported types: ${shown}${inputs.skipped.length > 5 ? ', ...' : ''}\n`);
    }
    if (inputs.files.length === 0) throw new BiencoderError('INVALID_INPUT', `no ${SUPPORTED_EXTENSIONS.join(' ')} files in ${paths.join(' ')}`);
    const result = await indexFiles({
      ...opts,
      dir: target,
      files: inputs.files,
      progress: opts.progress !== false,
    });
    if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else process.stdout.write(formatIndexSummary(result));
    if (result.interrupted) process.exitCode = INTERRUPTED_EXIT;
  });
}
