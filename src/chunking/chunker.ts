/**
 * Splits documents into chunks for a RAG index: windows measured in the encoder's own tokens,
 * cut at paragraph or sentence boundaries where possible, with optional overlap.
 *
 * Guarantees, for every chunk of a document `text`:
 * - `chunk.text === text.slice(chunk.start, chunk.end)` (offsets are UTF-16 code unit indexes, as JS
 *   string indexes; a chunk never starts or ends inside a surrogate pair or, where avoidable, a grapheme);
 * - `chunk.text` has no leading or trailing whitespace;
 * - `chunk.tokens === counter.countTokens([prompt + chunk.text])[0] <= maxTokens`: the count is the
 *   real one, taken on the final text, never an estimate;
 * - every non-whitespace character of the document is in at least one chunk, chunks come in
 *   document order and both their starts and their ends strictly increase.
 * A document that fits is one chunk (its trimmed text). An empty or whitespace-only document gives
 * zero chunks (not an error: a batch of documents is chunked without special-casing blank ones).
 *
 * Algorithm (counting tokens is the cost, so every text is counted about twice, never O(n^2); and
 * everything else is linear in the document's length too):
 * 1. Segment: paragraphs (separated by blank lines), sentences (Intl.Segmenter 'sentence', with a
 *    few English abbreviations merged back). Every sentence is counted once, with the prompt
 *    prepended. A document whose sentences add up to at most twice the limit is counted whole, and
 *    is one chunk when it fits. A long document is read a section (~16k characters of sentences) at
 *    a time, as the windows of step 3 reach it, and the units behind the previous chunk are dropped:
 *    what is held besides the text stays bounded, and chunkStream() hands out chunks as they are made.
 * 2. Units: sentences, except that a sentence over the unit limit (maxTokens - overlapTokens, so that
 *    any unit fits after an overlap) becomes its whitespace words, whose costs are estimated by sharing
 *    the sentence's count (a rough per-word guess: symbols, digits, long words cost more). A word
 *    that may not fit alone is counted; one that does not (a URL, a CJK run, a long identifier) is
 *    split by characters: the longest prefix that fits, found by galloping + binary search on the real
 *    count over grapheme boundaries (code points for a monster grapheme), pulled back to an
 *    Intl.Segmenter word boundary (a CJK dictionary word, URL punctuation) in its second half.
 * 3. Pack: a unit's cost is its count less the fixed cost (special tokens + prompt). A window greedily
 *    takes units while the estimated sum fits, then prefers to end at the strongest boundary
 *    (paragraph > sentence > word > character) that keeps it at least half full. The window's text is
 *    then counted for real (the count of a concatenation is not the sum of its parts; a window of
 *    one counted unit reuses that count); if it is over the limit, trailing units worth the excess are
 *    dropped and it is counted again (rare).
 * 4. Overlap: the next window starts with the trailing whole units of the previous chunk that fit in
 *    overlapTokens (whole sentences when they fit); when they make less than half of it, it is topped
 *    up with trailing words of the sentence before, then characters of a long word. If the overlap
 *    leaves little room for new text (less than half of maxTokens - overlapTokens) because the next
 *    sentence does not fit after it, the overlap is halved, or else that sentence is taken word by word,
 *    so that no chunk is mostly a repeat of the previous one. Each window adds at least one new unit;
 *    if even one does not fit after the overlap, the overlap is halved, then dropped.
 *
 * Every count goes through a driver that runs all documents as coroutines and merges their requests
 * into one countTokens call per round, so chunkDocuments() makes few, large calls. The sections only
 * group the requests differently: a document gives the same chunks whole or streamed.
 */
import type { Prompts } from '../encoders/encoder.ts';
import { BiencoderError } from '../errors.ts';
import { codePointBoundaries, graphemeBoundaries, isBlank, paragraphStream, sentenceStream, trimSpan, wordBoundaries, wordStream, words, type Span } from './segment.ts';

/** The part of an Encoder the chunker needs (any Encoder is one). */
export interface TokenCounter {
  /** Longest input in tokens, prompt and special tokens included. */
  readonly maxTokens: number;
  /** Tokens of each text, special tokens included, no prompt added. */
  countTokens(texts: readonly string[]): number[];
  /** The document prompt (`prompts.document`) is the default `prompt` option. */
  readonly prompts?: Prompts;
}

export interface ChunkOptions {
  /** Max tokens per chunk in the encoder's tokens, special tokens and prompt included (default: counter.maxTokens; at most counter.maxTokens). */
  readonly maxTokens?: number;
  /** Tokens of overlap between consecutive chunks (default 0; must be < maxTokens / 2). */
  readonly overlapTokens?: number;
  /** Prompt the document side adds; its tokens count against the limit (default: counter.prompts.document ?? ''). */
  readonly prompt?: string;
}

