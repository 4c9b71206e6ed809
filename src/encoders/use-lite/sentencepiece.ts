import { BiencoderError } from '../../errors.ts';

/**
 * The SentencePiece vocabulary of Universal Sentence Encoder lite, as shipped in `vocab.json`:
 * `[piece, score]` pairs, the position being the piece id. A few scores in the shipped file are
 * `null` (the `:` pieces); they count as 0, exactly as `null + number` does in the reference.
 */
export type SentencePieceVocabulary = ReadonlyArray<readonly [string, number | null]>;

/** Id the reference emits for a character no piece covers (consecutive ones are merged into one). */
export const UNKNOWN_ID = 0;

/** The word-boundary mark: spaces become this, and it is prepended to every non-empty input. */
const SEPARATOR = '\u2581';

/** Ids 0..5 are control pieces (unknown, <s>, </s>, extra ids) that never match text. */
const RESERVED_IDS = 6;

interface TrieNode {
  /** Next nodes keyed by code point; undefined for a leaf. */
  children: Map<number, TrieNode> | undefined;
  /** Piece id when a piece ends here, else -1. */
  id: number;
  score: number;
}

function newNode(): TrieNode {
  return { children: undefined, id: -1, score: 0 };
}

/**
 * A SentencePiece unigram tokenizer producing exactly the ids of the Universal Sentence Encoder
 * tokenizer of TensorFlow.js (tfjs-models `universal-sentence-encoder/tokenizer`, as ported in
 * `@energetic-ai/embeddings`), quirks included:
 * - input is NFKC-normalized, every U+0020 space becomes '▁' and one '▁' is prepended
 *   (other whitespace such as tabs and newlines is left as is);
 * - the lattice works on code points; a position where no piece starts gets a one-character
 *   unknown piece (id 0, score 0);
 * - Viterbi keeps, per end position, the candidate with the highest summed score, later
 *   candidates winning ties (`>=`), and a running best of exactly 0 counts as "unset";
 * - when a piece appears twice in the vocabulary the later id wins;
 * - the backtrack steps back by the piece's string length, and consecutive unknown ids are merged.
 *
 * Unlike the reference it avoids the O(n^2) `symbols.slice(i)` per position and per-call
 * object graphs: the trie is keyed by code point and the lattice lives in reused typed arrays.
 */
export class SentencePieceTokenizer {
  readonly vocabularySize: number;
  private readonly root: TrieNode = newNode();
  /** String length of each piece, used by the backtrack exactly like the reference. */
  private readonly pieceLength: Int32Array;
  // Scratch buffers, grown on demand and reused by every call.
  private codePoints = new Int32Array(256);
  private best = new Float64Array(257);
  private words = new Int32Array(257);
  private reversed = new Int32Array(257);

  constructor(vocabulary: SentencePieceVocabulary) {
    if (!Array.isArray(vocabulary) || vocabulary.length <= RESERVED_IDS) {
      throw new BiencoderError('MODEL_INVALID', 'the SentencePiece vocabulary must be an array of [piece, score] pairs');
    }
    this.vocabularySize = vocabulary.length;
    this.pieceLength = new Int32Array(vocabulary.length);
    for (let id = 0; id < vocabulary.length; id++) {
      const entry: unknown = vocabulary[id];
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || (entry[1] !== null && typeof entry[1] !== 'number')) {
        throw new BiencoderError('MODEL_INVALID', `vocabulary entry ${id} is not a [piece, score] pair`, { details: { id } });
      }
      const piece = entry[0];
      this.pieceLength[id] = piece.length;
      if (id >= RESERVED_IDS) this.insert(piece, entry[1] ?? 0, id);
    }
    // The backtrack steps over an unknown character by the length of piece 0 ("\uFFFD" here);
    // guard against a zero step, which would never terminate.
    if (this.pieceLength[UNKNOWN_ID] < 1) this.pieceLength[UNKNOWN_ID] = 1;
  }

  private insert(piece: string, score: number, id: number): void {
    let node = this.root;
    let any = false;
    for (const ch of piece) {
      const cp = ch.codePointAt(0) as number;
      node.children ??= new Map();
      let next = node.children.get(cp);
      if (next === undefined) {
        next = newNode();
        node.children.set(cp, next);
      }
      node = next;
      any = true;
    }
    if (any) {
      // A duplicate piece overwrites the earlier one, as in the reference.
      node.id = id;
      node.score = score;
    }
  }

  /** The ids of a text. An empty text (after NFKC) gives no ids. */
  encode(text: string): Int32Array {
    const n = this.toCodePoints(text);
    if (n === 0) return new Int32Array(0);
    const cps = this.codePoints;
    if (this.best.length < n + 1) {
      const size = Math.max(n + 1, this.best.length * 2);
      this.best = new Float64Array(size);
      this.words = new Int32Array(size);
      this.reversed = new Int32Array(size);
    }
    const best = this.best;
    const words = this.words;
    best.fill(0, 0, n + 1);
    words.fill(0, 0, n + 1);
    const root = this.root.children as Map<number, TrieNode>;

    // Forward Viterbi. For a given end position, candidates arrive in ascending start order,
    // the same order in which the reference visits them, so ties resolve identically.
    for (let i = 0; i < n; i++) {
      const base = best[i];
      let matched = false;
      let node = root.get(cps[i]);
      let j = i;
      while (node !== undefined) {
        if (node.id >= 0) {
          matched = true;
          const end = j + 1;
          const score = node.score + base;
          if (best[end] === 0 || score >= best[end]) {
            best[end] = score;
            words[end] = node.id;
          }
        }
        j++;
        node = j < n ? node.children?.get(cps[j]) : undefined;
      }
      if (!matched) {
        const end = i + 1;
        const score = 0 + base;
        if (best[end] === 0 || score >= best[end]) {
          best[end] = score;
          words[end] = UNKNOWN_ID;
        }
      }
    }

    // Backtrack from the end, merging runs of unknown ids.
    const out = this.reversed;
    let count = 0;
    let previousUnknown = false;
    let iter = n;
    while (iter > 0) {
      const id = words[iter];
      const unknown = id === UNKNOWN_ID;
      if (!(previousUnknown && unknown)) out[count++] = id;
      previousUnknown = unknown;
      iter -= this.pieceLength[id];
    }
    const ids = new Int32Array(count);
    for (let k = 0; k < count; k++) ids[k] = out[count - 1 - k];
    return ids;
  }

  /** Number of pieces of a text (the length of encode()). */
  count(text: string): number {
    return this.encode(text).length;
  }

  /** Fills this.codePoints with the normalized text's code points; returns their number. */
  private toCodePoints(text: string): number {
    const normalized = text.normalize('NFKC');
    if (normalized.length === 0) return 0;
    const prepared = SEPARATOR + normalized.replaceAll(' ', SEPARATOR);
    if (this.codePoints.length < prepared.length) {
      this.codePoints = new Int32Array(Math.max(prepared.length, this.codePoints.length * 2));
    }
    const cps = this.codePoints;
    let n = 0;
    for (let k = 0; k < prepared.length; k++) {
      const cp = prepared.codePointAt(k) as number;
      cps[n++] = cp;
      if (cp > 0xffff) k++;
    }
    return n;
  }
}
