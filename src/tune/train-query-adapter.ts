/**
 * Training a query adapter (query-adapter.ts) from judged (query, relevant document) pairs, without
 * re-embedding a document: the queries are embedded by the base model, the documents' vectors are the
 * ones stored.
 *
 * Loss: sentence-transformers' MultipleNegativesRankingLoss — softmax cross-entropy of the scaled
 * cosine of each adapted query against its relevant document, the batch's other documents and hard
 * negatives (documents the base model ranks high for the query that are not judged relevant), a
 * document relevant to the query never counted as its negative. Adam, the gradients written out.
 *
 * Overfitting is the trap: a long schedule memorizes the judged documents (queries about them score
 * well, others worse). So the training queries are split: a validation share whose relevant documents
 * are taken out of every training pair and out of the hard negatives, so that validation measures
 * what the adapter does for documents it never saw; training stops early when validation nDCG@10 has
 * not improved for `patience` epochs, the best epoch's weights are kept, and an adapter that does not
 * beat the identity on validation is not returned (`adapter: undefined`, with the reason).
 *
 * Deterministic given the seed (one PRNG stream; no parallelism). Memory: the weights, Adam's two
 * moments, one batch's intermediates and a ranking of the validation queries: O(dims x rank + batch x
 * dims + documents) beyond the inputs.
 */
import { BiencoderError, throwIfAborted } from '../errors.ts';
import { queryMetrics } from '../eval/metrics.ts';
import { pickRows, type Matrix } from '../matrix.ts';
import { QueryAdapter } from './query-adapter.ts';
import { mulberry32, shuffle } from './seeded-random.ts';

/**
 * The documents an adapter is trained against: their stored vectors by id, and a search of them
 * (validation and hard negatives). A collection (collection-space.ts) or a matrix in memory (matrixSpace).
 */
export interface DocumentSpace {
  /** The stored vectors of these documents, in order; rows of documents that do not exist are left out of `found`. */
  vectors(ids: readonly string[]): Promise<{ readonly matrix: Matrix; readonly found: readonly string[] }>;
  /** The ids of each query row's k best documents, best first. */
  search(queries: Matrix, k: number): Promise<string[][]>;
}

export interface AdapterTrainingData {
  /** The training queries' vectors from the base model (unit length), one row per entry of queryIds. */
  readonly queries: Matrix;
  readonly queryIds: readonly string[];
  readonly documents: DocumentSpace;
  /** query id -> document id -> grade; grades > 0 are relevant. */
  readonly qrels: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

export interface TrainQueryAdapterOptions {
  /** Rank of the correction; default 32 (at most dims). */
  readonly rank?: number;
  /** Most epochs; default 40 (early stopping usually ends sooner). */
  readonly epochs?: number;
  /** Queries per step; default 64. */
  readonly batchSize?: number;
  /** Adam's step size; default 0.001. */
  readonly learningRate?: number;
  /** The softmax's scale on cosines; default 20 (sentence-transformers' default). */
  readonly scale?: number;
  /** Hard negatives per query per step; default 3 (cranfield 5-fold nDCG@10 0.2112 over 3 seeds, against 0.2067 with 1). */
  readonly hardNegatives?: number;
  /** Hard negatives come from the base model's top this many (relevant documents excluded); default 30. */
  readonly hardNegativeDepth?: number;
  /** Share of the training queries held out for validation; default 0.2. */
  readonly validationFraction?: number;
  /** Epochs without a validation gain before stopping; default 4. */
  readonly patience?: number;
  /** L2 pull of the weights toward zero (the identity), per step; default 0. */
  readonly weightDecay?: number;
  /** Default 42. */
  readonly seed?: number;
  /**
   * Documents no training pair and no hard negative may use (beside the validation queries' own): the
   * relevant documents of queries the adapter will be judged on (cross-validation's held-out fold).
   */
  readonly excludeDocuments?: ReadonlySet<string>;
  readonly signal?: AbortSignal;
  /** Called after every epoch. */
  readonly onEpoch?: (progress: AdapterEpoch) => void;
  /** Called after every step (for a progress bar). */
  readonly onStep?: (progress: { readonly step: number; readonly steps: number; readonly loss: number }) => void;
}

export interface AdapterEpoch {
  readonly epoch: number;
  readonly epochs: number;
  readonly loss: number;
  readonly validationNdcg10: number;
  readonly best: boolean;
}

export interface TrainQueryAdapterResult {
  /** The best epoch's adapter; undefined when none beat the identity on validation. */
  readonly adapter: QueryAdapter | undefined;
  /** Why there is no adapter, when there is none. */
  readonly reason?: string;
  readonly validation: {
    readonly queries: number;
    /** The held-out queries (their relevant documents were in no training pair), in queryIds order. */
    readonly queryIds: readonly string[];
    /** nDCG@10 of the validation queries without an adapter, and with the best epoch's. */
    readonly baseNdcg10: number;
    readonly bestNdcg10: number;
    readonly bestEpoch: number;
  };
  readonly trainingQueries: number;
  readonly trainingPairs: number;
  readonly epochs: number;
  readonly seconds: number;
}


/** Dot products of one query row with every document row. */
function scoresOf(query: Float32Array, offset: number, docs: Matrix, out: Float32Array): void {
  const d = docs.dims;
  const data = docs.data;
  for (let r = 0; r < docs.rows; r++) {
    let s = 0;
    const o = r * d;
    for (let i = 0; i < d; i++) s += query[offset + i] * data[o + i];
    out[r] = s;
  }
}

/** Indices of the n highest scores, best first (ties by lower index). */
function topIndices(scores: Float32Array, n: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (top.length === n && scores[i] <= scores[top[n - 1]]) continue;
    let at = top.length === n ? n - 1 : top.length;
    if (top.length < n) top.push(i);
    while (at > 0 && scores[top[at - 1]] < scores[i]) {
      top[at] = top[at - 1];
      at--;
    }
    top[at] = i;
  }
  return top;
}