export interface Chunk {
  /** The id of the document the chunk comes from. */
  readonly parentId: string;
  /** Position of the chunk in its document, from 0. */
  readonly index: number;
  /** Always `source.slice(start, end)`. */
  readonly text: string;
  /** UTF-16 code unit offsets into the document's text. */
  readonly start: number;
  readonly end: number;
  /** countTokens([prompt + text]), prompt and special tokens included; <= maxTokens. */
  readonly tokens: number;
}

/** A document to chunk. */
export interface ChunkSource {
  readonly id: string;
  readonly text: string;
}

/** The id of a chunk: `${parentId}#${index}`. */
export function chunkId(parentId: string, index: number): string {
  if (typeof parentId !== 'string' || parentId.length === 0) {
    throw new BiencoderError('INVALID_ARGUMENT', 'parentId must be a non-empty string');
  }
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new BiencoderError('INVALID_ARGUMENT', `a chunk index must be a non-negative integer, got ${String(index)}`);
  }
  return `${parentId}#${index}`;
}

/** The parent id and index of a chunk id (split at the last '#'); undefined when it is not one. */
export function parseChunkId(id: string): { parentId: string; index: number } | undefined {
  if (typeof id !== 'string') return undefined;
  const at = id.lastIndexOf('#');
  if (at <= 0) return undefined;
  const digits = id.slice(at + 1);
  if (!/^(?:0|[1-9]\d*)$/.test(digits)) return undefined;
  const index = Number(digits);
  if (!Number.isSafeInteger(index)) return undefined;
  return { parentId: id.slice(0, at), index };
}

/** Chunks one document. See chunkDocuments(). */
export function chunkText(parentId: string, text: string, counter: TokenCounter, options: ChunkOptions = {}): Chunk[] {
  return chunkDocuments([{ id: parentId, text }], counter, options);
}

/**
 * Chunks documents, in order; the chunks of each document follow one another. Token counts of all
 * documents are batched into shared countTokens calls. Documents must have distinct non-empty ids.
 * Throws INVALID_ARGUMENT for a bad document, counter or option.
 */
export function chunkDocuments(docs: readonly ChunkSource[], counter: TokenCounter, options: ChunkOptions = {}): Chunk[] {
  const base = resolveOptions(counter, options);
  checkDocuments(docs);
  if (docs.every((d) => isBlank(d.text))) return [];
  return chunkAll(docs, counter, calibrate(counter, base));
}

/** A token counter and chunk options, checked (and the counter calibrated) once for many documents. */
export interface Chunker {
  /** chunkDocuments() with these counter and options. */
  chunkDocuments(docs: readonly ChunkSource[]): Chunk[];
  /**
   * The chunks of one document, lazily and in order, the same as chunkDocuments() gives: a long
   * document is segmented, counted and chunked a section at a time as chunks are pulled, so that
   * memory does not grow with its length (beyond its text) and the first chunks come early.
   */
  chunkStream(doc: ChunkSource): Generator<Chunk, void, undefined>;
}

/** A Chunker; throws INVALID_ARGUMENT for a bad counter or option (as chunkDocuments does). */
export function createChunker(counter: TokenCounter, options: ChunkOptions = {}): Chunker {
  const settings = calibrate(counter, resolveOptions(counter, options));
  return {
    chunkDocuments(docs) {
      checkDocuments(docs);
      return chunkAll(docs, counter, settings);
    },
    chunkStream(doc) {
      checkDocuments([doc]);
      return streamChunks(doc, counter, settings);
    },
  };
}

function chunkAll(docs: readonly ChunkSource[], counter: TokenCounter, settings: Settings): Chunk[] {
  const out = docs.map((): Chunk[] => []);
  drive(
    docs.map((d, i) => chunkDocument(d.id, d.text, settings, (c) => out[i].push(c))),
    counter,
  );
  return out.flat();
}

/** Runs one document's coroutine, answering its counts, and hands out its chunks as they are made. */
function* streamChunks(doc: ChunkSource, counter: TokenCounter, settings: Settings): Generator<Chunk, void, undefined> {
  const ready: Chunk[] = [];
  const task = chunkDocument(doc.id, doc.text, settings, (c) => ready.push(c));
  let step = task.next([]);
  for (;;) {
    if (ready.length > 0) yield* ready.splice(0);
    if (step.done === true) return;
    step = task.next(step.value.length === 0 ? [] : countChecked(counter, step.value));
  }
}

// ---------------------------------------------------------------------------------------------
// Options

