import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CollectionApi } from '../collection/collection-api.ts';
import { DTYPE_SUFFIX, type Dtype } from '../encoders/onnx/model-config.ts';
import { loadCrossEncoder, type CrossEncoder, type CrossEncoderOptions } from '../rerank/cross-encoder.ts';
import { DEFAULT_RERANK_CANDIDATES, Retriever, type RetrieverOptions } from '../retriever/retriever.ts';
import { encoderOptionsFrom, type ModelCliOptions } from './model-options.ts';

/** The parsed values of the options rerankOptions() adds (commander camel-cases them). */
export interface RerankCliOptions {
  rerank?: string;
  rerankTop?: number;
  rerankBudgetMs?: number;
  rerankDtype?: Dtype;
  rerankBatchSize?: number;
}

export const DEFAULT_RERANK_TOP = DEFAULT_RERANK_CANDIDATES;

function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`${flag} must be a positive integer, got "${value}"`);
    return Number(value);
  };
}

function positiveNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive number, got "${value}"`);
    return n;
  };
}

/** Adds --rerank MODEL, --rerank-top N, --rerank-budget-ms MS, --rerank-dtype and --rerank-batch-size to a command. */
export function rerankOptions(cmd: Command): Command {
  return cmd
    .option('--rerank <id|dir>', 'rerank with a cross-encoder: a sentence-transformers CrossEncoder exported to ONNX (local directory or hub id org/name[@revision])')
    .addOption(new Option('--rerank-top <n>', `candidates from the bi-encoder that the cross-encoder scores (default ${DEFAULT_RERANK_TOP})`).argParser(positiveInteger('--rerank-top')))
    .addOption(new Option('--rerank-budget-ms <ms>', 'latency budget per query: rerank only the candidates that fit the measured cost').argParser(positiveNumber('--rerank-budget-ms')))
    .addOption(new Option('--rerank-dtype <dtype>', 'ONNX weights variant of the cross-encoder').choices(Object.keys(DTYPE_SUFFIX)))
    .addOption(new Option('--rerank-batch-size <n>', 'pairs per cross-encoder call (default 32)').argParser(positiveInteger('--rerank-batch-size')));
}

/**
 * Checks that the --rerank-* options come with --rerank; reports a usage error (exit 2) through the
 * command otherwise.
 */
export function checkRerankOptions(cmd: Command, opts: RerankCliOptions): void {
  if (opts.rerank !== undefined) return;
  const stray = (['rerankTop', 'rerankBudgetMs', 'rerankDtype', 'rerankBatchSize'] as const).filter((k) => opts[k] !== undefined);
  if (stray.length > 0) {
    const flags = stray.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    cmd.error(`${flags.join(', ')} ${flags.length === 1 ? 'needs' : 'need'} --rerank MODEL`, { exitCode: 2, code: 'biencoder.rerankUsage' });
  }
}

/** Loads the cross-encoder named by --rerank (undefined without it), fetching it like the bi-encoder (--cache-dir, --offline). */
export async function loadRerankerFrom(opts: RerankCliOptions & ModelCliOptions): Promise<CrossEncoder | undefined> {
  if (opts.rerank === undefined) return undefined;
  const { onDownload, cacheDir, offline } = encoderOptionsFrom(opts);
  const options: CrossEncoderOptions = {
    ...(onDownload ? { onDownload } : {}),
    ...(cacheDir ? { cacheDir } : {}),
    ...(offline ? { offline } : {}),
    ...(opts.rerankDtype ? { dtype: opts.rerankDtype } : {}),
    ...(opts.rerankBatchSize ? { batchSize: opts.rerankBatchSize } : {}),
  };
  return loadCrossEncoder(opts.rerank, options);
}

/**
 * The Retriever for a search or eval command: the collection's first stage (`firstStage`'s mode, else the
 * collection's default ranking of a text query: hybrid where served), then the --rerank cross-encoder (if any) over --rerank-top candidates within
 * --rerank-budget-ms. close() releases the cross-encoder.
 */
export async function retrieverFrom(
  collection: CollectionApi,
  opts: RerankCliOptions & ModelCliOptions,
  firstStage: Pick<RetrieverOptions, 'mode' | 'hybrid' | 'keyword'> = {},
): Promise<{ retriever: Retriever; reranker: CrossEncoder | undefined; close: () => Promise<void> }> {
  const reranker = await loadRerankerFrom(opts);
  let retriever: Retriever;
  try {
    retriever = new Retriever({
      collection,
      ...firstStage,
      ...(reranker ? { reranker } : {}),
      candidates: opts.rerankTop ?? DEFAULT_RERANK_TOP,
      ...(opts.rerankBudgetMs !== undefined ? { budgetMs: opts.rerankBudgetMs } : {}),
    });
  } catch (error) {
    await reranker?.close();
    throw error;
  }
  return { retriever, reranker, close: async () => reranker?.close() };
}
