import type { Matrix } from '../matrix.ts';

/** Which side of a bi-encoder a text is embedded for. */
export type Role = 'query' | 'document';

export interface EncodeProgress {
  /** Inputs embedded so far. */
  readonly done: number;
  readonly total: number;
}

export interface EncodeOptions {
  /** Selects the role's prompt (e.g. e5's "query: "). Default 'document'. */
  readonly role?: Role;
  /**
   * A prompt prepended to every text, overriding the model's prompt for the role.
   * Pass '' to embed without any prompt.
   */
  readonly prompt?: string;
  /** Texts per model call. Default depends on the encoder (32 for ONNX models). */
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  /** Called after each batch. */
  readonly onProgress?: (progress: EncodeProgress) => void;
}

/** The vectors of one encode() call, in input order, plus what was cut short. */
export interface Embeddings extends Matrix {
  /** How many inputs were longer than maxTokens and were truncated. */
  readonly truncated: number;
  /** The input positions of the truncated texts, ascending. */
  readonly truncatedIndices: readonly number[];
}

/** Per-role prompts prepended to texts before tokenization. */
export type Prompts = Readonly<Partial<Record<Role, string>>>;

/** The similarity function a model was trained with. */
export type Metric = 'dot' | 'cosine' | 'l2' | 'manhattan';

/** Turns texts into vectors. Implementations: ONNX sentence-transformers models, Universal Sentence Encoder lite. */
export interface Encoder {
  /** The model's id: a hub id (`org/name`), a directory path or a built-in name. */
  readonly modelId: string;
  /** A revision (hub commit or tag, package version) when known. */
  readonly revision: string | undefined;
  readonly dims: number;
  /** True when every output row has unit L2 norm. */
  readonly normalized: boolean;
  /** Longest input in the model's own tokens (prompt and special tokens included); longer texts are truncated. */
  readonly maxTokens: number;
  /** The model's prompts per role (empty when it has none). */
  readonly prompts: Prompts;
  /** The similarity function the model was trained for. */
  readonly similarity: Metric;
  /** Matryoshka: set when the vectors are the model's first truncateDim dimensions (TruncatedEncoder). */
  readonly truncateDim?: number;
  encode(texts: readonly string[], options?: EncodeOptions): Promise<Embeddings>;
  /** Number of model tokens each text takes (special tokens included, no prompt, before truncation). */
  countTokens(texts: readonly string[]): number[];
  /** Frees the runtime resources. encode() afterwards fails with CLOSED. */
  close(): Promise<void>;
}
