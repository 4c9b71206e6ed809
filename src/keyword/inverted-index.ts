/**
 * The keyword engine's postings: an in-memory inverted index over analyzed texts, updated in place
 * by upserts and deletes, searched top-k with pruning (max-score.ts), saved and loaded as one file
 * (postings-file.ts). It is derived state: a collection's database is the store of record, and the
 * index is caught up from it on open like the vector index.
 *
 * Written here because no maintained JavaScript library does the three things together: exact
 * BM25 as FTS5 computes it, top-k pruning (MiniSearch, Orama, Lunr and wink-bm25 score every
 * matching document), and incremental deletes with exact document frequencies.
 *
 * Layout (Lucene's segments, reduced to two):
 *   base   all postings of term t at [offsets[t], offsets[t+1]) of two flat arrays: document
 *          ordinals (ascending) and term frequencies; per block of BLOCK postings the largest tf
 *          and the shortest document, which bound the block's scores (block-max);
 *   tail   postings added since the base was built, per term, also ascending. Ordinals only grow,
 *          so a term's tail postings all follow its base postings: a term's list is base then tail.
 * Documents have ordinals in the order they were added; an update deletes the old ordinal and adds
 * a new one. Deleted ordinals stay in the lists (skipped by search) until a merge folds the tail
 * into a new base, drops them and renumbers the rest; merges happen when the tail or the deleted
 * share grows past a fraction of the base, so their cost is amortized over the writes.
 *
 * Document frequencies stay exact under deletes without a forward index (which would double the
 * memory): deleted ordinals are logged, and a term's count is corrected the first time a search
 * uses it, by looking each ordinal logged since up in the term's (sorted) list.
 */
import { BiencoderError } from '../errors.ts';
import { DEFAULT_BM25, type Bm25Parameters } from './bm25.ts';

/** Postings per block of the block-max bounds (Lucene and tantivy use 128). */
export const BLOCK = 128;
/** Beyond every ordinal: a finished cursor's document. */
export const NO_MORE = 0x1_0000_0000;
/** Term frequencies are stored in 16 bits; a term repeated more often in one document counts this many times. */
export const MAX_TF = 0xffff;
/** Keys below this are mapped to ordinals by an array, larger ones by a Map. */
const DENSE_KEYS = 1 << 26;

/** What the engine needs of an analyzer: index-side terms, and an identity to record beside the postings. */
export interface TermAnalyzer {
  readonly spec: { readonly language: string; readonly name: string; readonly version: number };
  terms(text: string): string[];
}

export interface KeywordDocument {
  readonly key: number;
  readonly text: string;
}

/** A run of one term's postings: ordinals docs[start..end) ascending, their tfs, and a bound per block. */
export interface PostingSegment {
  readonly docs: Uint32Array;
  readonly tfs: Uint16Array;
  readonly start: number;
  readonly end: number;
  /** Block-max bounds of this run: blocks [firstBlock, endBlock) of these arrays (the largest tf, the shortest document). */
  readonly blockMaxTf: Uint16Array;
  readonly blockMinLength: Uint32Array;
  readonly firstBlock: number;
  readonly endBlock: number;
}

/** The state a base is made of (built by a merge, or loaded from a file). */
export interface BaseSegment {
  readonly terms: readonly string[];
  /** Float64Array of terms.length + 1 posting offsets. */
  readonly offsets: Float64Array;
  readonly docs: Uint32Array;
  readonly tfs: Uint16Array;
  readonly ordKey: Float64Array;
  readonly ordLength: Uint32Array;
}

/**
 * A term's tail: ordinals and tfs interleaved in a plain array (hundreds of thousands of small typed
 * arrays would cost more memory and garbage collection), copied into typed arrays when searched.
 */
interface TailList {
  readonly postings: number[];
  maxTf: number;
  minLength: number;
  /** The typed copy of `postings`, while no posting has been added since. */
  typed: PostingSegment | undefined;
}

function grown<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array | Int32Array>(array: T, need: number, fill?: number): T {
  if (need <= array.length) return array;
  const Ctor = array.constructor as new (n: number) => T;
  const next = new Ctor(Math.max(need, Math.ceil(array.length * 1.5), 16));
  next.set(array);
  if (fill !== undefined) next.fill(fill, array.length);
  return next;
}