interface BaseSettings {
  /** Max tokens of prompt + chunk text. */
  readonly limit: number;
  readonly overlap: number;
  readonly prompt: string;
}

interface Settings extends BaseSettings {
  /** Every unit satisfies count(prompt + unit) <= unitLimit = limit - overlap. */
  readonly unitLimit: number;
  /** Estimated tokens every text pays whatever its content: special tokens and prompt. */
  readonly fixed: number;
}

function resolveOptions(counter: TokenCounter, options: ChunkOptions): BaseSettings {
  if (counter === null || typeof counter !== 'object' || typeof counter.countTokens !== 'function') {
    throw new BiencoderError('INVALID_ARGUMENT', 'the token counter must be an object with a countTokens(texts) method (e.g. an Encoder)');
  }
  if (!Number.isSafeInteger(counter.maxTokens) || counter.maxTokens < 1) {
    throw new BiencoderError('INVALID_ARGUMENT', `the token counter's maxTokens must be a positive integer, got ${String(counter.maxTokens)}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new BiencoderError('INVALID_ARGUMENT', 'chunk options must be an object');
  }
  const limit = options.maxTokens ?? counter.maxTokens;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > counter.maxTokens) {
    throw new BiencoderError('INVALID_ARGUMENT', `maxTokens must be an integer from 1 to the encoder's ${counter.maxTokens}, got ${String(limit)}`, {
      details: { option: 'maxTokens' },
    });
  }
  const overlap = options.overlapTokens ?? 0;
  if (!Number.isSafeInteger(overlap) || overlap < 0 || 2 * overlap >= limit) {
    throw new BiencoderError('INVALID_ARGUMENT', `overlapTokens must be an integer >= 0 and < maxTokens / 2 (${limit / 2}), got ${String(overlap)}`, {
      details: { option: 'overlapTokens' },
    });
  }
  const prompt = options.prompt ?? counter.prompts?.document ?? '';
  if (typeof prompt !== 'string') {
    throw new BiencoderError('INVALID_ARGUMENT', `prompt must be a string, got ${typeof prompt}`, { details: { option: 'prompt' } });
  }
  return { limit, overlap, prompt };
}

function checkDocuments(docs: readonly ChunkSource[]): void {
  if (!Array.isArray(docs)) throw new BiencoderError('INVALID_ARGUMENT', 'documents must be an array of { id, text }');
  const seen = new Set<string>();
  docs.forEach((d: unknown, i) => {
    const doc = d as Partial<ChunkSource> | null;
    if (doc === null || typeof doc !== 'object') {
      throw new BiencoderError('INVALID_ARGUMENT', `document ${i} is not an object`, { details: { index: i } });
    }
    if (typeof doc.id !== 'string' || doc.id.length === 0) {
      throw new BiencoderError('INVALID_ARGUMENT', `document ${i} must have a non-empty string id`, { details: { index: i } });
    }
    if (typeof doc.text !== 'string') {
      throw new BiencoderError('INVALID_ARGUMENT', `document ${i} (${doc.id}) has no string text`, { details: { index: i, id: doc.id } });
    }
    if (seen.has(doc.id)) {
      throw new BiencoderError('INVALID_ARGUMENT', `document id ${doc.id} appears twice`, { details: { index: i, id: doc.id } });
    }
    seen.add(doc.id);
  });
}

/** Measures the fixed cost (special tokens, prompt) and checks that some text fits at all. */
function calibrate(counter: TokenCounter, base: BaseSettings): Settings {
  const probes = base.prompt === '' ? ['a', 'a a'] : ['a', 'a a', `${base.prompt}a`];
  const [one, two, withPrompt = one] = countChecked(counter, probes);
  const special = Math.min(one, Math.max(0, 2 * one - two));
  const fixed = special + Math.max(0, withPrompt - one);
  const unitLimit = base.limit - base.overlap;
  if (withPrompt > unitLimit) {
    throw new BiencoderError(
      'INVALID_ARGUMENT',
      `maxTokens ${base.limit}${base.overlap > 0 ? ` less overlapTokens ${base.overlap}` : ''} leaves no room for text: ` +
        `the prompt and special tokens with a single character already take ${withPrompt} tokens`,
      { details: { option: 'maxTokens' } },
    );
  }
  return { ...base, unitLimit, fixed };
}

// ---------------------------------------------------------------------------------------------
// Coroutines: every document is a generator that yields the texts it needs counted and receives
// their counts; the driver merges the requests of all documents into one countTokens call per round.

type Task<T> = Generator<string[], T, number[]>;

