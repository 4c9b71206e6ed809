import { join } from 'node:path';
import { BiencoderError, throwIfAborted } from '../../errors.ts';
import { normalizeRows } from '../../matrix.ts';
import { checkPositiveInteger, longestFirst, nextBatchSize } from '../batching.ts';
import type { EncodeOptions, Embeddings, Encoder, Metric, Prompts } from '../encoder.ts';
import { prepareTexts } from '../text-input.ts';
import { CONFIG_FILES, fileExists, onnxFileFor, readSentenceTransformerConfig, type Dtype, type SentenceTransformerConfig } from './model-config.ts';
import { resolveModel, type ModelSourceOptions } from './model-source.ts';
import { poolInto } from './pooling.ts';
import { EncoderSession, type OnnxSessionOptions } from './session.ts';
import { TextTokenizer, type TokenizedText, type TruncationMode } from './tokenizer.ts';

export interface OnnxEncoderOptions extends ModelSourceOptions, OnnxSessionOptions {
  /** Which ONNX weights to load: fp32 (onnx/model.onnx), fp16, q8/quantized, int8, uint8, q4, ... Default fp32. */
  readonly dtype?: Dtype;
  /** Texts per onnxruntime call. Default 32. */
  readonly batchSize?: number;
  /**
   * Padded positions (texts x the batch's longest text, in tokens) per onnxruntime call. Default 2048:
   * batches of long texts hold fewer texts, so a call's activations stay in the CPU caches (a batch always
   * holds at least one text).
   */
  readonly maxBatchTokens?: number;
  /** Overrides the model's prompts per role. '' removes a prompt. */
  readonly prompts?: Prompts;
  /** Overrides sentence_bert_config.json max_seq_length (never above the model's positions). */
  readonly maxSeqLength?: number;
  /** How over-long texts are cut; default 'sentence-transformers' (special tokens kept). */
  readonly truncation?: TruncationMode;
}

const DEFAULT_BATCH_SIZE = 32;
const DEFAULT_MAX_BATCH_TOKENS = 2048;

/**
 * A sentence-transformers model exported to ONNX (Transformer -> Pooling -> [Normalize]),
 * run with onnxruntime-node. Inputs are sorted by token length and each batch is padded to its
 * own longest text only (and holds at most maxBatchTokens padded positions); outputs come back in input order.
 */
export class OnnxEncoder implements Encoder {
  readonly modelId: string;
  readonly revision: string | undefined;
  readonly dims: number;
  readonly normalized: boolean;
  readonly maxTokens: number;
  readonly prompts: Prompts;
  readonly similarity: Metric;
  readonly config: SentenceTransformerConfig;
  readonly dtype: Dtype;
  readonly directory: string;
  readonly #tokenizer: TextTokenizer;
  readonly #session: EncoderSession;
  readonly #batchSize: number;
  readonly #maxBatchTokens: number;
  readonly #truncation: TruncationMode;
  #closed = false;

  constructor(init: {
    modelId: string;
    revision: string | undefined;
    directory: string;
    dtype: Dtype;
    config: SentenceTransformerConfig;
    tokenizer: TextTokenizer;
    session: EncoderSession;
    batchSize?: number;
    maxBatchTokens?: number;
    prompts?: Prompts;
    maxSeqLength?: number;
    truncation?: TruncationMode;
  }) {
    this.#truncation = init.truncation ?? 'sentence-transformers';
    this.modelId = init.modelId;
    this.revision = init.revision;
    this.directory = init.directory;
    this.dtype = init.dtype;
    this.config = init.config;
    this.#tokenizer = init.tokenizer;
    this.#session = init.session;
    this.#batchSize = checkPositiveInteger(init.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize');
    this.#maxBatchTokens = checkPositiveInteger(init.maxBatchTokens ?? DEFAULT_MAX_BATCH_TOKENS, 'maxBatchTokens');
    this.dims = init.config.hiddenSize;
    this.normalized = init.config.normalize;
    this.similarity = init.config.similarity;
    this.maxTokens = init.maxSeqLength === undefined ? init.config.maxSeqLength : Math.min(init.maxSeqLength, init.config.maxSeqLength);
    if (!Number.isInteger(this.maxTokens) || this.maxTokens <= init.tokenizer.prefix.length + init.tokenizer.suffix.length) {
      throw new BiencoderError('INVALID_ARGUMENT', `maxSeqLength ${this.maxTokens} is too small for ${this.modelId}`);
    }
    const merged: Record<string, string> = { ...init.config.rolePrompts };
    for (const [role, prompt] of Object.entries(init.prompts ?? {})) {
      if (prompt === '' || prompt === undefined) delete merged[role];
      else merged[role] = prompt;
    }
    this.prompts = merged;
  }