/** Documents held in memory (unit vectors), searched exactly: benchmarks and tests. */
export function matrixSpace(documents: Matrix, ids: readonly string[]): DocumentSpace {
  const row = new Map<string, number>();
  ids.forEach((id, i) => row.set(id, i));
  return {
    vectors(wanted: readonly string[]) {
      const found = wanted.filter((id) => row.has(id));
      const out = new Float32Array(found.length * documents.dims);
      found.forEach((id, i) => out.set(documents.data.subarray(row.get(id)! * documents.dims, (row.get(id)! + 1) * documents.dims), i * documents.dims));
      return Promise.resolve({ matrix: { data: out, rows: found.length, dims: documents.dims }, found });
    },
    search(queries: Matrix, k: number) {
      const scores = new Float32Array(documents.rows);
      const out: string[][] = [];
      for (let q = 0; q < queries.rows; q++) {
        scoresOf(queries.data, q * queries.dims, documents, scores);
        out.push(topIndices(scores, k).map((i) => ids[i]));
      }
      return Promise.resolve(out);
    },
  };
}

/** Mean nDCG@10 of queries (rows of a matrix) against their judgements, searching the space. */
export async function meanNdcg10(queries: Matrix, queryIds: readonly string[], space: DocumentSpace, qrels: AdapterTrainingData['qrels']): Promise<number> {
  if (queries.rows === 0) return 0;
  const ranked = await space.search(queries, 10);
  let sum = 0;
  ranked.forEach((ids, q) => {
    sum += queryMetrics(ids, qrels.get(queryIds[q]) ?? new Map(), [10])['ndcg@10'];
  });
  return sum / queries.rows;
}


/** Adam over one parameter array. */
class Adam {
  readonly #m: Float32Array;
  readonly #v: Float32Array;
  #t = 0;
  constructor(size: number, readonly lr: number, readonly decay: number) {
    this.#m = new Float32Array(size);
    this.#v = new Float32Array(size);
  }
  step(param: Float32Array, grad: Float64Array): void {
    this.#t++;
    const b1 = 0.9;
    const b2 = 0.999;
    const c1 = 1 - b1 ** this.#t;
    const c2 = 1 - b2 ** this.#t;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i] + this.decay * param[i];
      this.#m[i] = b1 * this.#m[i] + (1 - b1) * g;
      this.#v[i] = b2 * this.#v[i] + (1 - b2) * g * g;
      param[i] -= (this.lr * (this.#m[i] / c1)) / (Math.sqrt(this.#v[i] / c2) + 1e-8);
    }
  }
}

function positiveInt(value: number | undefined, fallback: number, name: string, max = 1_000_000): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new BiencoderError('INVALID_ARGUMENT', `${name} must be an integer in 1..${max}, got ${String(value)}`);
  return v;
}

