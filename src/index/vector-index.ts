import type { Matrix } from '../matrix.ts';

/**
 * The distance space of an index, apart from the search algorithm (as hnswlib separates them).
 * Scores are similarities, higher is better: cosine similarity, dot product, and the negated
 * euclidean distance for 'l2' (the same convention as similarity()).
 */
export type IndexMetric = 'cosine' | 'dot' | 'l2';

/** Vector keys are unsigned 64-bit integers, as in usearch. */
export type Key = bigint;
export type Keys = BigUint64Array | readonly bigint[];

export interface IndexSearchOptions {
  /** Only keys for which this returns true can be results; the search still returns k whenever k such keys exist. */
  readonly filter?: (key: bigint) => boolean;
  /** HNSW: the size of the dynamic candidate list at query time (efSearch). Ignored by exact indexes. */
  readonly ef?: number;
  /**
   * Quantized HNSW (i8): only the first `exactScores` results are rescored against the f32 vectors;
   * later ones keep the graph's int8 similarity (approximate, on the same scale). For long candidate
   * lists whose tail only needs a score, not an exact one (hybrid fusion's dense candidates). Default:
   * every result exact. Ignored by other indexes.
   */
  readonly exactScores?: number;
}

/** The top-k of one query, best first. count <= k (fewer when fewer vectors match). */
export interface IndexMatches {
  readonly keys: BigUint64Array;
  readonly scores: Float32Array;
  readonly count: number;
}

/** A searchable set of vectors with 64-bit keys. Batch-first: vectors and queries are matrices. */
export interface VectorIndex {
  readonly kind: string;
  readonly dims: number;
  readonly metric: IndexMetric;
  /** Number of vectors held. */
  readonly size: number;
  /** Adds vectors; a key that is already present is replaced. */
  add(keys: Keys, vectors: Matrix): void;
  /** Removes keys; returns how many were present. */
  remove(keys: Keys): number;
  has(key: Key): boolean;
  /** One result list per query row. k = 0 gives empty lists; k > size gives every vector. */
  search(queries: Matrix, k: number, options?: IndexSearchOptions): IndexMatches[];
  /** Writes the index to a file (atomically: a temporary file renamed into place). */
  save(path: string): Promise<void>;
  /** Memory held by the index (optional: indexes that can estimate it). */
  memoryUsage?(): IndexMemoryUsage;
  /** Releases files and native memory early (optional; garbage collection does it otherwise). */
  close?(): void;
}

/** What an index holds in memory, in bytes. */
export interface IndexMemoryUsage {
  /** Everything the index holds (allocated capacity included). */
  readonly bytes: number;
  /** bytes / size (the estimate for one vector when the index is empty). */
  readonly bytesPerVector: number;
  /** Bytes of one vector's searched representation (f32: 4*dims, f16: 2*dims, i8: dims, b1: dims/8). */
  readonly vectorBytes: number;
  /** Bytes kept on disk rather than in memory (a memory-mapped index's file, a view's f32 vectors). */
  readonly mappedBytes?: number;
}
