/**
 * HnswIndex: approximate search on usearch's HNSW graph, with the exact f32 vectors kept beside it in a
 * VectorStore (for rescoring quantized candidates, exact fallbacks, and key enumeration for filters).
 *
 * - efSearch per call: usearch's binding fixes expansion_search at construction and has no setter, but its
 *   search uses max(expansion, wanted) as the candidate list size. The graph is built with
 *   expansion_search = 1 and every search asks for wanted = max(ef, k x rescore) results, which is exactly
 *   an ef-sized beam search; the top k of the list are kept. So `ef` is honoured per call.
 * - Batch search: all queries go to usearch in one native call (threads from the options; 1 = one thread),
 *   large batches in locality order (batch-order.ts).
 * - Quantization 'f16' and 'i8' quantize the graph's vectors (i8 with our own scales, see
 *   quantize/scalar-i8.ts); 'b1' keeps sign codes and searches them by an exact asymmetric scan (no graph:
 *   see quantize/binary.ts for why). Every quantized result is rescored against the f32 vectors.
 * - Filters: the binding has no predicate search, so a filtered search either oversamples the graph
 *   (wanted ~ k / selectivity, growing x4 for queries still short) or scans the matching rows exactly;
 *   a cost model on the sampled selectivity chooses (see chooseFilterStrategy). Either way a search returns
 *   k results whenever k keys match.
 * - Files: `<path>` is usearch's own file (or the b1 codes), its slots renumbered for memory locality
 *   (graph-layout.ts: the same graph, faster searches once loaded or viewed), `<path>.f32` the store with our metadata
 *   (parameters, size and checksum of `<path>`, so a mismatched or damaged pair is detected).
 *   view() memory-maps `<path>` and reads f32 rows from `<path>.f32` on demand; it is read-only.
 */
import { copyFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { BiencoderError } from '../errors.ts';
import type { Matrix } from '../matrix.ts';
import { DEFAULT_RESCORE, rescore } from '../quantize/rescore.ts';
import { calibrateI8Scale, quantizeI8, type I8Params } from '../quantize/scalar-i8.ts';
import { binaryBytes, binaryScan, packSigns } from '../quantize/binary.ts';
import { exactSearch, type ExactHits } from './exact-search.ts';
import { batchSearchOrder, permuteRows } from './batch-order.ts';
import { relayoutUsearchFile } from './graph-layout.ts';
import { checkFilter, filterRows, sampleSelectivity, type KeyFilter } from './filter.ts';
import { checkThreads } from './flat-index.ts';
import { corrupt, openForRead, readFully, closeQuietly, tempPathFor, writeAtomically } from './store-file.ts';
import { usearchNative, type NativeIndex, type NativeMetric, type NativeScalar } from './usearch-native.ts';
import { MAX_EF, checkDims, checkK, checkMatrix, checkMetric, checkPositiveInt, prepareRows, toKeyArray } from './validate.ts';
import { FileVectorStore, VectorStore, type VectorSource } from './vector-store.ts';
import type { IndexMatches, IndexMemoryUsage, IndexMetric, IndexSearchOptions, Key, Keys, VectorIndex } from './vector-index.ts';

export type Quantization = 'f32' | 'f16' | 'i8' | 'b1';
export const QUANTIZATIONS: readonly Quantization[] = ['f32', 'f16', 'i8', 'b1'];

export interface HnswParams {
  /** M: graph neighbours per node (level 0 keeps 2M). Default 16. */
  readonly connectivity?: number;
  /** efConstruction. Default 128. */
  readonly expansionAdd?: number;
  /** efSearch, overridable per search with `ef`. Default per kind: DEFAULT_EXPANSION_SEARCH (64; 128 for i8). */
  readonly expansionSearch?: number;
  /** Scalar kind of the searched vectors. Default 'f32'. */
  readonly quantization?: Quantization;
  /** Candidates rescored exactly = rescore x k (quantized kinds). Default per kind: DEFAULT_RESCORE. */
  readonly rescore?: number;
}

export interface HnswIndexOptions extends HnswParams {
  readonly dims: number;
  readonly metric: IndexMetric;
  /** Native threads for add and search (0 = all cores). Default 0. */
  readonly threads?: number;
}

export type FilterStrategy = 'auto' | 'oversample' | 'exact';

export interface HnswSearchOptions extends IndexSearchOptions {
  /** How a filter is served; 'auto' (default) picks by estimated cost. */
  readonly filterStrategy?: FilterStrategy;
}

interface ResolvedParams {
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  quantization: Quantization;
  rescore: number;
}

/**
 * Default efSearch per quantization. 64 for f32, f16 and b1. 128 for i8: i8 + rescore x4 asks the graph
 * for 40 candidates at k = 10, and at ef 64 it stops where f32 does (0.987 recall@10 on 100k GloVe-100,
 * the graph limits it, not the int8 codes), short of the 0.99 that users of a rescored quantized index
 * expect; ef 128 gives 0.996 (bench:recall). b1 has no graph (an exact scan of sign codes), so its
 * efSearch is unused.
 */
export const DEFAULT_EXPANSION_SEARCH = { f32: 64, f16: 64, i8: 128, b1: 64 } as const;

export function resolveHnswParams(p: HnswParams): ResolvedParams {
  const quantization = p.quantization ?? 'f32';
  if (!QUANTIZATIONS.includes(quantization)) {
    throw new BiencoderError('INVALID_ARGUMENT', `quantization must be one of ${QUANTIZATIONS.join(', ')}, got ${JSON.stringify(quantization)}`);
  }
  const connectivity = checkPositiveInt('connectivity', p.connectivity, 16, 256);
  if (connectivity < 2) throw new BiencoderError('INVALID_ARGUMENT', 'connectivity must be at least 2');
  return {
    connectivity,
    expansionAdd: checkPositiveInt('expansionAdd', p.expansionAdd, 128, 65_536),
    expansionSearch: checkPositiveInt('expansionSearch', p.expansionSearch, DEFAULT_EXPANSION_SEARCH[quantization], MAX_EF),
    quantization,
    rescore: checkPositiveInt('rescore', p.rescore, DEFAULT_RESCORE[quantization], 4096),
  };
}

/**
 * Quantized kinds oversample x rescore for the first RESCORE_FULL_K results only; each result beyond them
 * adds one candidate. The defaults were tuned at k = 10; a long list (hybrid fusion asks for 1,000 dense
 * candidates) gained little from x4 but paid for it: on 57k 512-d vectors, i8 at k 1000 took 25 ms a query
 * for 4,000 candidates and 5 ms for 1,096 (recall@1000 0.98 and 0.80; f32 at 1,000: 7.3 ms, 0.79).
 */
export const RESCORE_FULL_K = 32;

const EMPTY: IndexMatches = Object.freeze({ keys: new BigUint64Array(0), scores: new Float32Array(0), count: 0 });

/** Cost constants of the filter strategy model (ns; rough figures from GloVe-100 runs on the 2-core dev machine). */
const COST = {
  /** One filter call on a key. */
  filterCall: 40,
  /** One f32 multiply-add of the exact native kernel. */
  exactPerDim: 0.2,
  /** One unit of `wanted` in an HNSW search, per dimension (the beam scores ~2M neighbours per entry). */
  hnswPerWantedDim: 25,
};

export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw';
  readonly dims: number;
  readonly metric: IndexMetric;
  readonly connectivity: number;
  readonly expansionAdd: number;
  /** The default ef of searches (the `ef` search option overrides it per call). */
  expansionSearch: number;
  readonly quantization: Quantization;
  /** Rescoring multiplier (candidates = k + (rescore - 1) x min(k, RESCORE_FULL_K)); ignored by f32. */
  rescore: number;
  threads: number;
  private _readOnly = false;

  private native: NativeIndex | undefined;
  private store: VectorSource & { has(key: bigint): boolean; readonly bytes: number };
  private codes: Uint8Array | undefined;
  private i8: I8Params | undefined;
  private viewPath: string | undefined;

  constructor(options: HnswIndexOptions) {
    if (options === null || typeof options !== 'object') throw new BiencoderError('INVALID_ARGUMENT', 'HnswIndex needs { dims, metric }');
    this.dims = checkDims(options.dims);
    this.metric = checkMetric(options.metric);
    const p = resolveHnswParams(options);
    this.connectivity = p.connectivity;
    this.expansionAdd = p.expansionAdd;
    this.expansionSearch = p.expansionSearch;
    this.quantization = p.quantization;
    this.rescore = p.rescore;
    this.threads = options.threads === undefined ? 0 : checkThreads(options.threads);
    const store = new VectorStore(this.dims, this.metric);
    this.store = store;
    if (this.quantization === 'b1') {
      this.codes = new Uint8Array(16 * binaryBytes(this.dims));
      store.onMove = (from, to) => this.moveCode(from, to);
    } else {
      this.native = this.makeNative();
    }
  }

  get size(): number {
    return this.store.size;
  }

  /** True for an index opened with view(): add and remove throw READ_ONLY. */
  get readOnly(): boolean {
    return this._readOnly;
  }

  get params(): Required<HnswParams> {
    return {
      connectivity: this.connectivity, expansionAdd: this.expansionAdd, expansionSearch: this.expansionSearch,
      quantization: this.quantization, rescore: this.rescore,
    };
  }

  /** Bytes of one vector's searched representation. */
  get vectorBytes(): number {
    switch (this.quantization) {
      case 'f32': return 4 * this.dims;
      case 'f16': return 2 * this.dims;
      case 'i8': return this.dims;
      case 'b1': return binaryBytes(this.dims);
    }
  }

  /**
   * Estimated bytes per vector: the searched vector, the graph (usearch: key, level, 2M level-0 neighbour
   * slots of 4 bytes, upper levels on ~1/M of nodes, two pointers), and the exact f32 copy with its key
   * and table slot. b1 has no graph.
   */
  get bytesPerVector(): number {
    return this.graphBytesPerVector() + (4 * this.dims + 8 + 4 / 0.7);
  }

  private graphBytesPerVector(): number {
    if (this.quantization === 'b1') return this.vectorBytes;
    const m = this.connectivity;
    return this.vectorBytes + 8 + 2 + 4 + 8 * m + (4 + 4 * m) / (m - 1) + 16;
  }

  memoryUsage(): IndexMemoryUsage {
    const n = this.size;
    const graph = this.graphBytesPerVector() * n;
    const store = this.store.bytes;
    const mapped = this.viewPath ? graph + (this.store.data ? 0 : n * this.dims * 4) : 0;
    const bytes = (this.viewPath ? 0 : graph) + store;
    return { bytes, bytesPerVector: n ? (bytes + mapped) / n : this.bytesPerVector, vectorBytes: this.vectorBytes, mappedBytes: mapped };
  }

  private makeNative(): NativeIndex {
    const { CompiledIndex } = usearchNative();
    return new CompiledIndex(this.dims, this.nativeMetric(), this.quantization as NativeScalar, this.connectivity, this.expansionAdd, 1, false);
  }

  private nativeMetric(): NativeMetric {
    if (this.metric === 'l2') return 'l2sq';
    // Cosine rows are normalized and i8 codes share one scale, so inner product ranks them. (Indexes saved
    // before with per-row i8 scales load with usearch's cos, which its file records.)
    return 'ip';
  }

  private writable(): VectorStore {
    if (this.readOnly) throw new BiencoderError('READ_ONLY', 'this index was opened with view() (memory-mapped, read-only); load() it to modify it');
    return this.store as VectorStore;
  }

  private moveCode(from: number, to: number): void {
    const b = binaryBytes(this.dims);
    this.codes!.copyWithin(to * b, from * b, (from + 1) * b);
  }

  /** What the graph gets for prepared rows: f32 (usearch casts to f16) or our int8. */
  private graphInput(rows: Float32Array, n: number): Float32Array | Int8Array {
    if (this.quantization !== 'i8') return rows;
    // A first batch of one or a few unit vectors may miss the largest components later rows have; for
    // cosine the scale assumes at least 4 / sqrt(dims) (4 sigma of an isotropic unit vector's component).
    const floor = this.metric === 'cosine' ? 4 / Math.sqrt(this.dims) : 0;
    if (!this.i8) this.i8 = { mode: 'global', scale: calibrateI8Scale(rows, n * this.dims, floor) };
    return quantizeI8(rows, n, this.dims, this.i8);
  }

  add(keys: Keys, vectors: Matrix): void {
    const store = this.writable();
    checkMatrix(vectors, this.dims, 'vectors');
    const k = toKeyArray(keys, vectors.rows);
    const n = k.length;
    if (n === 0) return;
    const rows = prepareRows(vectors, this.metric);
    if (this.native) {
      const native = this.native;
      const replaced: bigint[] = [];
      for (let i = 0; i < n; i++) if (store.has(k[i])) replaced.push(k[i]);
      const input = this.graphInput(rows, n);
      if (replaced.length) native.remove(BigUint64Array.from(replaced));
      try {
        native.add(k, input, this.threads);
      } catch (cause) {
        // Put the graph back as it was: drop what got in, re-add the replaced keys' stored vectors.
        const present = native.contains(k);
        const added = k.filter((_, i) => present[i]);
        if (added.length) native.remove(added);
        if (replaced.length) {
          const old = new Float32Array(replaced.length * this.dims);
          store.copyRows(replaced.map((key) => store.rowOf(key)), 0, replaced.length, old);
          native.add(BigUint64Array.from(replaced), this.graphInput(old, replaced.length), this.threads);
        }
        throw new BiencoderError('INVALID_ARGUMENT', `usearch could not add the vectors: ${(cause as Error).message}`, { cause });
      }
      store.put(k, rows);
    } else {
      const placed = store.put(k, rows);
      const b = binaryBytes(this.dims);
      if (this.codes!.length < store.capacity * b) {
        const grown = new Uint8Array(store.capacity * b);
        grown.set(this.codes!.subarray(0, store.size * b));
        this.codes = grown;
      }
      for (let i = 0; i < n; i++) packSigns(rows.subarray(i * this.dims, (i + 1) * this.dims), 1, this.dims, this.codes!, placed[i]);
    }
  }

  remove(keys: Keys): number {
    const store = this.writable();
    const k = toKeyArray(keys, undefined, 'keys', false);
    const present: bigint[] = [];
    for (let i = 0; i < k.length; i++) if (store.has(k[i])) present.push(k[i]);
    const unique = [...new Set(present)];
    if (this.native && unique.length) this.native.remove(BigUint64Array.from(unique));
    for (const key of unique) store.delete(key);
    return unique.length;
  }

  has(key: Key): boolean {
    return typeof key === 'bigint' && this.store.has(key);
  }

  search(queries: Matrix, k: number, options: HnswSearchOptions = {}): IndexMatches[] {
    checkMatrix(queries, this.dims, 'queries');
    checkK(k);
    const filter = checkFilter(options.filter);
    const ef = checkPositiveInt('ef', options.ef, this.expansionSearch, MAX_EF);
    const strategy = options.filterStrategy ?? 'auto';
    if (!['auto', 'oversample', 'exact'].includes(strategy)) {
      throw new BiencoderError('INVALID_ARGUMENT', `filterStrategy must be auto, oversample or exact, got ${JSON.stringify(strategy)}`);
    }
    const nq = queries.rows;
    if (k === 0 || this.size === 0) return Array.from({ length: nq }, () => EMPTY);
    const prepared = prepareRows(queries, this.metric);
    const kk = Math.min(k, this.size);
    if (!filter && this.quantization === 'f32' && Math.max(ef, kk) < this.size) return this.plainSearch(prepared, nq, kk, ef);
    const exact = options.exactScores === undefined ? Infinity : checkPositiveInt('exactScores', options.exactScores, 1, Number.MAX_SAFE_INTEGER);
    const hits = filter ? this.filtered(prepared, nq, kk, ef, exact, filter, strategy) : this.unfiltered(prepared, nq, kk, ef, exact);
    return hits.map((h) => this.toMatches(h));
  }

  /** The common case (f32, no filter): usearch's keys and scores as they come, no per-result lookups. */
  private plainSearch(prepared: Float32Array, nq: number, kk: number, ef: number): IndexMatches[] {
    const wanted = Math.max(ef, kk);
    const { keys, dists, cnt, position } = this.nativeSearch(prepared, prepared, nq, wanted);
    const l2 = this.metric === 'l2';
    const out: IndexMatches[] = new Array(nq);
    let short: number[] | undefined;
    for (let qi = 0; qi < nq; qi++) {
      const base = position[qi] * wanted;
      if (cnt[2 * position[qi]] < kk) {
        (short ??= []).push(qi);
        continue;
      }
      const scores = new Float32Array(kk);
      for (let j = 0; j < kk; j++) {
        const d = dists[base + j];
        scores[j] = l2 ? 0 - Math.sqrt(d > 0 ? d : 0) : 1 - d;
      }
      out[qi] = { keys: keys.slice(base, base + kk), scores, count: kk };
    }
    if (short) {
      // The graph gave fewer than k (a small or fragmented graph): answer those queries exactly.
      const exact = exactSearch(this.store, permuteRows(prepared, short, this.dims), short.length, kk, { threads: this.threads });
      short.forEach((qi, i) => { out[qi] = this.toMatches(exact[i]); });
    }
    return out;
  }

  /**
   * One batched native search of `input` (the prepared queries, or their graph codes), run in locality order
   * (batch-order.ts). Query qi ran at position[qi]: its results start at position[qi] x wanted, its count
   * at cnt[2 x position[qi]] (the counts as uint32 pairs).
   */
  private nativeSearch(prepared: Float32Array, input: Float32Array | Int8Array, nq: number, wanted: number) {
    const order = batchSearchOrder(this.store, prepared, nq, this.threads);
    const [keys, dists, counts] = this.native!.search(order ? permuteRows(input, order, this.dims) : input, wanted, this.threads);
    const position = new Int32Array(nq);
    for (let i = 0; i < nq; i++) position[order ? order[i] : i] = i;
    return { keys, dists, cnt: new Uint32Array(counts.buffer, counts.byteOffset, counts.length * 2), position };
  }

  private toMatches(h: ExactHits): IndexMatches {
    const keys = this.store.keys;
    const n = h.rows.length;
    const out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) out[i] = keys[h.rows[i]];
    return { keys: out, scores: Float32Array.from(h.scores), count: n };
  }

  /**
   * The first exactScores results rescored as a search for that many would be; the other candidates
   * with their int8 inner product (usearch's i8 'ip' distance is 1 - the dot of the codes) scaled back
   * by the codes' scale: an approximate cosine. Best first by these scores.
   */
  private rescoreHead(prepared: Float32Array, qi: number, rows: Int32Array, dists: Float64Array, m: number, kk: number, limit: number, scale: number): ExactHits {
    const head = rescore(this.store, prepared, qi, rows, Math.min(m, this.candidatesFor(limit)), limit);
    const taken = new Set(head.rows);
    const n = Math.min(kk, m);
    // The rest in the graph's order (ascending int8 distance: descending approximate score), merged
    // with the exact head by score so that the list stays best first.
    const inv = 1 / (scale * scale);
    const tailRows = new Int32Array(n);
    const tailScores = new Float64Array(n);
    let t = 0;
    for (let j = 0; j < m && t + head.rows.length < n; j++) {
      if (taken.has(rows[j])) continue;
      tailRows[t] = rows[j];
      tailScores[t++] = (1 - dists[j]) * inv;
    }
    const outRows = new Int32Array(head.rows.length + t);
    const outScores = new Float64Array(head.rows.length + t);
    for (let w = 0, h = 0, r = 0; w < outRows.length; w++) {
      if (r >= t || (h < head.rows.length && head.scores[h] >= tailScores[r])) {
        outRows[w] = head.rows[h];
        outScores[w] = head.scores[h++];
      } else {
        outRows[w] = tailRows[r];
        outScores[w] = tailScores[r++];
      }
    }
    return { rows: outRows, scores: outScores };
  }

  /** Candidates a quantized search rescores for the top kk (kk itself for f32): see RESCORE_FULL_K. */
  private candidatesFor(kk: number): number {
    if (this.quantization === 'f32') return kk;
    return kk + (this.rescore - 1) * Math.min(kk, RESCORE_FULL_K);
  }

  private unfiltered(prepared: Float32Array, nq: number, kk: number, ef: number, exact: number): ExactHits[] {
    const n = this.size;
    if (this.quantization === 'b1') {
      const cands = binaryScan(this.codes!, n, this.dims, prepared, nq, kk * this.rescore);
      return cands.map((c, qi) => rescore(this.store, prepared, qi, c, c.length, kk));
    }
    const wanted = Math.max(ef, this.candidatesFor(kk));
    if (wanted >= n) return exactSearch(this.store, prepared, nq, kk, { threads: this.threads });
    return this.graphSearch(prepared, nq, kk, wanted, exact, undefined);
  }

  /**
   * One batched native search with `wanted` results per query; the candidates of each query that pass
   * `accept` (all when undefined) are rescored (quantized kinds) or taken as they are (f32). Queries that
   * get fewer than kk accepted candidates are returned as undefined (the caller widens or falls back), and
   * so are filtered queries whose candidates pass at less than half the expected rate `minPass`: there
   * the filter is correlated with the query's neighbourhood (e.g. it excludes the query's cluster), and
   * the true filtered neighbours may lie beyond the list.
   */
  private graphSearch(prepared: Float32Array, nq: number, kk: number, wanted: number, exact: number, accept: ((row: number) => boolean) | undefined): ExactHits[];
  private graphSearch(prepared: Float32Array, nq: number, kk: number, wanted: number, exact: number, accept: ((row: number) => boolean) | undefined, allowShort: true, minPass: number): (ExactHits | undefined)[];
  private graphSearch(prepared: Float32Array, nq: number, kk: number, wanted: number, exact: number, accept: ((row: number) => boolean) | undefined, allowShort = false, minPass = 0): (ExactHits | undefined)[] {
    const input = this.quantization === 'i8' ? quantizeI8(prepared, nq, this.dims, this.i8 ?? { mode: 'global', scale: 1 }) : prepared;
    const { keys, dists, cnt, position } = this.nativeSearch(prepared, input, nq, wanted);
    const parts = new Uint32Array(keys.buffer, keys.byteOffset, keys.length * 2);
    const need = this.candidatesFor(kk);
    const out: (ExactHits | undefined)[] = new Array(nq);
    const rows = new Int32Array(wanted);
    const rawScores = new Float64Array(wanted);
    const graphScoresExact = this.quantization === 'f32';
    const l2 = this.metric === 'l2';
    let short: number[] | undefined;
    for (let qi = 0; qi < nq; qi++) {
      const base = position[qi] * wanted;
      const c = cnt[2 * position[qi]];
      let m = 0;
      let passed = 0;
      for (let j = 0; j < c && (m < need || minPass > 0); j++) {
        const row = this.store.rowOfParts(parts[2 * (base + j)], parts[2 * (base + j) + 1]);
        if (row < 0 || (accept && !accept(row))) continue;
        passed++;
        if (m >= need) continue;
        rows[m] = row;
        const d = dists[base + j];
        if (graphScoresExact) rawScores[m] = l2 ? 0 - Math.sqrt(d > 0 ? d : 0) : 1 - d;
        else rawScores[m] = d;
        m++;
      }
      if (m < kk || (minPass > 0 && c === wanted && passed < minPass * c * 0.5)) {
        (short ??= []).push(qi);
        continue;
      }
      if (graphScoresExact) {
        out[qi] = { rows: rows.slice(0, kk), scores: rawScores.slice(0, kk) };
      } else if (exact < kk && this.quantization === 'i8' && this.i8?.mode === 'global' && this.metric !== 'l2') {
        out[qi] = this.rescoreHead(prepared, qi, rows, rawScores, m, kk, exact, this.i8.scale);
      } else {
        out[qi] = rescore(this.store, prepared, qi, rows, m, kk);
      }
    }
    if (short && !allowShort) {
      // The graph gave fewer than k (a small or fragmented graph): answer those queries exactly.
      const sub = permuteRows(prepared, short, this.dims);
      const exact = exactSearch(this.store, sub, short.length, kk, { threads: this.threads });
      short.forEach((qi, i) => { out[qi] = exact[i]; });
    }
    return out;
  }

  private filtered(prepared: Float32Array, nq: number, kk: number, ef: number, exact: number, filter: KeyFilter, strategy: FilterStrategy): ExactHits[] {
    const n = this.size;
    const sample = sampleSelectivity(this.store, filter, 1024);
    const p = sample.passed / Math.max(1, sample.tested);
    // The beam should meet as many passing candidates as an unfiltered search meets candidates.
    const wanted0 = Math.min(n, Math.ceil(Math.max(ef, this.candidatesFor(kk)) / Math.max(p, 1 / n)));
    const useExact = this.quantization === 'b1'
      || strategy === 'exact'
      || (strategy === 'auto' && chooseFilterStrategy({ n, nq, dims: this.dims, selectivity: p, wanted: wanted0 }) === 'exact');
    let matching: Int32Array | undefined;
    const exactFor = (qs: number[]): ExactHits[] => {
      matching ??= filterRows(this.store, filter);
      const sub = qs.length === nq ? prepared : permuteRows(prepared, qs, this.dims);
      if (this.quantization === 'b1') {
        const cands = binaryScan(this.codes!, n, this.dims, sub, qs.length, kk * this.rescore, matching);
        return cands.map((c, i) => rescore(this.store, sub, i, c, c.length, kk));
      }
      return exactSearch(this.store, sub, qs.length, kk, { rows: matching, threads: this.threads });
    };
    const all = Array.from({ length: nq }, (_, i) => i);
    if (useExact || sample.passed === 0) return exactFor(all);

    // Oversample the graph: memoize the filter per row for this call, widen x4 for queries still short.
    const memo = new Int8Array(n);
    const keys = this.store.keys;
    const accept = (row: number): boolean => {
      const v = memo[row];
      if (v !== 0) return v > 0;
      const ok = filter(keys[row]);
      memo[row] = ok ? 1 : -1;
      return ok;
    };
    const out: ExactHits[] = new Array(nq);
    let pending = all;
    let wanted = wanted0;
    while (pending.length) {
      if (wanted >= n / 2) {
        exactFor(pending).forEach((h, i) => { out[pending[i]] = h; });
        break;
      }
      const sub = pending.length === nq ? prepared : permuteRows(prepared, pending, this.dims);
      const res = this.graphSearch(sub, pending.length, kk, wanted, exact, accept, true, p);
      const next: number[] = [];
      for (let i = 0; i < pending.length; i++) {
        const h = res[i]; // (res has holes for short queries: no forEach)
        if (h) out[pending[i]] = h;
        else next.push(pending[i]);
      }
      pending = next;
      wanted *= 4;
    }
    return out;
  }

  /** Writes `<path>` (usearch's file, or the b1 codes) and `<path>.f32` (the f32 store and metadata). */
  async save(path: string): Promise<void> {
    if (this.viewPath) {
      // A viewed index is its files: copy them (nothing to do onto themselves).
      if (path === this.viewPath) return;
      for (const [from, to] of [[this.viewPath, path], [`${this.viewPath}.f32`, `${path}.f32`]]) {
        const tmp = tempPathFor(to);
        copyFileSync(from, tmp);
        renameSync(tmp, to);
      }
      return;
    }
    const tmp = tempPathFor(path);
    try {
      if (this.native) {
        this.native.save(tmp);
        relayoutUsearchFile(tmp);
      } else {
        await writeAtomically(tmp, [codesHeader(this.dims, this.size), Buffer.from(this.codes!.buffer, 0, this.size * binaryBytes(this.dims))]);
      }
      const main = mainFileStamp(tmp);
      renameSync(tmp, path);
      await (this.store as VectorStore).save(`${path}.f32`, {
        kind: 'hnsw', ...this.params, i8: this.i8 ?? null, mainBytes: main.bytes, mainCrc: main.crc,
      });
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** Reads an index written by save() into memory. */
  static load(path: string, options: HnswOpenOptions = {}): HnswIndex {
    return HnswIndex.open(path, options, false);
  }

  /**
   * Opens an index written by save() memory-mapped and read-only: usearch maps `<path>`, f32 rows are read
   * from `<path>.f32` when rescoring needs them. add/remove throw READ_ONLY.
   */
  static view(path: string, options: HnswOpenOptions = {}): HnswIndex {
    return HnswIndex.open(path, options, true);
  }

  private static open(path: string, options: HnswOpenOptions, view: boolean): HnswIndex {
    const expect = { dims: options.dims, metric: options.metric };
    const opened = view ? FileVectorStore.open(`${path}.f32`, expect) : VectorStore.load(`${path}.f32`, expect);
    const { store, meta } = opened;
    try {
      if (meta.kind !== 'hnsw') throw corrupt(`${path}.f32`, `holds an index of kind ${JSON.stringify(meta.kind)}, not hnsw`);
      const saved = resolveHnswParams(meta as HnswParams);
      const index = new HnswIndex({
        dims: store.dims, metric: store.metric, ...saved,
        expansionSearch: options.expansionSearch ?? saved.expansionSearch,
        rescore: options.rescore ?? saved.rescore,
        threads: options.threads,
      });
      const stamp = (() => {
        try {
          return mainFileStamp(path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT' || isNotFound(e)) throw corrupt(path, `the index file is missing (its ${path}.f32 exists)`);
          throw e;
        }
      })();
      if (stamp.bytes !== meta.mainBytes || stamp.crc !== meta.mainCrc) {
        throw corrupt(path, `does not match ${path}.f32 (size ${stamp.bytes}, expected ${String(meta.mainBytes)}; damaged, or from another save)`);
      }
      index.store = store;
      index._readOnly = view;
      index.viewPath = view ? path : undefined;
      if (meta.i8 && typeof meta.i8 === 'object') index.i8 = meta.i8 as I8Params;
      if (index.quantization === 'b1') {
        index.codes = readCodes(path, store.dims, store.size);
        if (store instanceof VectorStore) store.onMove = (from, to) => index.moveCode(from, to);
      } else {
        const native = index.native!;
        try {
          if (view) native.view(path);
          else native.load(path);
        } catch (cause) {
          throw corrupt(path, `usearch could not ${view ? 'map' : 'load'} it: ${(cause as Error).message}`, cause);
        }
        if (native.dimensions() !== store.dims || native.size() !== store.size) {
          throw corrupt(path, `holds ${native.size()} vectors of ${native.dimensions()} dims, but ${path}.f32 has ${store.size} of ${store.dims}`);
        }
        const present = native.contains(store.keys.subarray(0, store.size));
        const missing = present.indexOf(false);
        if (missing >= 0) throw corrupt(path, `key ${store.keys[missing]} of ${path}.f32 is not in the graph`);
      }
      return index;
    } catch (e) {
      if (store instanceof FileVectorStore) store.close();
      throw e;
    }
  }

  /** Closes the f32 file of a viewed index (its reads fail afterwards). */
  close(): void {
    if (this.store instanceof FileVectorStore) this.store.close();
  }
}

export interface HnswOpenOptions {
  /** Expected dims / metric (DIMENSION_MISMATCH / INVALID_ARGUMENT when the file differs). */
  readonly dims?: number;
  readonly metric?: IndexMetric;
  /** Search-time settings that may differ from the saved ones. */
  readonly expansionSearch?: number;
  readonly rescore?: number;
  readonly threads?: number;
}

/**
 * Exact scan or graph oversampling for a filtered search, by estimated cost per query (ns):
 * exact = n filter calls (once per call, shared by the queries) + matching x dims x the kernel's cost;
 * oversample = wanted x dims x the graph's cost per candidate (+ its filter calls).
 */
export function chooseFilterStrategy(o: { n: number; nq: number; dims: number; selectivity: number; wanted: number }): 'exact' | 'oversample' {
  const matching = o.selectivity * o.n;
  const exact = (o.n * COST.filterCall) / Math.max(1, o.nq) + matching * o.dims * COST.exactPerDim;
  const oversample = o.wanted * o.dims * COST.hnswPerWantedDim + o.wanted * COST.filterCall;
  return exact <= oversample ? 'exact' : 'oversample';
}

function isNotFound(e: unknown): boolean {
  return e instanceof BiencoderError && e.code === 'NOT_FOUND';
}

/** Size and CRC-32 of the first 64 KiB of a file: ties `<path>` to its `<path>.f32`. */
function mainFileStamp(path: string): { bytes: number; crc: number } {
  const bytes = statSync(path).size;
  const fd = openForRead(path);
  try {
    const head = Buffer.alloc(Math.min(bytes, 65_536));
    readFully(fd, head, 0);
    return { bytes, crc: crc32(head) >>> 0 };
  } finally {
    closeQuietly(fd);
  }
}

const CODES_MAGIC = 'BIENCB1\0';

function codesHeader(dims: number, count: number): Buffer {
  const b = Buffer.alloc(24);
  b.write(CODES_MAGIC, 0, 'latin1');
  b.writeUInt32LE(dims, 8);
  b.writeUInt32LE(0, 12);
  b.writeBigUInt64LE(BigInt(count), 16);
  return b;
}

function readCodes(path: string, dims: number, count: number): Uint8Array {
  const fd = openForRead(path);
  try {
    const b = binaryBytes(dims);
    const size = statSync(path).size;
    if (size !== 24 + count * b) throw corrupt(path, `has ${size} bytes; ${count} codes of ${dims} bits need ${24 + count * b}`);
    const head = Buffer.alloc(24);
    readFully(fd, head, 0);
    if (head.toString('latin1', 0, 8) !== CODES_MAGIC || head.readUInt32LE(8) !== dims || head.readBigUInt64LE(16) !== BigInt(count)) {
      throw corrupt(path, 'is not the b1 code file of its .f32 (bad header)');
    }
    const codes = new Uint8Array(Math.max(16, count) * b);
    readFully(fd, codes.subarray(0, count * b), 24);
    return codes;
  } finally {
    closeQuietly(fd);
  }
}