function positiveNumber(value: number | undefined, fallback: number, name: string, allowZero = false): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) throw new BiencoderError('INVALID_ARGUMENT', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}`);
  return v;
}

/** Trains a query adapter; see the file's opening comment. */
export async function trainQueryAdapter(data: AdapterTrainingData, options: TrainQueryAdapterOptions = {}): Promise<TrainQueryAdapterResult> {
  const started = performance.now();
  const { queries } = data;
  const dims = queries.dims;
  if (queries.rows !== data.queryIds.length) throw new BiencoderError('INVALID_ARGUMENT', 'queryIds must name every row of the query matrix');
  const rank = positiveInt(options.rank, Math.min(32, dims), 'rank', dims);
  const maxEpochs = positiveInt(options.epochs, 40, 'epochs', 10_000);
  const batchSize = positiveInt(options.batchSize, 64, 'batchSize', 4096);
  const lr = positiveNumber(options.learningRate, 0.001, 'learningRate');
  const scale = positiveNumber(options.scale, 20, 'scale');
  const hardPerQuery = options.hardNegatives ?? 3;
  if (!Number.isInteger(hardPerQuery) || hardPerQuery < 0 || hardPerQuery > 100) throw new BiencoderError('INVALID_ARGUMENT', `hardNegatives must be an integer in 0..100, got ${String(options.hardNegatives)}`);
  const depth = positiveInt(options.hardNegativeDepth, 30, 'hardNegativeDepth', 10_000);
  const fraction = options.validationFraction ?? 0.2;
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1)) throw new BiencoderError('INVALID_ARGUMENT', `validationFraction must be in (0, 1), got ${String(options.validationFraction)}`);
  const patience = positiveInt(options.patience, 4, 'patience', 1000);
  const decay = positiveNumber(options.weightDecay, 0, 'weightDecay', true);
  const random = mulberry32(options.seed ?? 42);

  // Judged queries and their relevant documents that the space holds.
  const judgedIds = [...new Set(data.queryIds.flatMap((qid) => [...(data.qrels.get(qid) ?? new Map<string, number>())].filter(([, g]) => g > 0).map(([id]) => id)))];
  const held = new Set((await data.documents.vectors(judgedIds)).found);
  const relevant: string[][] = data.queryIds.map((qid) => [...(data.qrels.get(qid) ?? new Map<string, number>())].filter(([id, g]) => g > 0 && held.has(id)).map(([id]) => id));
  const judged = relevant.map((r, q) => (r.length > 0 ? q : -1)).filter((q) => q >= 0);
  if (judged.length < 10) throw new BiencoderError('INVALID_ARGUMENT', `training a query adapter needs at least 10 queries with a relevant document among the collection's, got ${judged.length}`);

  // Validation: a share of the queries; their relevant documents leave every training pair.
  const order = shuffle([...judged], random);
  const valCount = Math.max(5, Math.round(order.length * fraction));
  const validation = order.slice(0, valCount).sort((a, b) => a - b);
  const heldOut = new Set([...validation.flatMap((q) => relevant[q]), ...(options.excludeDocuments ?? [])]);
  const training: { query: number; positives: string[]; relevant: Set<string> }[] = [];
  for (const q of order.slice(valCount)) {
    const positives = relevant[q].filter((d) => !heldOut.has(d));
    if (positives.length > 0) training.push({ query: q, positives, relevant: new Set(relevant[q]) });
  }
  if (training.length < 5) throw new BiencoderError('INVALID_ARGUMENT', `only ${training.length} training queries keep a relevant document outside the validation queries' ones: too few to train on`);
  training.sort((a, b) => a.query - b.query);
  throwIfAborted(options.signal);

  // Hard negatives: the base model's top `depth` for each training query, relevant and held-out documents excluded.
  const trainQueries = pickRows(queries, training.map((t) => t.query));
  const ranked = await data.documents.search(trainQueries, depth + Math.max(...training.map((t) => t.relevant.size)));
  const hard = training.map((t, i) => ranked[i].filter((d) => !t.relevant.has(d) && !heldOut.has(d)).slice(0, depth));
  // The vectors of every document a step can meet: the positives and the hard negatives.
  const local = await data.documents.vectors([...new Set([...training.flatMap((t) => t.positives), ...hard.flat()])]);
  const row = new Map<string, number>();
  local.found.forEach((id, i) => row.set(id, i));
  const localRows = (ids: readonly string[]): number[] => ids.filter((id) => row.has(id)).map((id) => row.get(id)!);
  const steps = training.map((t, i) => ({ query: t.query, positives: localRows(t.positives), relevant: new Set(localRows([...t.relevant])), hard: localRows(hard[i]) }));

  const valQueries = pickRows(queries, validation);
  const valIds = validation.map((q) => data.queryIds[q]);
  const evaluate = (adapter: QueryAdapter | undefined): Promise<number> =>
    meanNdcg10(adapter === undefined ? valQueries : adapter.apply(valQueries), valIds, data.documents, data.qrels);
  const baseNdcg10 = await evaluate(undefined);

  const adapter = QueryAdapter.identity(dims, rank, random);
  const adamA = new Adam(adapter.a.length, lr, decay);
  const adamB = new Adam(adapter.b.length, lr, decay);
  const gradA = new Float64Array(adapter.a.length);
  const gradB = new Float64Array(adapter.b.length);
  let best = { ndcg: baseNdcg10, epoch: 0, a: adapter.a.slice(), b: adapter.b.slice() };
  const stepsPerEpoch = Math.ceil(steps.length / batchSize);
  let epochsRun = 0;
  let step = 0;
  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    throwIfAborted(options.signal);
    const batchOrder = shuffle(steps.map((_, i) => i), random);
    let lossSum = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      throwIfAborted(options.signal);
      const batch = batchOrder.slice(s * batchSize, (s + 1) * batchSize).map((i) => steps[i]);
      const loss = trainStep(adapter, batch, queries, local.matrix, { scale, hardPerQuery, random, gradA, gradB });
      adamA.step(adapter.a, gradA);
      adamB.step(adapter.b, gradB);
      lossSum += loss;
      step++;
      options.onStep?.({ step, steps: stepsPerEpoch * maxEpochs, loss });
    }
    epochsRun = epoch;
    const ndcg = await evaluate(adapter);
    const improved = ndcg > best.ndcg;
    if (improved) best = { ndcg, epoch, a: adapter.a.slice(), b: adapter.b.slice() };
    options.onEpoch?.({ epoch, epochs: maxEpochs, loss: lossSum / stepsPerEpoch, validationNdcg10: ndcg, best: improved });
    if (epoch - best.epoch >= patience) break;
  }
  const result = {
    validation: { queries: validation.length, queryIds: valIds, baseNdcg10, bestNdcg10: best.ndcg, bestEpoch: best.epoch },
    trainingQueries: training.length,
    trainingPairs: training.reduce((n, t) => n + t.positives.length, 0),
    epochs: epochsRun,
    seconds: (performance.now() - started) / 1000,
  };
  if (best.epoch === 0) {
    return { ...result, adapter: undefined, reason: `no epoch beat the identity on the ${validation.length} validation queries (nDCG@10 ${baseNdcg10.toFixed(4)} without an adapter)` };
  }
  return { ...result, adapter: new QueryAdapter(dims, rank, best.a, best.b) };
}

