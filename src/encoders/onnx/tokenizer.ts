import type { Tokenizer } from '@huggingface/tokenizers';
import { BiencoderError } from '../../errors.ts';
import { loadHfTokenizer } from './hf-tokenizer.ts';

/** Token ids of one text, after truncation and with the model's special tokens. */
export interface TokenizedText {
  readonly ids: Int32Array;
  /** True when the text had more tokens than fit and was cut. */
  readonly truncated: boolean;
  /** Number of leading tokens that belong to the prompt (special prefix included). */
  readonly promptTokens: number;
}

/**
 * How a text longer than the limit is cut:
 * - 'sentence-transformers' (default): the content is cut and the special tokens still frame it
 *   (BERT: [CLS] t1 .. t(n-2) [SEP]), as Hugging Face tokenizers and sentence-transformers do;
 * - 'transformers.js': the whole sequence is cut at the limit, dropping the closing special token,
 *   as transformers.js 4.x does. Use it to produce vectors identical to an index built with transformers.js.
 */
export type TruncationMode = 'sentence-transformers' | 'transformers.js';

/**
 * A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) with the truncation that
 * sentence-transformers applies: the content is cut so that the special tokens (e.g. BERT's
 * [CLS] ... [SEP]) still frame it within maxLength.
 */
export class TextTokenizer {
  readonly padId: number;
  /** Special token ids the post-processor puts before and after a single sequence. */
  readonly prefix: readonly number[];
  readonly suffix: readonly number[];
  readonly #tokenizer: Tokenizer;
  /** Content token counts of the prompts seen, so a prompt is tokenized once, not once per text. */
  readonly #promptLengths = new Map<string, number>();

  private constructor(tokenizer: Tokenizer, padId: number, prefix: number[], suffix: number[]) {
    this.#tokenizer = tokenizer;
    this.padId = padId;
    this.prefix = prefix;
    this.suffix = suffix;
  }

  static async fromDirectory(dir: string): Promise<TextTokenizer> {
    const { tokenizer, padId } = await loadHfTokenizer(dir);
    // Find where the post-processor puts special tokens by encoding a probe with and without them.
    const probe = 'a';
    const withSpecial = tokenizer.encode(probe).ids;
    const bare = tokenizer.encode(probe, { add_special_tokens: false }).ids;
    const at = indexOfSequence(withSpecial, bare);
    if (at < 0) throw new BiencoderError('MODEL_INVALID', `the tokenizer of ${dir} does not keep a text's tokens contiguous`);
    return new TextTokenizer(tokenizer, padId, withSpecial.slice(0, at), withSpecial.slice(at + bare.length));
  }

  #promptLength(prompt: string): number {
    let n = this.#promptLengths.get(prompt);
    if (n === undefined) {
      n = this.contentIds(prompt).length;
      this.#promptLengths.set(prompt, n);
    }
    return n;
  }

  /** Content token ids, without special tokens. */
  contentIds(text: string): number[] {
    return this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Total length with special tokens, before truncation. */
  countTokens(text: string): number {
    return this.contentIds(text).length + this.prefix.length + this.suffix.length;
  }

  /**
   * Tokenizes prompt + text, truncating the content to fit maxLength.
   * promptIds are the content ids of the prompt alone (or empty).
   */
  encode(text: string, maxLength: number, prompt = '', mode: TruncationMode = 'sentence-transformers'): TokenizedText {
    const content = this.contentIds(prompt + text);
    const room = maxLength - this.prefix.length - this.suffix.length;
    if (room <= 0) throw new BiencoderError('INVALID_ARGUMENT', `maxLength ${maxLength} leaves no room for any token`);
    const truncated = content.length > room;
    const kept = truncated ? room : content.length;
    let ids = new Int32Array(this.prefix.length + content.length + this.suffix.length);
    ids.set(this.prefix, 0);
    ids.set(content.slice(0, mode === 'transformers.js' ? content.length : kept), this.prefix.length);
    if (mode === 'transformers.js') {
      ids.set(this.suffix, this.prefix.length + content.length);
      ids = ids.slice(0, maxLength);
    } else {
      ids.set(this.suffix, this.prefix.length + kept);
      ids = ids.subarray(0, this.prefix.length + kept + this.suffix.length);
    }
    const promptTokens = prompt === '' ? 0 : Math.min(this.prefix.length + this.#promptLength(prompt), ids.length);
    return { ids, truncated, promptTokens };
  }
}

/** First position at or after `from` where `needle` occurs in `haystack`, or -1. */
export function indexOfSequence(haystack: readonly number[], needle: readonly number[], from = 0): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
