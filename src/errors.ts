/**
 * Every failure biencoder reports on purpose is a BiencoderError with a stable `code`.
 * Codes are part of the public API: match on `code`, never on `message`.
 */
export type ErrorCode =
  /** An argument has the wrong type or shape (e.g. a non-string text, a bad option). */
  | 'INVALID_ARGUMENT'
  /** A text to embed is empty or whitespace only. */
  | 'EMPTY_INPUT'
  /** Two vectors or matrices disagree on their number of dimensions. */
  | 'DIMENSION_MISMATCH'
  /** A model could not be found locally, in the cache, or on the hub. */
  | 'MODEL_NOT_FOUND'
  /** A model directory exists but its files are missing, malformed or unsupported. */
  | 'MODEL_INVALID'
  /** Downloading a model file failed (network, HTTP status, size mismatch). */
  | 'DOWNLOAD_FAILED'
  /** The operation was cancelled through an AbortSignal. */
  | 'ABORTED'
  /** The encoder was used after close(). */
  | 'CLOSED'
  /** The inference runtime failed while running a model. */
  | 'INFERENCE_FAILED'
  /** A vector holds NaN or an infinity (the message names the row). */
  | 'INVALID_VECTOR'
  /** An index file is truncated, corrupted, or does not match what was expected of it. */
  | 'INDEX_CORRUPT'
  /** A collection (or another named thing) does not exist. */
  | 'NOT_FOUND'
  /** A collection already exists where one was to be created. */
  | 'ALREADY_EXISTS'
  /** Another process (or another handle in this one) holds a collection's writer lock. */
  | 'COLLECTION_LOCKED'
  /** A collection's files are damaged or inconsistent (manifest, database, vectors). */
  | 'COLLECTION_CORRUPT'
  /** A collection was written by a newer, unknown format version. */
  | 'UNSUPPORTED_FORMAT'
  /** A collection was opened with another encoder (model, revision, dims, prompt) than the one that embedded it. */
  | 'ENCODER_MISMATCH'
  /** An operation needs an encoder (embedding texts) but the collection was opened without one. */
  | 'ENCODER_REQUIRED'
  /** A write was attempted on something opened read-only (a collection opened readOnly, an index view). */
  | 'READ_ONLY'
  /**
   * The file system refuses an operation (the message names the path): e.g. a write to a collection
   * directory owned by another user or on a read-only mount. Reading such a collection works.
   */
  | 'PERMISSION'
  /** The operation or option is not supported by this store or configuration (e.g. int8 vectors on pgvector). */
  | 'UNSUPPORTED'
  /** A database server (PostgreSQL) could not be reached or failed a statement (the message carries its error). */
  | 'STORE_FAILED'
  /** An input file or record to index is unreadable or malformed (the message names file:line). */
  | 'INVALID_INPUT';

export class BiencoderError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BiencoderError';
    this.code = code;
    this.details = options.details;
  }
}

export function isBiencoderError(error: unknown, code?: ErrorCode): error is BiencoderError {
  return error instanceof BiencoderError && (code === undefined || error.code === code);
}

/** Throws ABORTED if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new BiencoderError('ABORTED', 'the operation was aborted', { cause: signal.reason });
  }
}