function drive<T>(tasks: Task<T>[], counter: TokenCounter): T[] {
  const results = new Array<T>(tasks.length);
  let active: { task: number; request: string[] }[] = [];
  tasks.forEach((task, i) => {
    const step = task.next([]);
    if (step.done) results[i] = step.value;
    else active.push({ task: i, request: step.value });
  });
  while (active.length > 0) {
    const flat = active.length === 1 ? active[0].request : active.flatMap((a) => a.request);
    const counts = flat.length === 0 ? [] : countChecked(counter, flat);
    const next: typeof active = [];
    let offset = 0;
    for (const a of active) {
      const step = tasks[a.task].next(counts.slice(offset, offset + a.request.length));
      offset += a.request.length;
      if (step.done) results[a.task] = step.value;
      else next.push({ task: a.task, request: step.value });
    }
    active = next;
  }
  return results;
}

function countChecked(counter: TokenCounter, texts: string[]): number[] {
  const counts: unknown = counter.countTokens(texts);
  if (!Array.isArray(counts) || counts.length !== texts.length) {
    throw new BiencoderError('INVALID_ARGUMENT', `countTokens returned ${Array.isArray(counts) ? counts.length : typeof counts} counts for ${texts.length} texts`);
  }
  for (const c of counts) {
    if (!Number.isSafeInteger(c) || (c as number) < 0) {
      throw new BiencoderError('INVALID_ARGUMENT', `countTokens returned ${String(c)}, not a token count`);
    }
  }
  return counts as number[];
}

/** Counts texts (no round trip for none). */
function* count(texts: string[]): Task<number[]> {
  if (texts.length === 0) return [];
  return yield texts;
}

// ---------------------------------------------------------------------------------------------
// One document

/** Strength of the boundary before a unit: where a chunk should preferably end. */
const PARAGRAPH = 3;
const SENTENCE = 2;
const WORD = 1;
const PIECE = 0;

/** Where a window starts (inside the previous chunk) and the estimated tokens it repeats. */
interface Overlap {
  readonly start: number;
  readonly cost: number;
}

interface Unit extends Span {
  /** Estimated content tokens: count(prompt + text) - fixed, at least 0. */
  readonly cost: number;
  /** Strength of the boundary before this unit (PARAGRAPH .. PIECE). */
  readonly level: number;
  /** A whole sentence (can be split into words for an overlap), a word, or a piece of a word. */
  readonly kind: 'sentence' | 'word' | 'piece';
  /** count(prompt + text) when it was counted (not for words, whose costs are estimates). */
  readonly exact?: number;
}

/**
 * One word of a sentence as a unit: the sentence's cost shared in proportion to the words' rough
 * token guesses (`total` is their sum); the first word keeps the sentence's boundary level.
 */
function wordUnit(span: Span, guess: number, sentence: Unit, total: number, first: boolean): Unit {
  return { start: span.start, end: span.end, cost: (guess * sentence.cost) / total, level: first ? sentence.level : WORD, kind: 'word' };
}

/** Characters of sentences (or of the words of a sentence over the unit limit) read, counted and turned into units at a time. */
const SECTION_CHARS = 16_384;
/** Units no window reads again are dropped from memory in blocks of at least this many. */
const DROP_UNITS = 1024;

/** The sentences of a document, in order, with the strength of the boundary before each. */
function* documentSentences(text: string, whole: Span): Generator<Span & { readonly level: number }, void, undefined> {
  for (const para of paragraphStream(text, whole.start, whole.end)) {
    let level = PARAGRAPH;
    for (const span of sentenceStream(text, para.start, para.end)) {
      yield { start: span.start, end: span.end, level };
      level = SENTENCE;
    }
  }
}

/** The words of a sentence over the unit limit, being turned into units a section at a time. */
interface LongSentence {
  readonly unit: Unit;
  readonly words: Generator<Span, void, undefined>;
  /** The sum of the words' rough guesses, over which the sentence's cost is shared. */
  readonly total: number;
  /** A one-word sentence: its word's count is the sentence's. */
  readonly single: boolean;
  /** Words turned into units so far. */
  done: number;
}

/**
 * Chunks one document, passing each chunk to emit as soon as it is final. The document is read
 * lazily: sentences are segmented and counted a section at a time, and units are made only as far
 * as the next window needs (ensure), so that what is held (besides the text) does not grow with
 * the document's length.
 */