  countTokens(texts: readonly string[]): number[] {
    return prepareTexts(texts).map((t) => this.#tokenizer.countTokens(t));
  }

  async encode(texts: readonly string[], options: EncodeOptions = {}): Promise<Embeddings> {
    if (this.#closed) throw new BiencoderError('CLOSED', `the encoder ${this.modelId} was closed`);
    const clean = prepareTexts(texts);
    const batchSize = checkPositiveInteger(options.batchSize ?? this.#batchSize, 'batchSize');
    const prompt = options.prompt ?? this.prompts[options.role ?? 'document'] ?? '';
    throwIfAborted(options.signal);

    const tokenized: TokenizedText[] = clean.map((t) => this.#tokenizer.encode(t, this.maxTokens, prompt, this.#truncation));
    const truncatedIndices: number[] = [];
    tokenized.forEach((t, i) => {
      if (t.truncated) truncatedIndices.push(i);
    });
    const order = longestFirst(tokenized);

    const dims = this.dims;
    const out = new Float32Array(clean.length * dims);
    const pad = this.#tokenizer.padId;
    const leaveOutPrompt = !this.config.includePrompt && prompt !== '';
    for (let start = 0; start < order.length;) {
      throwIfAborted(options.signal);
      // Longest first: the first text sets the batch's padded length.
      const seqLen = tokenized[order[start]].ids.length;
      const rows = order.slice(start, start + nextBatchSize(seqLen, order.length - start, batchSize, this.#maxBatchTokens));
      start += rows.length;
      const ids = new Int32Array(rows.length * seqLen).fill(pad);
      const lengths = new Int32Array(rows.length);
      const from = leaveOutPrompt ? new Int32Array(rows.length) : undefined;
      rows.forEach((r, b) => {
        const t = tokenized[r];
        ids.set(t.ids, b * seqLen);
        lengths[b] = t.ids.length;
        if (from) from[b] = t.promptTokens;
      });
      const states = await this.#session.run(ids, lengths, rows.length, seqLen);
      if (states.hidden !== dims) {
        throw new BiencoderError('MODEL_INVALID', `${this.modelId} outputs ${states.hidden}-d token states, config.json says ${dims}`);
      }
      poolInto(this.config.pooling, states, lengths, from, out, rows);
      options.onProgress?.({ done: start, total: order.length });
    }
    const embeddings = { data: out, rows: clean.length, dims };
    if (this.normalized) normalizeRows(embeddings);
    return { ...embeddings, truncated: truncatedIndices.length, truncatedIndices };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#session.close();
  }
}

/**
 * Loads a sentence-transformers ONNX model from a local directory or a hub id (`org/name[@revision]`,
 * downloaded once into the cache).
 */
export async function loadOnnxEncoder(model: string, options: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
  const dtype = options.dtype ?? 'fp32';
  const onnxFile = onnxFileFor(dtype);
  const resolved = await resolveModel(model, [...CONFIG_FILES, { path: onnxFile }, { path: `${onnxFile}_data`, optional: true }], options);
  const onnxPath = join(resolved.dir, onnxFile);
  if (!(await fileExists(onnxPath))) {
    throw new BiencoderError('MODEL_INVALID', `${model} has no ${onnxFile} for dtype "${dtype}" (looked in ${resolved.dir})`);
  }
  const [config, tokenizer, session] = await Promise.all([
    readSentenceTransformerConfig(resolved.dir),
    TextTokenizer.fromDirectory(resolved.dir),
    EncoderSession.create(onnxPath, options),
  ]);
  return new OnnxEncoder({
    modelId: resolved.id,
    revision: resolved.revision,
    directory: resolved.dir,
    dtype,
    config,
    tokenizer,
    session,
    batchSize: options.batchSize,
    maxBatchTokens: options.maxBatchTokens,
    prompts: options.prompts,
    maxSeqLength: options.maxSeqLength,
    truncation: options.truncation,
  });
}
