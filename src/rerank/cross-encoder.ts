import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BiencoderError, throwIfAborted } from '../errors.ts';
import { checkPositiveInteger, longestFirst } from '../encoders/batching.ts';
import { fileExists, onnxFileFor, type Dtype } from '../encoders/onnx/model-config.ts';
import { resolveModel, type ModelSourceOptions } from '../encoders/onnx/model-source.ts';
import type { OnnxSessionOptions } from '../encoders/onnx/session.ts';
import { prepareTexts } from '../encoders/text-input.ts';
import { applyActivation, checkActivation, type Activation } from './activation.ts';
import { CROSS_ENCODER_CONFIG_FILES, readCrossEncoderConfig, type CrossEncoderConfig } from './cross-encoder-config.ts';
import { PAIR_TRUNCATIONS, PairTokenizer, type PairTruncation, type TokenizedPair } from './pair-tokenizer.ts';
import { ClassifierSession } from './session.ts';
import { rewriteToFirstToken } from './first-token-graph.ts';

export interface CrossEncoderOptions extends ModelSourceOptions, OnnxSessionOptions {
  /** Which ONNX weights to load: fp32 (onnx/model.onnx), fp16, q8/quantized, int8, uint8, q4, ... Default fp32. */
  readonly dtype?: Dtype;
  /** Pairs per onnxruntime call. Default 32. */
  readonly batchSize?: number;
  /** Longest pair in tokens; default (and never above) the model's model_max_length / max_position_embeddings. */
  readonly maxLength?: number;
  /** Overrides the activation read from config.json. */
  readonly activation?: Activation;
  /** How over-long pairs are cut; default 'only-second' (the document is cut, special tokens kept). */
  readonly truncation?: PairTruncation;
  /**
   * Run the last layer for the first token only (the only one the classification head reads): about a sixth
   * less work for a 6-layer model. The rewritten graph is checked against the original on a probe batch at
   * load and used only if they agree; otherwise, or when the graph does not have the expected shape, the
   * original graph runs. Default true.
   */
  readonly firstTokenLastLayer?: boolean;
}

/** Which graph runs: the exported one, or the one whose last layer computes the first token only. */
export interface GraphChoice {
  readonly kind: 'full' | 'first-token';
  /** Why the rewrite was not used, when it was not. */
  readonly reason?: string;
  /** Max abs logit difference between the two graphs on the load-time probe, when both ran. */
  readonly probeDiff?: number;
}

export interface ScoreOptions {
  /** Pairs per onnxruntime call; default the encoder's. */
  readonly batchSize?: number;
  /** Overrides the model's activation for this call. */
  readonly activation?: Activation;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: { done: number; total: number }) => void;
}

/** One (query, document) pair. */
export type TextPair = readonly [string, string];

export interface PairScores {
  /** rows x labels scores, after the activation, in input order. */
  readonly scores: Float32Array;
  /** rows x labels raw logits, in input order. */
  readonly logits: Float32Array;
  readonly rows: number;
  readonly labels: number;
  /** How many pairs were cut to fit maxLength, and which. */
  readonly truncated: number;
  readonly truncatedIndices: number[];
  /** Real tokens, tokens computed (padding included), onnxruntime calls, and the time spent running the model. */
  readonly stats: { readonly tokens: number; readonly paddedTokens: number; readonly batches: number; readonly ms: number };
}

export interface RankOptions extends ScoreOptions {
  /** How many documents to return, best first. Default all. */
  readonly topK?: number;
  /** Which label ranks, for a model with several (index or name). Default the only one. */
  readonly label?: number | string;
}

export interface RankedDocument {
  /** Position of the document in the input. */
  readonly index: number;
  /** The score (after the activation) that ranked it. */
  readonly score: number;
  /** The raw logit of the ranking label. */
  readonly logit: number;
}

const DEFAULT_BATCH_SIZE = 32;

/**
 * A sentence-transformers CrossEncoder (a *ForSequenceClassification transformer) exported to ONNX, run with
 * onnxruntime-node. It reads each (query, document) pair together and gives it one score per label.
 * Pairs are sorted by token length and each batch is padded only to its own longest pair; results come
 * back in input order.
 */
export class CrossEncoder {
  readonly modelId: string;
  readonly revision: string | undefined;
  readonly directory: string;
  readonly dtype: Dtype;
  readonly config: CrossEncoderConfig;
  readonly numLabels: number;
  readonly labels: readonly string[];
  readonly activation: Activation;
  readonly maxLength: number;
  readonly truncation: PairTruncation;
  readonly graph: GraphChoice;
  readonly #tokenizer: PairTokenizer;
  readonly #session: ClassifierSession;
  readonly #batchSize: number;
  #closed = false;