function* chunkDocument(parentId: string, text: string, s: Settings, emit: (chunk: Chunk) => void): Task<void> {
  const whole = trimSpan(text, 0, text.length);
  if (whole === undefined) return;
  let emitted = 0;
  const chunk = (start: number, end: number, tokens: number): Chunk => ({ parentId, index: emitted++, text: text.slice(start, end), start, end, tokens });
  const slice = (span: Span): string => s.prompt + text.slice(span.start, span.end);
  const costOf = (count: number): number => Math.max(0, count - s.fixed);

  // 1. Sentences, with the level of the boundary before each, counted a section at a time.
  const sentenceSource = documentSentences(text, whole);
  let sentencesLeft = true;
  /** Counted sentences (as units) not yet turned into units, from sentenceHead on. */
  let sentenceQueue: Unit[] = [];
  let sentenceHead = 0;
  function* readSentences(): Task<void> {
    const read: (Span & { level: number })[] = [];
    let chars = 0;
    while (chars < SECTION_CHARS) {
      const next = sentenceSource.next();
      if (next.done === true) {
        sentencesLeft = false;
        break;
      }
      read.push(next.value);
      chars += next.value.end - next.value.start;
    }
    const counts = yield* count(read.map(slice));
    read.forEach((sent, i) => sentenceQueue.push({ start: sent.start, end: sent.end, cost: costOf(counts[i]), level: sent.level, kind: 'sentence', exact: counts[i] }));
  }

  // A document that fits is one chunk. Only count it whole when the estimate says it may fit
  // (which is known once sentences worth more than twice the limit are read, or all of them).
  let estimate = s.fixed;
  while (sentencesLeft && estimate <= 2 * s.limit) {
    const from = sentenceQueue.length;
    yield* readSentences();
    for (let i = from; i < sentenceQueue.length; i++) estimate += sentenceQueue[i].cost;
  }
  if (!sentencesLeft && estimate <= 2 * s.limit) {
    const first = sentenceQueue[0];
    const single = sentenceQueue.length === 1 && first.start === whole.start && first.end === whole.end;
    const [tokens] = single ? [first.exact as number] : yield* count([slice(whole)]);
    if (tokens <= s.limit) {
      emit(chunk(whole.start, whole.end, tokens));
      return;
    }
  }

  // 2. Units: sentences that fit the unit limit, else their words (costs estimated from the
  // sentence's count); a word that may not fit alone is counted (one batch per section), and split
  // into pieces by characters if it does not. Made a section at a time, as windows need them.
  const units: Unit[] = [];
  let longSentence: LongSentence | undefined;

  function startWords(unit: Unit): LongSentence {
    let total = 0;
    let n = 0;
    for (const w of wordStream(text, unit.start, unit.end)) {
      total += roughTokens(text.slice(w.start, w.end));
      n++;
    }
    return { unit, words: wordStream(text, unit.start, unit.end), total, single: n === 1, done: 0 };
  }

  /** Turns the next section of a long sentence's words into units. */
  function* wordUnits(long: LongSentence): Task<void> {
    const batch: Unit[] = [];
    let chars = 0;
    while (chars < SECTION_CHARS) {
      const next = long.words.next();
      if (next.done === true) {
        longSentence = undefined;
        break;
      }
      const w = next.value;
      batch.push(wordUnit(w, roughTokens(text.slice(w.start, w.end)), long.unit, long.total, long.done++ === 0));
      chars += w.end - w.start;
    }
    const doubtful = long.single ? [] : batch.filter((w) => w.cost + s.fixed > s.unitLimit);
    const doubtfulCounts = yield* count(doubtful.map(slice));
    const counted = new Map<Unit, number>(doubtful.map((w, j) => [w, doubtfulCounts[j]]));
    for (const word of batch) {
      const c = long.single ? long.unit.exact : counted.get(word);
      if (c === undefined) units.push(word);
      else if (c <= s.unitLimit) units.push({ ...word, cost: costOf(c), exact: c });
      else for (const piece of yield* splitWord(text, word, c, word.level, s)) units.push(piece); // (no spread: a huge word has many pieces)
    }
  }

  /** Appends at least one unit; false when the document has none left. */
  function* produce(): Task<boolean> {
    const before = units.length;
    while (units.length === before) {
      if (longSentence !== undefined) {
        yield* wordUnits(longSentence);
        continue;
      }
      if (sentenceHead === sentenceQueue.length) {
        sentenceQueue = [];
        sentenceHead = 0;
        if (sentencesLeft) yield* readSentences();
        if (sentenceQueue.length === 0) return false;
      }
      while (sentenceHead < sentenceQueue.length && longSentence === undefined) {
        const unit = sentenceQueue[sentenceHead++];
        if ((unit.exact as number) <= s.unitLimit) units.push(unit);
        else longSentence = startWords(unit);
      }
    }
    return true;
  }

  // 3. Pack windows; 4. overlap.
  const contentBudget = s.limit - s.fixed;
  /** New content below which a window after an overlap is mostly a repeat of the previous chunk. */
  const minNew = (contentBudget - s.overlap) / 2;
  let pos = 0;

  /**
   * Makes units from pos on worth more than a window, unless the document ends first: then no
   * window reaches the end of the units made so far unless it is the end of the document, and a
   * window decides exactly as it would with all the document's units made.
   */
  function* ensure(): Task<void> {
    let acc = 0;
    let i = pos;
    for (;;) {
      for (; i < units.length; i++) {
        acc += units[i].cost;
        if (acc > contentBudget) return;
      }
      if (!(yield* produce())) return;
    }
  }

  yield* ensure();
  /** Where the current window starts: after the previous chunk's start, inside it when overlapping. */
  let next: Overlap = { start: units[0].start, cost: 0 };
  /** Where the previous chunk started (overlaps start strictly after it). */
  let previousStart = -1;
  /** units[..dead) end at or before previousStart: no window or overlap reads them again. */
  let dead = 0;
  for (;;) {
    while (dead < pos && units[dead].end <= previousStart) dead++;
    if (dead >= DROP_UNITS) {
      units.splice(0, dead);
      pos -= dead;
      dead = 0;
    }
    /** Windows end at or before units[cap] (Infinity: wherever the budget says). */
    let cap = Infinity;
    let end: number;
    let overlap = next;
    /** A shorter overlap (half the tokens), computed when the full one crowds out new text. */
    let shorter: Overlap | undefined;
    for (;;) {
      yield* ensure();
      const limit = Math.min(cap, units.length);
      let pick = selectEnd(units, pos, overlap.cost, limit, contentBudget, minNew);
      if (overlap.cost > 0 && pick.fill - overlap.cost < minNew && pick.end < limit) {
        // Little new text fits after the overlap: shorten the overlap if that lets more in,
        shorter ??= yield* overlapFor(previousStart, Math.floor(s.overlap / 2));
        if (shorter.start > overlap.start) {
          const second = selectEnd(units, pos, shorter.cost, limit, contentBudget, minNew);
          if (second.end > pick.end) {
            overlap = shorter;
            pick = second;
          }
        }
        // else take the next sentence word by word.
        if (pick.fill - overlap.cost < minNew && pick.end < limit && units[pick.end].kind === 'sentence') {
          const ws = wordsOf(units[pick.end]);
          units.splice(pick.end, 1, ...ws);
          cap += ws.length - 1;
          continue;
        }
      }
      end = pick.end;
      const known = end === pos + 1 && overlap.start === units[pos].start ? units[pos].exact : undefined;
      const [tokens] = known !== undefined ? [known] : yield* count([s.prompt + text.slice(overlap.start, units[end - 1].end)]);
      if (tokens <= s.limit) {
        emit(chunk(overlap.start, units[end - 1].end, tokens));
        break;
      }
      if (end - pos > 1) {
        // The estimate was short: drop trailing units worth the excess and count again.
        let removed = 0;
        cap = end;
        while (cap > pos + 1 && removed < tokens - s.limit) removed += Math.max(1, units[--cap].cost);
      } else if (overlap.start < units[pos].start) {
        // One new unit and the overlap do not fit together: shorten the overlap, then drop it.
        shorter ??= yield* overlapFor(previousStart, Math.floor(s.overlap / 2));
        overlap = shorter.start > overlap.start ? shorter : { start: units[pos].start, cost: 0 };
        cap = Infinity;
      } else {
        // A word whose estimated cost was wrong does not fit alone: split it into pieces that do.
        const unit = units[pos];
        const pieces = yield* splitWord(text, unit, tokens, unit.level, s);
        if (pieces.length < 2) {
          throw new BiencoderError('INVALID_ARGUMENT', `the token counter is inconsistent: ${JSON.stringify(text.slice(unit.start, unit.end).slice(0, 80))} counted ${tokens} tokens, then fewer`);
        }
        units.splice(pos, 1, ...pieces);
        cap = Infinity;
      }
    }
    // ensure() made units past every window that is not the document's last.
    if (end === units.length) break;
    previousStart = overlap.start;
    pos = end;
    next = s.overlap > 0 ? yield* overlapFor(previousStart, s.overlap) : { start: units[pos].start, cost: 0 };
  }

  /**
   * Where the window after units[..pos) should start to repeat about `budget` tokens of the chunk
   * that started at windowStart: its trailing whole units (the chunk's own overlap included) that
   * fit; if they make less than half the budget, topped up with part of the unit before them.
   * Always after windowStart, so windows move forward.
   */
  function* overlapFor(windowStart: number, budget: number): Task<Overlap> {
    let start = units[pos].start;
    let acc = 0;
    let k = pos - 1;
    while (k >= 0 && units[k].start > windowStart && acc + units[k].cost <= budget) {
      acc += units[k].cost;
      start = units[k].start;
      k--;
    }
    if (acc < budget / 2 && k >= 0 && units[k].end > windowStart) {
      const top = yield* tailOfUnit(units[k], windowStart, budget - acc);
      if (top !== undefined) return { start: top.start, cost: acc + top.cost };
    }
    return { start, cost: acc };
  }

  /**
   * The words of a sentence unit, with costs estimated: the sentence's cost shared in proportion
   * to a rough per-word guess. Estimates only: windows are always counted for real.
   */
  function wordsOf(unit: Unit): Unit[] {
    const spans = words(text, unit.start, unit.end);
    const guesses = spans.map((span) => roughTokens(text.slice(span.start, span.end)));
    let total = 0;
    for (const g of guesses) total += g;
    return spans.map((span, j) => wordUnit(span, guesses[j], unit, total, j === 0));
  }

  /**
   * The longest proper suffix of a unit that starts after `after` and is worth at most budget
   * tokens: trailing whole words, then characters of a word.
   */
  function* tailOfUnit(unit: Unit, after: number, budget: number): Task<Overlap | undefined> {
    const span = { start: Math.max(unit.start, after), end: unit.end };
    if (unit.kind !== 'sentence') return yield* tailOfSpan(text, span, unit.cost, budget, s);
    const ws = wordsOf(unit);
    let acc = 0;
    let start: number | undefined;
    let j = ws.length - 1;
    while (j >= 0 && ws[j].start > span.start && acc + ws[j].cost <= budget) {
      acc += ws[j].cost;
      start = ws[j].start;
      j--;
    }
    if (acc < budget / 2 && j >= 0 && ws[j].end > span.start) {
      const word = { start: Math.max(ws[j].start, span.start), end: ws[j].end };
      const chars = yield* tailOfSpan(text, word, ws[j].cost, budget - acc, s);
      if (chars !== undefined) return { start: chars.start, cost: acc + chars.cost };
    }
    return start === undefined ? undefined : { start, cost: acc };
  }
}

