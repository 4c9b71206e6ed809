/**
 * Splitting folded text into words.
 *
 * Scripts written with spaces take the fast path: a word is a run of letters, marks and digits (as
 * the FTS5 index and keyword queries have split text so far). Runs holding a script written without
 * spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) go to Intl.Segmenter, whose ICU
 * dictionaries find the words, in bounded windows (segmentBoundaries: Intl.Segmenter is quadratic
 * in the length of one string on Node 20). Han and Kana runs can also yield their overlapping
 * character bigrams (Lucene's CJKBigramFilter), which match where a query is segmented differently
 * than the document it should find.
 */
import { SEGMENT_WINDOWS, segmentBoundaries } from '../chunking/segment.ts';

export const WORD_RUN = /[\p{L}\p{M}\p{N}]+/gu;
/** A character of a script written without spaces between words. */
export const NO_SPACE_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
/** Runs of Han and Kana (with the prolonged sound mark ー, of script Common), for bigrams. */
const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u30fc]+/gu;

export type CjkTerms = 'words' | 'bigrams' | 'words+bigrams';

export interface WordSink {
  /** A word from a script written with spaces, or a dictionary word of a script written without. */
  word(word: string, spaced: boolean): void;
  /** A Han/Kana character bigram (or a lone character between non-CJK characters). */
  bigram(gram: string): void;
}

export class WordSplitter {
  private readonly segmenter: Intl.Segmenter;

  constructor(locale: string, private readonly cjk: CjkTerms) {
    this.segmenter = new Intl.Segmenter(locale, { granularity: 'word' });
  }

  /** Feeds the words of text (already folded) to sink, in text order. */
  split(text: string, sink: WordSink): void {
    const runs = new RegExp(WORD_RUN.source, 'gu');
    if (!NO_SPACE_SCRIPT.test(text)) {
      for (let m = runs.exec(text); m !== null; m = runs.exec(text)) sink.word(m[0], true);
      return;
    }
    for (let m = runs.exec(text); m !== null; m = runs.exec(text)) {
      const run = m[0];
      if (NO_SPACE_SCRIPT.test(run)) this.splitUnspaced(run, sink);
      else sink.word(run, true);
    }
  }

  private splitUnspaced(run: string, sink: WordSink): void {
    if (this.cjk !== 'bigrams') {
      let from = 0;
      // The run holds letters, marks and digits only, so every segment of it is a word.
      for (const to of segmentBoundaries(this.segmenter, run, 0, run.length, SEGMENT_WINDOWS.word)) {
        this.emitSegment(run.slice(from, to), sink);
        from = to;
      }
      this.emitSegment(run.slice(from), sink);
    } else {
      // Bigrams replace the dictionary words of Han and Kana, not those of other scripts.
      let from = 0;
      const cjk = new RegExp(CJK_RUN.source, 'gu');
      for (let m = cjk.exec(run); m !== null; m = cjk.exec(run)) {
        if (m.index > from) this.splitUnspacedWords(run.slice(from, m.index), sink);
        emitBigrams(m[0], sink);
        from = m.index + m[0].length;
      }
      if (from < run.length) this.splitUnspacedWords(run.slice(from), sink);
    }
    if (this.cjk === 'words+bigrams') {
      const cjk = new RegExp(CJK_RUN.source, 'gu');
      for (let m = cjk.exec(run); m !== null; m = cjk.exec(run)) if (m[0].length > 1) emitBigrams(m[0], sink);
    }
  }

  private splitUnspacedWords(run: string, sink: WordSink): void {
    let from = 0;
    for (const to of segmentBoundaries(this.segmenter, run, 0, run.length, SEGMENT_WINDOWS.word)) {
      this.emitSegment(run.slice(from, to), sink);
      from = to;
    }
    this.emitSegment(run.slice(from), sink);
  }

  private emitSegment(segment: string, sink: WordSink): void {
    if (segment !== '') sink.word(segment, !NO_SPACE_SCRIPT.test(segment));
  }
}

/** Overlapping bigrams of a Han/Kana run (by code point); a one-character run is its own term. */
function emitBigrams(run: string, sink: WordSink): void {
  const chars = Array.from(run);
  if (chars.length === 1) {
    sink.bigram(chars[0]);
    return;
  }
  for (let i = 0; i + 1 < chars.length; i++) sink.bigram(chars[i] + chars[i + 1]);
}