export class InvertedIndex {
  readonly analyzer: TermAnalyzer;
  readonly params: Bm25Parameters;

  // dictionary and per-term counts
  #termIds = new Map<string, number>();
  #terms: string[] = [];
  #df = new Int32Array(0);
  #dfSynced = new Int32Array(0);
  // base segment
  #baseTerms = 0;
  #offsets: Float64Array = new Float64Array(1);
  #docs: Uint32Array = new Uint32Array(0);
  #tfs: Uint16Array = new Uint16Array(0);
  #blockStart = new Uint32Array(1);
  #blockMaxTf = new Uint16Array(0);
  #blockMinLength = new Uint32Array(0);
  // tail
  #tail = new Map<number, TailList>();
  #tailPostings = 0;
  // documents by ordinal
  #ords = 0;
  #ordKey: Float64Array = new Float64Array(0);
  #ordLength: Uint32Array = new Uint32Array(0);
  #live = new Uint8Array(0);
  #keyOrd = new Int32Array(0);
  #keyOrdLarge = new Map<number, number>();
  #deadLog: number[] = [];
  /** Per term id, a count while one document is added (all zero between documents). */
  #scratch = new Int32Array(0);
  #docTerms: number[] = [];
  #liveDocs = 0;
  #liveLength = 0;
  /** One score per ordinal for term-at-a-time search, all zero between searches. */
  #accumulator = new Float64Array(0);

  constructor(analyzer: TermAnalyzer, params: Bm25Parameters = DEFAULT_BM25) {
    this.analyzer = analyzer;
    this.params = params;
  }

  /** An index whose base is `base` (all documents live). */
  static fromBase(analyzer: TermAnalyzer, base: BaseSegment, params: Bm25Parameters = DEFAULT_BM25): InvertedIndex {
    const index = new InvertedIndex(analyzer, params);
    index.#installBase(base);
    return index;
  }

  /** Live documents. */
  get size(): number {
    return this.#liveDocs;
  }

  /** Terms in live documents, summed (the numerator of the average document length). */
  get totalLength(): number {
    return this.#liveLength;
  }

  get termCount(): number {
    return this.#terms.length;
  }

  has(key: number): boolean {
    return this.#ordOf(key) >= 0;
  }