/**
 * The end (exclusive unit index) of the window that starts with unit pos after an overlap, and the
 * estimated fill of the greedy window (before the pull-back to a stronger boundary). The pull-back
 * keeps the window at least half full, and after an overlap at least minNew of new content.
 */
function selectEnd(units: readonly Unit[], pos: number, overlapCost: number, cap: number, budget: number, minNew: number): { end: number; fill: number } {
  let acc = overlapCost + units[pos].cost;
  let end = pos + 1;
  while (end < cap && acc + units[end].cost <= budget) acc += units[end++].cost;
  if (end === units.length) return { end, fill: acc };
  const fill = acc;
  const floor = overlapCost > 0 ? Math.max(budget / 2, overlapCost + minNew) : budget / 2;
  // Prefer the strongest boundary that keeps the window at least half full; the latest among equals.
  let best = end;
  let bestLevel = units[end].level;
  for (let p = end - 1; p > pos && bestLevel < PARAGRAPH; p--) {
    acc -= units[p].cost;
    if (acc < floor) break;
    if (units[p].level > bestLevel) {
      best = p;
      bestLevel = units[p].level;
    }
  }
  return { end: best, fill };
}

/**
 * Splits a word longer than the unit limit into pieces that fit, by characters: the longest prefix
 * that fits over grapheme boundaries (code points when a single grapheme is too long), pulled back
 * to a word-segment boundary in the piece's second half when there is one.
 */
