import { BiencoderError } from '../errors.ts';

// C0 control characters other than tab, newline and carriage return, plus DEL.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/**
 * The one rule for lone UTF-16 surrogates in a text (embedded, stored or queried, at every door):
 * each becomes U+FFFD, as every UTF-8 encoder writes it. The length is unchanged, so offsets into
 * the text (chunk positions) stay valid.
 */
export function wellFormedText(text: string): string {
  return text.toWellFormed();
}

/**
 * Checks and cleans the texts given to an encoder. The documented handling:
 * - not an array, or an element that is not a string: INVALID_ARGUMENT naming the position;
 * - a string that is empty or whitespace only: EMPTY_INPUT naming the position
 *   (an embedding of nothing is meaningless, and a silent zero vector would pollute an index);
 * - lone UTF-16 surrogates: replaced by U+FFFD (what every UTF-8 encoder does);
 * - NUL and other control characters (except \t \n \r): replaced by a space.
 * Returns the cleaned texts; the input array is not modified.
 */
export function prepareTexts(texts: unknown): string[] {
  if (!Array.isArray(texts)) {
    throw new BiencoderError('INVALID_ARGUMENT', `texts must be an array of strings, got ${describe(texts)}`);
  }
  const out = new Array<string>(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const t: unknown = texts[i];
    if (typeof t !== 'string') {
      throw new BiencoderError('INVALID_ARGUMENT', `text ${i} is not a string (got ${describe(t)})`, { details: { index: i } });
    }
    const clean = wellFormedText(t).replace(CONTROL, ' ');
    if (clean.trim().length === 0) {
      throw new BiencoderError('EMPTY_INPUT', `text ${i} is empty or whitespace only`, { details: { index: i } });
    }
    out[i] = clean;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