interface StepContext {
  readonly scale: number;
  readonly hardPerQuery: number;
  readonly random: () => number;
  readonly gradA: Float64Array;
  readonly gradB: Float64Array;
}

/**
 * One step of MultipleNegativesRankingLoss: forward, loss, gradients of A and B (into ctx.gradA / gradB).
 * Returns the batch's mean loss.
 */
function trainStep(
  adapter: QueryAdapter, batch: readonly { query: number; positives: number[]; relevant: Set<number>; hard: number[] }[],
  queries: Matrix, documents: Matrix, ctx: StepContext,
): number {
  const { dims, rank, a, b } = adapter;
  const n = batch.length;
  // The candidates: one positive per query (sampled), then hard negatives; each document once.
  const candidates: number[] = [];
  const column = new Map<number, number>();
  const add = (doc: number): number => {
    let c = column.get(doc);
    if (c === undefined) {
      c = candidates.length;
      candidates.push(doc);
      column.set(doc, c);
    }
    return c;
  };
  const target = batch.map((t) => add(t.positives[Math.floor(ctx.random() * t.positives.length)]));
  batch.forEach((t) => {
    const pool = t.hard;
    for (let h = 0; h < ctx.hardPerQuery && pool.length > 0; h++) add(pool[Math.floor(ctx.random() * pool.length)]);
  });
  const c = candidates.length;
  // Forward: H = QA (n x rank), Z = Q + HB, Y = Z / |Z|.
  const h = new Float64Array(n * rank);
  const z = new Float64Array(n * dims);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const qo = batch[i].query * dims;
    for (let k = 0; k < dims; k++) {
      const x = queries.data[qo + k];
      if (x === 0) continue;
      for (let j = 0; j < rank; j++) h[i * rank + j] += x * a[k * rank + j];
    }
    for (let k = 0; k < dims; k++) z[i * dims + k] = queries.data[qo + k];
    for (let j = 0; j < rank; j++) {
      const hj = h[i * rank + j];
      for (let k = 0; k < dims; k++) z[i * dims + k] += hj * b[j * dims + k];
    }
    let s = 0;
    for (let k = 0; k < dims; k++) s += z[i * dims + k] ** 2;
    norms[i] = Math.sqrt(s) || 1;
  }
  // Logits and the softmax's gradient G (n x c): a document relevant to the query is masked out unless it is the target.
  const g = new Float64Array(n * c);
  let loss = 0;
  const logits = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let col = 0; col < c; col++) {
      if (col !== target[i] && batch[i].relevant.has(candidates[col])) {
        logits[col] = -Infinity;
        continue;
      }
      const d = candidates[col] * dims;
      let s = 0;
      for (let k = 0; k < dims; k++) s += z[i * dims + k] * documents.data[d + k];
      logits[col] = (ctx.scale * s) / norms[i];
      if (logits[col] > max) max = logits[col];
    }
    let sum = 0;
    for (let col = 0; col < c; col++) sum += logits[col] === -Infinity ? 0 : Math.exp(logits[col] - max);
    loss += Math.log(sum) + max - logits[target[i]];
    for (let col = 0; col < c; col++) {
      const p = logits[col] === -Infinity ? 0 : Math.exp(logits[col] - max) / sum;
      g[i * c + col] = (p - (col === target[i] ? 1 : 0)) / n;
    }
  }
  // Backward: dY = scale G D; dZ = (dY - Y (Y . dY)) / |Z|; dB = H^T dZ; dH = dZ B^T; dA = Q^T dH.
  ctx.gradA.fill(0);
  ctx.gradB.fill(0);
  const dz = new Float64Array(dims);
  const dh = new Float64Array(rank);
  for (let i = 0; i < n; i++) {
    dz.fill(0);
    for (let col = 0; col < c; col++) {
      const w = ctx.scale * g[i * c + col];
      if (w === 0) continue;
      const d = candidates[col] * dims;
      for (let k = 0; k < dims; k++) dz[k] += w * documents.data[d + k];
    }
    const inv = 1 / norms[i];
    let ydy = 0;
    for (let k = 0; k < dims; k++) ydy += z[i * dims + k] * inv * dz[k];
    for (let k = 0; k < dims; k++) dz[k] = (dz[k] - z[i * dims + k] * inv * ydy) * inv;
    for (let j = 0; j < rank; j++) {
      const hj = h[i * rank + j];
      let acc = 0;
      for (let k = 0; k < dims; k++) {
        ctx.gradB[j * dims + k] += hj * dz[k];
        acc += dz[k] * b[j * dims + k];
      }
      dh[j] = acc;
    }
    const qo = batch[i].query * dims;
    for (let k = 0; k < dims; k++) {
      const x = queries.data[qo + k];
      if (x === 0) continue;
      for (let j = 0; j < rank; j++) ctx.gradA[k * rank + j] += x * dh[j];
    }
  }
  return loss / n;
}
