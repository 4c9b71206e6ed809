import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { BiencoderError } from '../../errors.ts';
import type { Metric, Prompts } from '../encoder.ts';
import type { PoolingMode } from './pooling.ts';
import { readJsonFile } from './json-file.ts';

/**
 * The parts of a sentence-transformers model directory that shape inference:
 * an ordered list of modules (Transformer -> Pooling -> [Normalize]), each with a JSON config.
 */
export interface SentenceTransformerConfig {
  /** Hidden size of the transformer (the embedding dimension after pooling). */
  readonly hiddenSize: number;
  /** sentence_bert_config.json max_seq_length, capped by the model's max positions. */
  readonly maxSeqLength: number;
  readonly pooling: PoolingMode;
  /** Whether the prompt's tokens take part in pooling (Pooling include_prompt). */
  readonly includePrompt: boolean;
  /** True when modules.json lists a Normalize module. */
  readonly normalize: boolean;
  /** Prompts from config_sentence_transformers.json, by prompt name. */
  readonly prompts: Readonly<Record<string, string>>;
  /** The prompt per role, derived from the named prompts ('query', 'document' / 'passage' / 'corpus'). */
  readonly rolePrompts: Prompts;
  readonly similarity: Metric;
  readonly modelType: string | undefined;
}

/** Files read from a model directory (and fetched from the hub), by whether they are required. */
export const CONFIG_FILES = [
  { path: 'config.json' },
  { path: 'tokenizer.json' },
  { path: 'tokenizer_config.json', optional: true },
  { path: 'special_tokens_map.json', optional: true },
  { path: 'modules.json', optional: true },
  { path: '1_Pooling/config.json', optional: true },
  { path: 'sentence_bert_config.json', optional: true },
  { path: 'config_sentence_transformers.json', optional: true },
] as const;

/** ONNX weight variants by dtype, following transformers.js's file naming. */
export const DTYPE_SUFFIX = {
  fp32: '',
  fp16: '_fp16',
  int8: '_int8',
  uint8: '_uint8',
  q8: '_quantized',
  quantized: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
} as const;
export type Dtype = keyof typeof DTYPE_SUFFIX;

export function onnxFileFor(dtype: Dtype): string {
  const suffix = (DTYPE_SUFFIX as Record<string, string>)[dtype];
  if (suffix === undefined) {
    throw new BiencoderError('INVALID_ARGUMENT', `unknown dtype "${dtype}"; use one of ${Object.keys(DTYPE_SUFFIX).join(', ')}`);
  }
  return `onnx/model${suffix}.onnx`;
}

const SIMILARITY: Record<string, Metric> = {
  cosine: 'cosine',
  dot: 'dot',
  dot_product: 'dot',
  euclidean: 'l2',
  manhattan: 'manhattan',
};