  /** Adds documents, replacing any with the same key. */
  add(docs: Iterable<KeywordDocument>): void {
    for (const doc of docs) {
      const old = this.#ordOf(doc.key);
      if (old >= 0) this.#kill(old, doc.key);
      const terms = this.analyzer.terms(doc.text);
      // term ids of the document, each once, and their counts (a scratch array by term id: no Map per document)
      const ids = this.#docTerms;
      let distinct = 0;
      for (const term of terms) {
        const id = this.#intern(term);
        if (this.#scratch[id]++ === 0) ids[distinct++] = id;
      }
      const ord = this.#newOrd(doc.key, terms.length);
      for (let i = 0; i < distinct; i++) {
        const id = ids[i];
        const tf = this.#scratch[id];
        this.#scratch[id] = 0;
        this.#appendTail(id, ord, tf > MAX_TF ? MAX_TF : tf, terms.length);
      }
    }
    this.#maybeMerge();
  }

  /** Removes documents by key (unknown keys are ignored). Returns how many were removed. */
  remove(keys: Iterable<number>): number {
    let removed = 0;
    for (const key of keys) {
      const ord = this.#ordOf(key);
      if (ord < 0) continue;
      this.#kill(ord, key);
      removed++;
    }
    if (removed > 0) this.#maybeMerge();
    return removed;
  }

  /** Folds the tail into the base and drops deleted documents (before a save; otherwise automatic). */
  compact(): void {
    if (this.#tailPostings > 0 || this.#deadLog.length > 0 || this.#ords !== this.#liveDocs) this.#merge();
  }

  /** The base as saved: call compact() first so that it holds everything. */
  base(): BaseSegment {
    if (this.#tailPostings > 0 || this.#ords !== this.#liveDocs) throw new Error('InvertedIndex.base() before compact()');
    return {
      terms: this.#terms.slice(0, this.#baseTerms),
      offsets: this.#offsets.subarray(0, this.#baseTerms + 1),
      docs: this.#docs,
      tfs: this.#tfs,
      ordKey: this.#ordKey.subarray(0, this.#ords),
      ordLength: this.#ordLength.subarray(0, this.#ords),
    };
  }

  // ------------------------------------------------------------ for search (max-score.ts)

  termId(term: string): number {
    return this.#termIds.get(term) ?? -1;
  }

  /** Live documents holding the term (exact: corrected for deletions since the last merge). */
  documentFrequency(termId: number): number {
    let df = this.#df[termId];
    const log = this.#deadLog;
    for (let j = this.#dfSynced[termId]; j < log.length; j++) if (this.#contains(termId, log[j])) df--;
    this.#df[termId] = df;
    this.#dfSynced[termId] = log.length;
    return df;
  }

  /** The term's postings: its base run, then its tail run (either may be absent). */
  segments(termId: number): PostingSegment[] {
    const out: PostingSegment[] = [];
    if (termId < this.#baseTerms) {
      const start = this.#offsets[termId];
      const end = this.#offsets[termId + 1];
      if (end > start) {
        out.push({ docs: this.#docs, tfs: this.#tfs, start, end, blockMaxTf: this.#blockMaxTf, blockMinLength: this.#blockMinLength, firstBlock: this.#blockStart[termId], endBlock: this.#blockStart[termId + 1] });
      }
    }
    const tail = this.#tail.get(termId);
    if (tail !== undefined) out.push((tail.typed ??= typedTail(tail)));
    return out;
  }

  /** Per ordinal: the key, the document length, whether it is live. Valid until the next write. */
  get ordKey(): Float64Array {
    return this.#ordKey;
  }

  get ordLength(): Uint32Array {
    return this.#ordLength;
  }

  get live(): Uint8Array {
    return this.#live;
  }

  /**
   * A scratch score per ordinal, all zero: a search adds into it and sets back to zero every entry it
   * touched before it returns (searches are synchronous, so one array serves them all).
   */
  accumulator(): Float64Array {
    if (this.#accumulator.length < this.#ords) this.#accumulator = new Float64Array(Math.max(this.#ords, Math.ceil(this.#accumulator.length * 1.5)));
    return this.#accumulator;
  }

  // ------------------------------------------------------------ internals

  #ordOf(key: number): number {
    if (key < DENSE_KEYS) return key < this.#keyOrd.length ? this.#keyOrd[key] : -1;
    return this.#keyOrdLarge.get(key) ?? -1;
  }

  #setOrd(key: number, ord: number): void {
    if (!Number.isSafeInteger(key) || key < 0) throw new BiencoderError('INVALID_ARGUMENT', `keyword index keys must be non-negative integers, got ${key}`);
    if (key < DENSE_KEYS) {
      this.#keyOrd = grown(this.#keyOrd, key + 1, -1);
      this.#keyOrd[key] = ord;
    } else if (ord < 0) {
      this.#keyOrdLarge.delete(key);
    } else {
      this.#keyOrdLarge.set(key, ord);
    }
  }

  #newOrd(key: number, length: number): number {
    const ord = this.#ords++;
    if (ord >= NO_MORE - 1) throw new BiencoderError('INVALID_ARGUMENT', 'the keyword index holds 2^32 document versions; compact it');
    this.#ordKey = grown(this.#ordKey, ord + 1);
    this.#ordLength = grown(this.#ordLength, ord + 1);
    this.#live = grown(this.#live, ord + 1);
    this.#ordKey[ord] = key;
    this.#ordLength[ord] = length;
    this.#live[ord] = 1;
    this.#setOrd(key, ord);
    this.#liveDocs++;
    this.#liveLength += length;
    return ord;
  }

  #kill(ord: number, key: number): void {
    this.#live[ord] = 0;
    this.#liveDocs--;
    this.#liveLength -= this.#ordLength[ord];
    this.#deadLog.push(ord);
    this.#setOrd(key, -1);
  }

  #intern(term: string): number {
    let id = this.#termIds.get(term);
    if (id === undefined) {
      id = this.#terms.length;
      this.#terms.push(term);
      this.#termIds.set(term, id);
      this.#df = grown(this.#df, id + 1);
      this.#dfSynced = grown(this.#dfSynced, id + 1);
      this.#dfSynced[id] = this.#deadLog.length; // no deleted document holds a term first seen now
      this.#scratch = grown(this.#scratch, id + 1);
    }
    return id;
  }

  #appendTail(termId: number, ord: number, tf: number, length: number): void {
    let list = this.#tail.get(termId);
    if (list === undefined) {
      list = { postings: [], maxTf: 0, minLength: 0xffffffff, typed: undefined };
      this.#tail.set(termId, list);
    }
    list.postings.push(ord, tf);
    list.typed = undefined;
    if (tf > list.maxTf) list.maxTf = tf;
    if (length < list.minLength) list.minLength = length;
    this.#df[termId]++;
    this.#tailPostings++;
  }

  #contains(termId: number, ord: number): boolean {
    if (termId < this.#baseTerms && search(this.#docs, this.#offsets[termId], this.#offsets[termId + 1], ord)) return true;
    const tail = this.#tail.get(termId);
    return tail !== undefined && searchPairs(tail.postings, ord);
  }

  #maybeMerge(): void {
    const base = this.#docs.length;
    const dead = this.#ords - this.#liveDocs;
    if (this.#tailPostings > Math.max(1 << 18, base / 4) || (dead > 1024 && dead > this.#ords / 4)) this.#merge();
  }

  /** A new base from base + tail without deleted documents, ordinals renumbered in order. */
  #merge(): void {
    const ords = this.#ords;
    const renumber = new Int32Array(ords);
    const ordKey = new Float64Array(this.#liveDocs);
    const ordLength = new Uint32Array(this.#liveDocs);
    let next = 0;
    for (let o = 0; o < ords; o++) {
      if (this.#live[o] === 0) {
        renumber[o] = -1;
        continue;
      }
      renumber[o] = next;
      ordKey[next] = this.#ordKey[o];
      ordLength[next] = this.#ordLength[o];
      next++;
    }
    const termCount = this.#terms.length;
    const live = this.#live;
    const counts = new Float64Array(termCount + 1);
    for (let t = 0; t < this.#baseTerms; t++) {
      let c = 0;
      for (let i = this.#offsets[t], end = this.#offsets[t + 1]; i < end; i++) c += live[this.#docs[i]];
      counts[t + 1] = c;
    }
    for (const [t, list] of this.#tail) {
      let c = 0;
      const p = list.postings;
      for (let i = 0; i < p.length; i += 2) c += live[p[i]];
      counts[t + 1] += c;
    }
    // Terms left without a live document are dropped (ids renumbered), so the dictionary does not grow
    // with every word ever indexed under churn.
    const newId = new Int32Array(termCount);
    const terms: string[] = [];
    const offsets = new Float64Array(termCount + 1);
    for (let t = 0; t < termCount; t++) {
      if (counts[t + 1] === 0) {
        newId[t] = -1;
        continue;
      }
      newId[t] = terms.length;
      offsets[terms.length + 1] = offsets[terms.length] + counts[t + 1];
      terms.push(this.#terms[t]);
    }
    const total = offsets[terms.length];
    const docs = new Uint32Array(total);
    const tfs = new Uint16Array(total);
    for (let t = 0; t < termCount; t++) {
      if (newId[t] < 0) continue;
      let w = offsets[newId[t]];
      if (t < this.#baseTerms) {
        for (let i = this.#offsets[t], end = this.#offsets[t + 1]; i < end; i++) {
          const r = renumber[this.#docs[i]];
          if (r < 0) continue;
          docs[w] = r;
          tfs[w++] = this.#tfs[i];
        }
      }
      const list = this.#tail.get(t);
      if (list !== undefined) {
        const p = list.postings;
        for (let i = 0; i < p.length; i += 2) {
          const r = renumber[p[i]];
          if (r < 0) continue;
          docs[w] = r;
          tfs[w++] = p[i + 1];
        }
      }
    }
    this.#tail.clear();
    this.#tailPostings = 0;
    this.#deadLog = [];
    this.#keyOrd.fill(-1);
    this.#keyOrdLarge.clear();
    this.#ords = 0;
    this.#installBase({ terms, offsets: offsets.subarray(0, terms.length + 1), docs, tfs, ordKey, ordLength });
  }

  /** Makes `base` the whole index (no tail, no deletions): documents, counts and block bounds. */
  #installBase(base: BaseSegment): void {
    const termCount = base.terms.length;
    if (base.offsets.length !== termCount + 1 || base.docs.length !== base.tfs.length || base.ordKey.length !== base.ordLength.length) {
      throw new BiencoderError('INDEX_CORRUPT', 'the keyword index sections disagree in length');
    }
    if (base.terms !== this.#terms) {
      this.#terms = [...base.terms];
      this.#termIds = new Map();
      for (let t = 0; t < termCount; t++) this.#termIds.set(this.#terms[t], t);
    }
    const docCount = base.ordKey.length;
    this.#ordKey = base.ordKey;
    this.#ordLength = base.ordLength;
    this.#live = new Uint8Array(docCount).fill(1);
    this.#ords = docCount;
    this.#liveDocs = docCount;
    let totalLength = 0;
    for (let o = 0; o < docCount; o++) {
      totalLength += base.ordLength[o];
      this.#setOrd(base.ordKey[o], o);
    }
    this.#liveLength = totalLength;
    this.#baseTerms = termCount;
    this.#offsets = base.offsets;
    this.#docs = base.docs;
    this.#tfs = base.tfs;
    this.#df = new Int32Array(termCount);
    this.#dfSynced = new Int32Array(termCount);
    this.#scratch = new Int32Array(termCount);
    const blockStart = new Uint32Array(termCount + 1);
    for (let t = 0; t < termCount; t++) {
      const n = base.offsets[t + 1] - base.offsets[t];
      if (n < 0) throw new BiencoderError('INDEX_CORRUPT', 'the keyword index offsets are not ascending');
      this.#df[t] = n;
      blockStart[t + 1] = blockStart[t] + Math.ceil(n / BLOCK);
    }
    const blocks = blockStart[termCount];
    const maxTf = new Uint16Array(blocks);
    const minLength = new Uint32Array(blocks);
    const docs = base.docs;
    const lengths = base.ordLength;
    for (let t = 0; t < termCount; t++) {
      const start = base.offsets[t];
      const end = base.offsets[t + 1];
      let prev = -1;
      for (let b = blockStart[t], i = start; i < end; b++) {
        const stop = Math.min(i + BLOCK, end);
        let mt = 0;
        let ml = 0xffffffff;
        for (; i < stop; i++) {
          const d = docs[i];
          if (d <= prev || d >= docCount) throw new BiencoderError('INDEX_CORRUPT', 'the keyword index postings are out of order or out of range');
          prev = d;
          if (base.tfs[i] > mt) mt = base.tfs[i];
          if (lengths[d] < ml) ml = lengths[d];
        }
        maxTf[b] = mt;
        minLength[b] = ml;
      }
    }
    this.#blockStart = blockStart;
    this.#blockMaxTf = maxTf;
    this.#blockMinLength = minLength;
  }
}

/** A tail as one search segment, bounded as a single block. */
function typedTail(tail: TailList): PostingSegment {
  const p = tail.postings;
  const n = p.length / 2;
  const docs = new Uint32Array(n);
  const tfs = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    docs[i] = p[2 * i];
    tfs[i] = p[2 * i + 1];
  }
  return { docs, tfs, start: 0, end: n, blockMaxTf: Uint16Array.of(tail.maxTf), blockMinLength: Uint32Array.of(tail.minLength), firstBlock: 0, endBlock: 1 };
}

/** Whether the interleaved (ordinal, tf) pairs, ascending by ordinal, hold ord. */
function searchPairs(pairs: readonly number[], ord: number): boolean {
  let lo = 0;
  let hi = pairs.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pairs[2 * mid] < ord) lo = mid + 1;
    else hi = mid;
  }
  return lo < pairs.length / 2 && pairs[2 * lo] === ord;
}

/** Whether the ascending docs[start..end) holds ord. */
function search(docs: Uint32Array, start: number, end: number, ord: number): boolean {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (docs[mid] < ord) lo = mid + 1;
    else hi = mid;
  }
  return lo < end && docs[lo] === ord;
}