  constructor(init: {
    modelId: string;
    revision: string | undefined;
    directory: string;
    dtype: Dtype;
    config: CrossEncoderConfig;
    tokenizer: PairTokenizer;
    session: ClassifierSession;
    batchSize?: number | undefined;
    maxLength?: number | undefined;
    activation?: Activation | undefined;
    truncation?: PairTruncation | undefined;
    graph?: GraphChoice | undefined;
  }) {
    this.graph = init.graph ?? { kind: 'full' };
    this.modelId = init.modelId;
    this.revision = init.revision;
    this.directory = init.directory;
    this.dtype = init.dtype;
    this.config = init.config;
    this.numLabels = init.config.numLabels;
    this.labels = init.config.labels;
    this.activation = init.activation === undefined ? init.config.activation : checkActivation(init.activation);
    this.#tokenizer = init.tokenizer;
    this.#session = init.session;
    this.#batchSize = checkPositiveInteger(init.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize');
    if (init.maxLength !== undefined) checkPositiveInteger(init.maxLength, 'maxLength');
    this.maxLength = Math.min(init.maxLength ?? init.config.maxLength, init.config.maxLength);
    if (this.maxLength < init.tokenizer.specialTokens + 2) {
      throw new BiencoderError('INVALID_ARGUMENT', `maxLength ${this.maxLength} is too small for ${this.modelId}: a pair needs ${init.tokenizer.specialTokens} special tokens`);
    }
    const truncation = init.truncation ?? 'only-second';
    if (!PAIR_TRUNCATIONS.includes(truncation)) {
      throw new BiencoderError('INVALID_ARGUMENT', `truncation must be one of ${PAIR_TRUNCATIONS.join(', ')}, got ${JSON.stringify(truncation)}`);
    }
    this.truncation = truncation;
  }