export async function readSentenceTransformerConfig(dir: string): Promise<SentenceTransformerConfig> {
  const config = await readJson<Record<string, unknown>>(dir, 'config.json', true);
  const hiddenSize = numberField(config, ['hidden_size', 'd_model', 'dim', 'n_embd'], 'config.json');
  const maxPositions = optionalNumber(config, ['max_position_embeddings', 'n_positions']);

  const modules = await readJson<Array<{ path?: string; type?: string }>>(dir, 'modules.json', false);
  let poolingPath = '1_Pooling';
  let normalize = false;
  if (modules) {
    if (!Array.isArray(modules)) throw invalid(dir, 'modules.json', 'is not an array');
    for (const m of modules) {
      const type = String(m.type ?? '');
      if (type.endsWith('.Transformer') || type.endsWith('.models.Transformer')) continue;
      if (type.endsWith('.Pooling')) {
        poolingPath = m.path ?? poolingPath;
      } else if (type.endsWith('.Normalize')) {
        normalize = true;
      } else {
        throw new BiencoderError(
          'MODEL_INVALID',
          `${join(dir, 'modules.json')} lists the module "${type}", which biencoder does not support (supported: Transformer, Pooling, Normalize)`,
        );
      }
    }
  }

  const poolingConfig = await readJson<Record<string, unknown>>(dir, join(poolingPath, 'config.json'), false);
  const pooling = poolingConfig ? poolingModeOf(poolingConfig, dir) : 'mean';
  const includePrompt = poolingConfig?.include_prompt === undefined ? true : Boolean(poolingConfig.include_prompt);

  const sbert = await readJson<Record<string, unknown>>(dir, 'sentence_bert_config.json', false);
  const tokenizerConfig = await readJson<Record<string, unknown>>(dir, 'tokenizer_config.json', false);
  const candidates = [
    optionalNumber(sbert ?? {}, ['max_seq_length']),
    optionalNumber(tokenizerConfig ?? {}, ['model_max_length']),
    maxPositions,
    512,
  ].filter((n): n is number => n !== undefined && n > 0 && n < 1e9);
  let maxSeqLength = candidates[0];
  if (maxPositions !== undefined) maxSeqLength = Math.min(maxSeqLength, maxPositions);

  const st = await readJson<Record<string, unknown>>(dir, 'config_sentence_transformers.json', false);
  const prompts: Record<string, string> = {};
  if (st?.prompts && typeof st.prompts === 'object') {
    for (const [k, v] of Object.entries(st.prompts as Record<string, unknown>)) {
      if (typeof v === 'string') prompts[k] = v;
    }
  }
  const similarityName = typeof st?.similarity_fn_name === 'string' ? st.similarity_fn_name : 'cosine';
  const similarity = SIMILARITY[similarityName];
  if (!similarity) throw invalid(dir, 'config_sentence_transformers.json', `has an unknown similarity_fn_name "${similarityName}"`);

  return {
    hiddenSize,
    maxSeqLength,
    pooling,
    includePrompt,
    normalize,
    prompts,
    rolePrompts: rolePromptsOf(prompts),
    similarity,
    modelType: typeof config.model_type === 'string' ? config.model_type : undefined,
  };
}

/** sentence-transformers models name prompts freely; these are the names used for the two roles. */
function rolePromptsOf(prompts: Record<string, string>): Prompts {
  const query = prompts.query ?? prompts.search_query;
  const document = prompts.document ?? prompts.passage ?? prompts.corpus ?? prompts.search_document;
  return {
    ...(query !== undefined && query !== '' ? { query } : {}),
    ...(document !== undefined && document !== '' ? { document } : {}),
  };
}

function poolingModeOf(c: Record<string, unknown>, dir: string): PoolingMode {
  const modes: PoolingMode[] = [];
  if (c.pooling_mode_cls_token) modes.push('cls');
  if (c.pooling_mode_mean_tokens) modes.push('mean');
  if (c.pooling_mode_max_tokens) modes.push('max');
  if (c.pooling_mode_mean_sqrt_len_tokens) modes.push('mean_sqrt_len');
  if (c.pooling_mode_lasttoken) modes.push('lasttoken');
  if (c.pooling_mode_weightedmean_tokens) modes.push('weightedmean');
  if (modes.length !== 1) {
    throw invalid(dir, '1_Pooling/config.json', `must enable exactly one pooling mode, found ${modes.length ? modes.join(' + ') : 'none'}`);
  }
  return modes[0];
}

function readJson<T>(dir: string, file: string, required: true): Promise<T>;
function readJson<T>(dir: string, file: string, required: false): Promise<T | undefined>;
function readJson<T>(dir: string, file: string, required: boolean): Promise<T | undefined> {
  return required ? readJsonFile<T>(join(dir, file), true) : readJsonFile<T>(join(dir, file), false);
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function numberField(obj: Record<string, unknown>, keys: string[], file: string): number {
  const n = optionalNumber(obj, keys);
  if (n === undefined) throw new BiencoderError('MODEL_INVALID', `${file} has none of ${keys.join(', ')}`);
  return n;
}

function optionalNumber(obj: Record<string, unknown>, keys: string[]): number | undefined {
  for (const k of keys) {
    const v = obj[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

function invalid(dir: string, file: string, what: string): BiencoderError {
  return new BiencoderError('MODEL_INVALID', `${join(dir, file)} ${what}`);
}
