/**
 * Offset-based text segmentation for the chunker: paragraphs, sentences, words, graphemes.
 *
 * Every function works on ranges [start, end) of UTF-16 code units of the original string and
 * returns ranges into that same string, trimmed of surrounding whitespace, so that a chunk's text is
 * always an exact slice of its source. Nothing here counts tokens.
 *
 * Everything here is linear in the length of the range. Paragraphs, sentences and words also come
 * as lazy generators (paragraphStream, sentenceStream, wordStream), so that the chunker can hold a
 * bounded part of a long document at a time.
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

/** Paragraphs of text[start, end), lazily: ranges separated by blank lines, trimmed, none empty. */
export function* paragraphStream(text: string, start = 0, end = text.length): Generator<Span, void, undefined> {
  const source = start === 0 && end === text.length ? text : text.slice(start, end);
  const breaks = new RegExp(PARAGRAPH_BREAK.source, 'g'); // its own lastIndex: streams of several documents interleave
  let from = 0;
  for (let m = breaks.exec(source); m !== null; m = breaks.exec(source)) {
    const span = trimSpan(text, start + from, start + m.index);
    if (span !== undefined) yield span;
    from = m.index + m[0].length;
  }
  const last = trimSpan(text, start + from, end);
  if (last !== undefined) yield last;
}

const sentenceSegmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });
const wordSegmenter = new Intl.Segmenter(undefined, { granularity: 'word' });
const graphemeSegmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Window lengths (UTF-16 code units) in which long ranges are segmented. V8 before 12.4 (Node 20's is
 * 11.3) makes iterating the segments of one string quadratic in its length (chromium issue 326176949):
 * one 300 kB paragraph took 16 s to split into sentences, 200 kB of letters 5 minutes into graphemes.
 * The sizes are the measured optimum per kind (smaller windows pay a per-call cost, larger ones the
 * quadratic one).
 */
export const SEGMENT_WINDOWS = { sentence: 4096, word: 1024, grapheme: 1024 } as const;

/**
 * The boundaries of segmenter's segments strictly inside (start, end), ascending, as segmenting
 * text.slice(start, end) whole would find them, computed window by window. The rules of sentence
 * and grapheme breaks (UAX #29) decide a boundary from its own segment and the start of the next,
 * starting afresh at every boundary; so a boundary is kept only when the segment after it ends
 * inside the window (all but the last boundary of a window, whose next segment may be cut by the
 * window's end), and the next window starts at the last boundary kept. A window with fewer than
 * two boundaries is doubled. Dictionary word breaks (CJK runs) are the exception: a run longer than
 * a window may break differently than it would whole (still at valid word boundaries).
 */
export function* segmentBoundaries(segmenter: Intl.Segmenter, text: string, start: number, end: number, window: number): Generator<number, void, undefined> {
  let from = start;
  let size = window;
  for (;;) {
    const to = end - from <= size ? end : from + size;
    const found: number[] = [];
    for (const seg of segmenter.segment(text.slice(from, to))) {
      if (seg.index > 0) found.push(from + seg.index);
    }
    if (to === end) {
      yield* found;
      return;
    }
    if (found.length < 2) {
      size *= 2;
      continue;
    }
    for (let i = 0; i < found.length - 1; i++) yield found[i];
    from = found[found.length - 2];
    size = window;
  }
}

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

/** Sentences of text[start, end), lazily (Intl.Segmenter, with abbreviation merging), trimmed, none empty. */
export function* sentenceStream(text: string, start: number, end: number): Generator<Span, void, undefined> {
  let pending: Span | undefined;
  let segStart = start;
  const bounds = segmentBoundaries(sentenceSegmenter, text, start, end, SEGMENT_WINDOWS.sentence);
  for (let step = bounds.next(); segStart < end; step = bounds.next()) {
    const segEnd = step.done ? end : step.value;
    const span = trimSpan(text, segStart, segEnd);
    segStart = segEnd;
    if (span === undefined) continue;
    const merged = pending === undefined ? span : { start: pending.start, end: span.end };
    // Never merge across a line break: ICU breaks there on purpose (lists, headings).
    if (endsWithAbbreviation(text.slice(span.start, span.end)) && !/[\n\r]/.test(text.slice(span.end, segEnd))) {
      pending = merged;
    } else {
      yield merged;
      pending = undefined;
    }
  }
  if (pending !== undefined) yield pending;
}

/** Whitespace-separated words of text[start, end), none empty. */
export function words(text: string, start: number, end: number): Span[] {
  return [...wordStream(text, start, end)];
}

/** words(), lazily. */
export function* wordStream(text: string, start: number, end: number): Generator<Span, void, undefined> {
  const source = text.slice(start, end);
  const runs = new RegExp(NON_SPACE_RUN.source, 'g'); // its own lastIndex: streams interleave
  for (let m = runs.exec(source); m !== null; m = runs.exec(source)) {
    yield { start: start + m.index, end: start + m.index + m[0].length };
  }
}

/** Grapheme cluster boundaries strictly inside (start, end), ascending. Never inside a surrogate pair. */
export function graphemeBoundaries(text: string, start: number, end: number): number[] {
  return [...segmentBoundaries(graphemeSegmenter, text, start, end, SEGMENT_WINDOWS.grapheme)];
}

/** Word-segment boundaries (Intl.Segmenter 'word': dictionary words for CJK, punctuation for URLs) strictly inside (start, end). */
export function wordBoundaries(text: string, start: number, end: number): number[] {
  return [...segmentBoundaries(wordSegmenter, text, start, end, SEGMENT_WINDOWS.word)];
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