  /** Tokenizes one query against many documents (the query is tokenized once). */
  tokenize(query: string, documents: readonly string[]): TokenizedPair[] {
    this.#assertOpen();
    const [q] = prepareQuery(query);
    const docs = prepareTexts(documents);
    const queryIds = this.#tokenizer.contentIds(q);
    return docs.map((d) => this.#tokenizer.encodePair(queryIds, this.#tokenizer.contentIds(d), this.maxLength, this.truncation));
  }

  /** Scores arbitrary (query, document) pairs. */
  async predict(pairs: readonly TextPair[], options: ScoreOptions = {}): Promise<PairScores> {
    this.#assertOpen();
    if (!Array.isArray(pairs)) throw new BiencoderError('INVALID_ARGUMENT', 'pairs must be an array of [query, document]');
    pairs.forEach((p, i) => {
      if (!Array.isArray(p) || p.length !== 2) {
        throw new BiencoderError('INVALID_ARGUMENT', `pair ${i} must be a [query, document] array of two strings`, { details: { index: i } });
      }
    });
    const firsts = prepareTexts(pairs.map((p) => p[0]));
    const seconds = prepareTexts(pairs.map((p) => p[1]));
    const idsOf = new Map<string, number[]>(); // queries repeat across pairs: tokenize each once
    const tokenized = firsts.map((f, i) => {
      let ids = idsOf.get(f);
      if (ids === undefined) {
        ids = this.#tokenizer.contentIds(f);
        idsOf.set(f, ids);
      }
      return this.#tokenizer.encodePair(ids, this.#tokenizer.contentIds(seconds[i]), this.maxLength, this.truncation);
    });
    return this.scoreTokenized(tokenized, options);
  }

  /** Scores one query against many documents, in the documents' order. */
  async score(query: string, documents: readonly string[], options: ScoreOptions = {}): Promise<PairScores> {
    return this.scoreTokenized(this.tokenize(query, documents), options);
  }

  /**
   * Ranks documents for a query, best first (ties keep input order): the top `topK` (default all) with
   * their index in the input, score and logit.
   */
  async rank(query: string, documents: readonly string[], options: RankOptions = {}): Promise<RankedDocument[]> {
    const label = this.labelIndex(options.label);
    const topK = options.topK ?? documents.length;
    if (!Number.isInteger(topK) || topK < 0) throw new BiencoderError('INVALID_ARGUMENT', `topK must be a non-negative integer, got ${String(topK)}`);
    const result = await this.score(query, documents, options);
    const L = result.labels;
    const order = Array.from({ length: result.rows }, (_, i) => i)
      .sort((a, b) => result.scores[b * L + label] - result.scores[a * L + label] || a - b);
    return order.slice(0, topK).map((i) => ({ index: i, score: result.scores[i * L + label], logit: result.logits[i * L + label] }));
  }

  /** Runs already tokenized pairs (from tokenize()), longest first, each batch padded to its own longest. */
  async scoreTokenized(pairs: readonly TokenizedPair[], options: ScoreOptions = {}): Promise<PairScores> {
    this.#assertOpen();
    const batchSize = checkPositiveInteger(options.batchSize ?? this.#batchSize, 'batchSize');
    const activation = options.activation === undefined ? this.activation : checkActivation(options.activation);
    throwIfAborted(options.signal);
    if (!Array.isArray(pairs)) throw new BiencoderError('INVALID_ARGUMENT', 'pairs must be an array of tokenized pairs (from tokenize())');
    pairs.forEach((p, i) => {
      const ok = typeof p === 'object' && p !== null && p.ids instanceof Int32Array && p.typeIds instanceof Uint8Array &&
        p.ids.length === p.typeIds.length && p.ids.length > 0 && p.ids.length <= this.maxLength;
      if (!ok) throw new BiencoderError('INVALID_ARGUMENT', `tokenized pair ${i} is not a pair of this cross-encoder's tokenize() (1..${this.maxLength} ids with as many type ids)`, { details: { index: i } });
    });
    const L = this.numLabels;
    const logits = new Float32Array(pairs.length * L);
    const truncatedIndices: number[] = [];
    let tokens = 0;
    pairs.forEach((p, i) => {
      if (p.truncated) truncatedIndices.push(i);
      tokens += p.ids.length;
    });
    const order = longestFirst(pairs);
    const pad = this.#tokenizer.padId;
    let paddedTokens = 0;
    let batches = 0;
    const started = performance.now();
    for (let start = 0; start < order.length; start += batchSize) {
      throwIfAborted(options.signal);
      const rows = order.slice(start, start + batchSize);
      const { ids, typeIds, lengths, seqLen } = padBatch(rows.map((r) => pairs[r]), pad);
      this.#assertOpen();
      const out = await this.#session.run(ids, typeIds, lengths, rows.length, seqLen);
      if (out.labels !== L) {
        throw new BiencoderError('MODEL_INVALID', `${this.modelId} outputs ${out.labels} logits per pair, config.json says ${L} labels`);
      }
      rows.forEach((r, b) => logits.set(out.logits.subarray(b * L, (b + 1) * L), r * L));
      paddedTokens += rows.length * seqLen;
      batches++;
      options.onProgress?.({ done: Math.min(start + batchSize, order.length), total: order.length });
    }
    const ms = performance.now() - started;
    for (let i = 0; i < logits.length; i++) {
      if (!Number.isFinite(logits[i])) throw new BiencoderError('INFERENCE_FAILED', `${this.modelId} gave a non-finite logit for pair ${Math.floor(i / L)}`);
    }
    return {
      scores: applyActivation(activation, logits, L),
      logits,
      rows: pairs.length,
      labels: L,
      truncated: truncatedIndices.length,
      truncatedIndices,
      stats: { tokens, paddedTokens, batches, ms },
    };
  }

  /**
   * The label index a ranking uses: `label` as an index or a name; without one, the only label
   * (INVALID_ARGUMENT for a model with several).
   */
  labelIndex(label?: number | string): number {
    if (label === undefined) {
      if (this.numLabels !== 1) {
        throw new BiencoderError('INVALID_ARGUMENT', `${this.modelId} has ${this.numLabels} labels (${this.labels.join(', ')}): pass the label to rank by`);
      }
      return 0;
    }
    const index = typeof label === 'string' ? this.labels.indexOf(label) : label;
    if (!Number.isInteger(index) || index < 0 || index >= this.numLabels) {
      throw new BiencoderError('INVALID_ARGUMENT', `label ${JSON.stringify(label)} is not one of ${this.modelId}'s labels (${this.labels.map((l, i) => `${i}: ${l}`).join(', ')})`);
    }
    return index;
  }

  #assertOpen(): void {
    if (this.#closed) throw new BiencoderError('CLOSED', `the cross-encoder ${this.modelId} was closed`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#session.close();
  }
}

/**
 * Loads a sentence-transformers CrossEncoder exported to ONNX, from a local directory or a hub id
 * (`org/name[@revision]`, downloaded once into the cache), e.g. 'cross-encoder/ms-marco-MiniLM-L6-v2'.
 */
export async function loadCrossEncoder(model: string, options: CrossEncoderOptions = {}): Promise<CrossEncoder> {
  const dtype = options.dtype ?? 'fp32';
  const onnxFile = onnxFileFor(dtype);
  if (options.activation !== undefined) checkActivation(options.activation);
  const resolved = await resolveModel(model, [...CROSS_ENCODER_CONFIG_FILES, { path: onnxFile }, { path: `${onnxFile}_data`, optional: true }], options);
  const onnxPath = join(resolved.dir, onnxFile);
  if (!(await fileExists(onnxPath))) {
    throw new BiencoderError('MODEL_INVALID', `${model} has no ${onnxFile} for dtype "${dtype}" (looked in ${resolved.dir})`);
  }
  const config = await readCrossEncoderConfig(resolved.dir);
  const tokenizer = await PairTokenizer.fromDirectory(resolved.dir);
  const hasExternalData = await fileExists(`${onnxPath}_data`);
  const { session, graph } = await createSession(onnxPath, tokenizer, options, options.firstTokenLastLayer !== false && !hasExternalData);
  try {
    return new CrossEncoder({
      modelId: resolved.id,
      revision: resolved.revision,
      directory: resolved.dir,
      dtype,
      config,
      tokenizer,
      session,
      batchSize: options.batchSize,
      maxLength: options.maxLength,
      activation: options.activation,
      truncation: options.truncation,
      graph,
    });
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** Agreement required between the rewritten and the original graph on the probe batch (relative above 1). */
const PROBE_TOLERANCE = 1e-4;

/**
 * The session to run: the first-token rewrite of the graph when asked for, possible, and in agreement with
 * the original on a probe batch of two pairs of different lengths (so padding is exercised); else the original.
 */
async function createSession(
  onnxPath: string, tokenizer: PairTokenizer, options: CrossEncoderOptions, rewrite: boolean,
): Promise<{ session: ClassifierSession; graph: GraphChoice }> {
  if (!rewrite) {
    const reason = options.firstTokenLastLayer === false ? 'disabled by option' : 'the model has external data';
    return { session: await ClassifierSession.create(onnxPath, options), graph: { kind: 'full', reason } };
  }
  // Read once: the rewrite and the original session both start from these bytes (no external data here).
  const bytes = await readFile(onnxPath);
  const rewritten = await rewriteToFirstToken(bytes);
  const original = await ClassifierSession.create(onnxPath, options, bytes);
  if (rewritten.bytes === undefined) return { session: original, graph: { kind: 'full', reason: rewritten.reason ?? 'not rewritable' } };
  let candidate: ClassifierSession | undefined;
  try {
    candidate = await ClassifierSession.create(`${onnxPath} (first-token last layer)`, options, rewritten.bytes);
    const probe = [
      tokenizer.encodePair(tokenizer.contentIds('what do cells do?'), tokenizer.contentIds('A cell is the smallest unit of life that can replicate on its own, and every organism is made of cells.'), 64),
      tokenizer.encodePair(tokenizer.contentIds('x'), tokenizer.contentIds('y'), 64),
    ];
    const { ids, typeIds, lengths, seqLen } = padBatch(probe, tokenizer.padId);
    const expected = await original.run(ids, typeIds, lengths, 2, seqLen);
    const got = await candidate.run(ids, typeIds, lengths, 2, seqLen);
    let diff = got.labels === expected.labels ? 0 : Infinity;
    for (let i = 0; i < expected.logits.length && diff !== Infinity; i++) {
      const e = expected.logits[i];
      diff = Math.max(diff, Math.abs(got.logits[i] - e) / Math.max(1, Math.abs(e)));
    }
    if (!(diff <= PROBE_TOLERANCE)) {
      await candidate.close();
      return { session: original, graph: { kind: 'full', reason: `the rewritten graph disagreed on the probe (${diff})`, probeDiff: diff } };
    }
    await original.close();
    return { session: candidate, graph: { kind: 'first-token', probeDiff: diff } };
  } catch (error) {
    await candidate?.close();
    return { session: original, graph: { kind: 'full', reason: `the rewritten graph failed: ${(error as Error).message}` } };
  }
}

/** One onnxruntime batch of pairs, right-padded with `pad` to the longest of them. */
function padBatch(pairs: readonly TokenizedPair[], pad: number): { ids: Int32Array; typeIds: Uint8Array; lengths: Int32Array; seqLen: number } {
  const seqLen = pairs.reduce((longest, p) => Math.max(longest, p.ids.length), 0);
  const ids = new Int32Array(pairs.length * seqLen).fill(pad);
  const typeIds = new Uint8Array(pairs.length * seqLen);
  const lengths = new Int32Array(pairs.length);
  pairs.forEach((p, b) => {
    ids.set(p.ids, b * seqLen);
    typeIds.set(p.typeIds, b * seqLen);
    lengths[b] = p.ids.length;
  });
  return { ids, typeIds, lengths, seqLen };
}

function prepareQuery(query: unknown): string[] {
  if (typeof query !== 'string') throw new BiencoderError('INVALID_ARGUMENT', `the query must be a string, got ${query === null ? 'null' : typeof query}`);
  return prepareTexts([query]);
}
