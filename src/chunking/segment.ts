/**
 * Offset-based text segmentation for the chunker: paragraphs, sentences, words, graphemes.
 *
 * Every function works on ranges [start, end) of UTF-16 code units of the original string and
 * returns ranges into that same string, trimmed of surrounding whitespace, so that a chunk's text is
 * always an exact slice of its source. Nothing here counts tokens.
 */

/** A range [start, end) of UTF-16 code units in a source string. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * "Whitespace" for chunking: what String.prototype.trim() removes, plus the C0 control characters
 * (other than \t \n \r, already whitespace) and DEL, which the encoders replace by spaces before
 * tokenizing. A span trimmed of these is never blank to an encoder.
 */
// eslint-disable-next-line no-control-regex
const SPACE = /[\s\u0000-\u0008\u000E-\u001F\u007F]/;
// eslint-disable-next-line no-control-regex
const NON_SPACE_RUN = /[^\s\u0000-\u0008\u000E-\u001F\u007F]+/g;
/** A line break followed by one or more blank (whitespace-only) lines. */
const PARAGRAPH_BREAK = /\n(?:[^\S\n]*\n)+/g;

export function isSpace(char: string): boolean {
  return SPACE.test(char);
}

/** Whether a string holds only chunking whitespace (or nothing). */
export function isBlank(text: string): boolean {
  NON_SPACE_RUN.lastIndex = 0;
  return !NON_SPACE_RUN.test(text);
}

/** [start, end) without leading and trailing whitespace; undefined when nothing is left. */
export function trimSpan(text: string, start: number, end: number): Span | undefined {
  while (start < end && SPACE.test(text[start])) start++;
  while (end > start && SPACE.test(text[end - 1])) end--;
  return start < end ? { start, end } : undefined;
}

/** Paragraphs of text[start, end): ranges separated by blank lines, trimmed, none empty. */
export function paragraphs(text: string, start = 0, end = text.length): Span[] {
  const out: Span[] = [];
  const source = start === 0 && end === text.length ? text : text.slice(start, end);
  let from = 0;
  PARAGRAPH_BREAK.lastIndex = 0;
  for (let m = PARAGRAPH_BREAK.exec(source); m !== null; m = PARAGRAPH_BREAK.exec(source)) {
    const span = trimSpan(text, start + from, start + m.index);
    if (span !== undefined) out.push(span);
    from = m.index + m[0].length;
  }
  const last = trimSpan(text, start + from, end);
  if (last !== undefined) out.push(last);
  return out;
}

const sentenceSegmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });
const wordSegmenter = new Intl.Segmenter(undefined, { granularity: 'word' });
const graphemeSegmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Words after which ICU's sentence rules break wrongly ("Dr. Smith", "et al. Smith", "Fig. 2"):
 * Intl.Segmenter has no abbreviation suppressions, so a segment ending in one of these is merged
 * with the next. Matched case-insensitively on the word before the final period.
 */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'al', 'fig', 'figs', 'eq', 'eqs', 'ref', 'refs',
  'vol', 'pp', 'approx', 'cf', 'e.g', 'i.e', 'ca', 'resp', 'sect', 'ch', 'tab',
  'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
]);
const LAST_WORD_BEFORE_PERIOD = /(?:^|[\s(["'])([\p{L}.]+)\.$/u;

function endsWithAbbreviation(sentence: string): boolean {
  const m = LAST_WORD_BEFORE_PERIOD.exec(sentence);
  if (m === null) return false;
  return ABBREVIATIONS.has(m[1].toLowerCase());
}

/** Sentences of text[start, end) (Intl.Segmenter, with abbreviation merging), trimmed, none empty. */
export function sentences(text: string, start: number, end: number): Span[] {
  const out: Span[] = [];
  let pending: Span | undefined;
  for (const seg of sentenceSegmenter.segment(text.slice(start, end))) {
    const span = trimSpan(text, start + seg.index, start + seg.index + seg.segment.length);
    if (span === undefined) continue;
    const merged = pending === undefined ? span : { start: pending.start, end: span.end };
    // Never merge across a line break: ICU breaks there on purpose (lists, headings).
    if (endsWithAbbreviation(text.slice(span.start, span.end)) && !/[\n\r]/.test(text.slice(span.end, start + seg.index + seg.segment.length))) {
      pending = merged;
    } else {
      out.push(merged);
      pending = undefined;
    }
  }
  if (pending !== undefined) out.push(pending);
  return out;
}

/** Whitespace-separated words of text[start, end), none empty. */
export function words(text: string, start: number, end: number): Span[] {
  const out: Span[] = [];
  const source = text.slice(start, end);
  NON_SPACE_RUN.lastIndex = 0;
  for (let m = NON_SPACE_RUN.exec(source); m !== null; m = NON_SPACE_RUN.exec(source)) {
    out.push({ start: start + m.index, end: start + m.index + m[0].length });
  }
  return out;
}

/** Grapheme cluster boundaries strictly inside (start, end), ascending. Never inside a surrogate pair. */
export function graphemeBoundaries(text: string, start: number, end: number): number[] {
  const out: number[] = [];
  for (const seg of graphemeSegmenter.segment(text.slice(start, end))) {
    if (seg.index > 0) out.push(start + seg.index);
  }
  return out;
}

/** Word-segment boundaries (Intl.Segmenter 'word': dictionary words for CJK, punctuation for URLs) strictly inside (start, end). */
export function wordBoundaries(text: string, start: number, end: number): number[] {
  const out: number[] = [];
  for (const seg of wordSegmenter.segment(text.slice(start, end))) {
    if (seg.index > 0) out.push(start + seg.index);
  }
  return out;
}

/** Code point boundaries strictly inside (start, end), ascending: never between the halves of a surrogate pair. */
export function codePointBoundaries(text: string, start: number, end: number): number[] {
  const out: number[] = [];
  for (let i = start; i < end; ) {
    const cp = text.codePointAt(i) as number;
    i = Math.min(end, i + (cp > 0xffff ? 2 : 1));
    if (i < end) out.push(i);
  }
  return out;
}
