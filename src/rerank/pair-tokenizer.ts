import type { Tokenizer } from '@huggingface/tokenizers';
import { BiencoderError } from '../errors.ts';
import { indexOfSequence } from '../encoders/onnx/tokenizer.ts';
import { loadHfTokenizer } from '../encoders/onnx/hf-tokenizer.ts';

/**
 * How a (query, document) pair longer than the limit is cut:
 * - 'only-second' (default): the document is cut and the special tokens still frame the pair
 *   (BERT: [CLS] query [SEP] document' [SEP]), as Hugging Face tokenizers' truncation='only_second' does.
 *   A query longer than half the room is itself cut to what is left beside the document (at least half
 *   the room), so a long query never leaves the document out (Hugging Face would raise an error there);
 * - 'transformers.js': the whole sequence is cut at the limit, dropping the closing special token, as
 *   transformers.js 4.x does with `truncation: true`. Use it to reproduce scores computed with transformers.js.
 */
export type PairTruncation = 'only-second' | 'transformers.js';

export const PAIR_TRUNCATIONS: readonly PairTruncation[] = ['only-second', 'transformers.js'];

/** The token ids of one pair, with their segment (token type) ids. */
export interface TokenizedPair {
  readonly ids: Int32Array;
  readonly typeIds: Uint8Array;
  /** True when the pair had more tokens than fit and something was cut. */
  readonly truncated: boolean;
}

/** Where the tokenizer's post-processor puts special tokens around a pair, and the segment id of each part. */
interface PairLayout {
  readonly prefix: readonly number[];
  readonly prefixTypes: readonly number[];
  readonly middle: readonly number[];
  readonly middleTypes: readonly number[];
  readonly suffix: readonly number[];
  readonly suffixTypes: readonly number[];
  readonly firstType: number;
  readonly secondType: number;
}

/**
 * A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) encoding (query, document) pairs the way
 * its post-processor's pair template says (BERT: [CLS] A [SEP] B [SEP] with token types 0 for A's part and
 * 1 for B's), with the truncation chosen above.
 */
export class PairTokenizer {
  readonly padId: number;
  readonly #tokenizer: Tokenizer;
  readonly #layout: PairLayout;

  private constructor(tokenizer: Tokenizer, padId: number, layout: PairLayout) {
    this.#tokenizer = tokenizer;
    this.padId = padId;
    this.#layout = layout;
  }

  static async fromDirectory(dir: string): Promise<PairTokenizer> {
    const { tokenizer, padId } = await loadHfTokenizer(dir);
    return new PairTokenizer(tokenizer, padId, probeLayout(tokenizer, dir));
  }

  /** Number of special tokens a pair carries. */
  get specialTokens(): number {
    const l = this.#layout;
    return l.prefix.length + l.middle.length + l.suffix.length;
  }

  /** Content token ids of a text, without special tokens. */
  contentIds(text: string): number[] {
    return this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Encodes a pair from the content ids of its two texts (tokenize a shared query once, then pair it with each document). */
  encodePair(first: readonly number[], second: readonly number[], maxLength: number, mode: PairTruncation = 'only-second'): TokenizedPair {
    const l = this.#layout;
    const room = maxLength - this.specialTokens;
    if (room < 2) throw new BiencoderError('INVALID_ARGUMENT', `maxLength ${maxLength} leaves no room for a pair (${this.specialTokens} special tokens)`);
    const full = first.length + second.length;
    const truncated = full > room;
    let keepFirst = first.length;
    let keepSecond = second.length;
    if (truncated && mode === 'only-second') {
      keepFirst = Math.min(first.length, Math.max(Math.floor(room / 2), room - second.length));
      keepSecond = Math.min(second.length, room - keepFirst);
    }
    const total = this.specialTokens + keepFirst + keepSecond;
    const ids = new Int32Array(total);
    const types = new Uint8Array(total);
    let at = 0;
    const put = (tokens: readonly number[], count: number, type: number | readonly number[]): void => {
      for (let i = 0; i < count; i++, at++) {
        ids[at] = tokens[i];
        types[at] = typeof type === 'number' ? type : type[i];
      }
    };
    put(l.prefix, l.prefix.length, l.prefixTypes);
    put(first, keepFirst, l.firstType);
    put(l.middle, l.middle.length, l.middleTypes);
    put(second, keepSecond, l.secondType);
    put(l.suffix, l.suffix.length, l.suffixTypes);
    if (truncated && mode === 'transformers.js') {
      return { ids: ids.slice(0, maxLength), typeIds: types.slice(0, maxLength), truncated };
    }
    return { ids, typeIds: types, truncated };
  }
}

/** Finds the pair template by encoding two probe texts with and without special tokens. */
function probeLayout(tokenizer: Tokenizer, dir: string): PairLayout {
  const [a, b] = ['hello', 'world'];
  const bareA = tokenizer.encode(a, { add_special_tokens: false }).ids;
  const bareB = tokenizer.encode(b, { add_special_tokens: false }).ids;
  let encoded;
  try {
    encoded = tokenizer.encode(a, { text_pair: b, return_token_type_ids: true });
  } catch (error) {
    throw new BiencoderError('MODEL_INVALID', `the tokenizer of ${dir} cannot encode a pair of texts: ${(error as Error).message}`, { cause: error });
  }
  const ids = encoded.ids;
  const types = encoded.token_type_ids ?? new Array<number>(ids.length).fill(0);
  const atA = indexOfSequence(ids, bareA, 0);
  const atB = atA < 0 ? -1 : indexOfSequence(ids, bareB, atA + bareA.length);
  if (atA < 0 || atB < 0 || bareA.length === 0 || bareB.length === 0) {
    throw new BiencoderError('MODEL_INVALID', `the tokenizer of ${dir} does not keep the two texts of a pair contiguous and in order`);
  }
  const endA = atA + bareA.length;
  const endB = atB + bareB.length;
  return {
    prefix: ids.slice(0, atA),
    prefixTypes: types.slice(0, atA),
    middle: ids.slice(endA, atB),
    middleTypes: types.slice(endA, atB),
    suffix: ids.slice(endB),
    suffixTypes: types.slice(endB),
    firstType: types[atA],
    secondType: types[atB],
  };
}