function* splitWord(text: string, word: Span, wordCount: number, level: number, s: Settings): Task<Unit[]> {
  const bounds = [...graphemeBoundaries(text, word.start, word.end), word.end];
  const wordBreaks = new Set(wordBoundaries(text, word.start, word.end));
  const charsPerToken = (word.end - word.start) / Math.max(1, wordCount - s.fixed);
  const room = Math.max(1, s.unitLimit - s.fixed);
  const out: Unit[] = [];
  let pos = word.start;
  let first = 0; // bounds[first] is the first boundary after pos
  while (pos < word.end) {
    while (bounds[first] <= pos) first++;
    const from = pos;
    const m = bounds.length - first;
    // Aim at the estimate: the usual search is then "fits, one more does not".
    const guess = lowerBound(bounds, first, from + charsPerToken * room) - first;
    const found = yield* longestFitting(m, (i) => s.prompt + text.slice(from, bounds[first + i]), s.unitLimit, guess);
    let end: number;
    let tokens: number;
    if (found.index < 0) {
      const cps = [...codePointBoundaries(text, from, bounds[first]), bounds[first]];
      const single = yield* longestFitting(cps.length, (i) => s.prompt + text.slice(from, cps[i]), s.unitLimit, 0);
      if (single.index < 0) {
        throw new BiencoderError('INVALID_ARGUMENT', `maxTokens ${s.limit} is too small: one character of ${JSON.stringify(text.slice(from, cps[0]))} takes more than ${s.unitLimit} tokens with the prompt`, {
          details: { option: 'maxTokens' },
        });
      }
      end = cps[single.index];
      tokens = single.count;
    } else {
      end = bounds[first + found.index];
      tokens = found.count;
      if (end < word.end) {
        const half = from + (end - from) / 2;
        for (let j = first + found.index - 1; j >= first && bounds[j] >= half; j--) {
          if (!wordBreaks.has(bounds[j])) continue;
          const [c] = yield* count([s.prompt + text.slice(from, bounds[j])]);
          if (c <= s.unitLimit) {
            end = bounds[j];
            tokens = c;
          }
          break;
        }
      }
    }
    out.push({ start: from, end, cost: Math.max(0, tokens - s.fixed), level: out.length === 0 ? level : PIECE, kind: 'piece', exact: tokens });
    pos = end;
  }
  return out;
}

const PIECES = /\p{L}+|\p{N}+|[^\p{L}\p{N}\s]/gu;

/**
 * A model-independent guess of a word's tokens, only used to share a sentence's real count among
 * its words: a punctuation mark or symbol is about one token, a run of digits one per three, a run
 * of letters one plus one per six letters past the first four (one per letter for CJK, which
 * WordPiece splits by character).
 */
function roughTokens(word: string): number {
  let n = 0;
  PIECES.lastIndex = 0;
  for (let m = PIECES.exec(word); m !== null; m = PIECES.exec(word)) {
    const piece = m[0];
    if (/^\p{L}/u.test(piece)) {
      n += /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(piece) ? piece.length : 1 + Math.max(0, piece.length - 4) / 6;
    } else if (/^\p{N}/u.test(piece)) {
      n += Math.ceil(piece.length / 3);
    } else {
      n += 1;
    }
  }
  return Math.max(1, n);
}

/** The longest proper suffix of span (starting on a grapheme boundary) whose content is worth at most budget tokens. */
function* tailOfSpan(text: string, span: Span, spanCost: number, budget: number, s: Settings): Task<Overlap | undefined> {
  if (budget <= 0) return undefined;
  const starts = graphemeBoundaries(text, span.start, span.end).reverse(); // shortest suffix first
  if (starts.length === 0) return undefined;
  const target = span.end - ((span.end - span.start) / Math.max(1, spanCost)) * budget;
  let guess = 0;
  while (guess + 1 < starts.length && starts[guess + 1] >= target) guess++;
  const found = yield* longestFitting(starts.length, (i) => s.prompt + text.slice(starts[i], span.end), s.fixed + budget, guess);
  return found.index < 0 ? undefined : { start: starts[found.index], cost: Math.max(0, found.count - s.fixed) };
}

/**
 * Among candidates 0..m-1, where a higher index means a longer text, the highest index whose text
 * counts <= limit, assuming counts grow with the index: gallops from the guess, then bisects.
 * Only an index that was counted and fits is returned (-1 when candidate 0 does not fit), so the
 * answer is valid even where counts are not monotone.
 */
function* longestFitting(m: number, textAt: (i: number) => string, limit: number, guess: number): Task<{ index: number; count: number }> {
  let lo = -1;
  let loCount = 0;
  let hi = m;
  function* probe(i: number): Task<void> {
    const [c] = yield* count([textAt(i)]);
    if (c <= limit) {
      if (i > lo) {
        lo = i;
        loCount = c;
      }
    } else if (i < hi) {
      hi = i;
    }
  }
  const g = Math.min(m - 1, Math.max(0, Math.floor(guess)));
  yield* probe(g);
  let step = 1;
  if (lo === g) {
    while (hi === m && lo < m - 1) {
      yield* probe(Math.min(m - 1, lo + step));
      step *= 2;
    }
  } else {
    while (lo < 0 && hi > 0) {
      yield* probe(Math.max(0, hi - step));
      step *= 2;
    }
  }
  while (hi - lo > 1) yield* probe((lo + hi) >> 1);
  return { index: lo, count: loCount };
}

/** The first index >= from with arr[index] >= value (arr ascending), or arr.length. */
function lowerBound(arr: readonly number[], from: number, value: number): number {
  let lo = from;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
