/**
 * npm run bench:ingest — `biencoder index` of ONE large text file, at 100 kB, 1 MB and 20 MB (issue #15:
 * ingest must be linear in the input).
 *
 * The text is real: scifact abstracts as paragraphs ("title", blank line, abstract, blank line), in
 * corpus order, the corpus repeated when a size asks for more than its ~7.5 MB, cut at the size. So
 * chunk boundaries fall as in real documents (paragraphs, sentences of varied length).
 *
 * Every (variant, size) runs in a child process (this file with --child), so that its peak RSS
 * (process.resourceUsage().maxRSS) is its own. The child loads the encoder (not timed), then runs the
 * CLI's indexFiles() (read and validate the file, create the collection, chunk, embed, write, close)
 * into a fresh collection with progress off. Figures per run:
 * - seconds: indexFiles() end to end; ingest_seconds: its chunk + embed + write loop (indexDocuments);
 * - encoder_seconds: time inside the encoder's encode() calls (the ingest awaits them one at a time);
 * - per_mb_s: (ingest_seconds - encoder_seconds) / MB, the "encoder time apart" per-MB cost;
 * - chunks_per_s: chunks / ingest_seconds; rss_loaded_mb: RSS once the encoder is loaded;
 *   peak_rss_mb: the child's peak.
 * Variants (all with the CLI's defaults: chunks of the model's 128 tokens, batches of 32 documents or
 * 256 rows):
 * - use-lite: the embedded default (Universal Sentence Encoder lite, ONNX route, one worker per core),
 *   into the default index of a new collection (HNSW over int8 vectors + f32 rescoring, for a cosine model).
 * - precomputed: a BENCHMARK STAND-IN for the encoder: it counts tokens with USE lite's own tokenizer
 *   (so the chunks are the same) but returns, for each chunk, a vector derived from a hash of its text
 *   (512-d, unit norm, clustered like bench:collection's: see hashEmbeddings), as if the vectors had
 *   been computed beforehand: chunking + storage alone, into the default index.
 * - precomputed-flat: the same into an exact (flat) index: chunking + SQLite storage, without the
 *   HNSW graph, whose insert cost per vector grows with the graph (a 100 kB file makes a graph of
 *   ~280 vectors, 20 MB one of ~57,000).
 *
 * per_mb_ratio_20mb_vs_100kb (the acceptance figure, use-lite): per_mb_s at 20 MB / per_mb_s at
 * 100 kB; linear ingest keeps it near 1 (fixed costs make it lower), <= 1.5 is the bar. Also given for
 * the stand-ins and with the encoder included. The runs of at most 1 MB are repeated (--repeat, after
 * one warm-up run) and the median run (by ingest time) kept.
 * Options: --sizes (MB, default 0.1,1,20), --variants (precomputed-flat,precomputed,use-lite), --repeat (3),
 * --dir, --keep.
 * Human-readable lines, then one JSON object as the last stdout line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EncodeOptions, Embeddings, Encoder } from '../src/encoders/encoder.ts';
import { DelegatingEncoder } from '../src/encoders/delegating-encoder.ts';

const VARIANTS = ['precomputed-flat', 'precomputed', 'use-lite'] as const;
type Variant = (typeof VARIANTS)[number];

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '0.1,1,20' },
    variants: { type: 'string', default: VARIANTS.join(',') },
    repeat: { type: 'string', default: '3' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    child: { type: 'string' }, // internal: JSON {variant, file, runs, work}
  },
});

/** What one child measures for one (variant, size). */
interface RunFigures {
  readonly bytes: number;
  readonly chunks: number;
  readonly seconds: number;
  readonly ingest_seconds: number;
  readonly encoder_seconds: number;
  readonly per_mb_s: number;
  readonly per_mb_with_encoder_s: number;
  readonly chunks_per_s: number;
  readonly rss_loaded_mb: number;
  readonly peak_rss_mb: number;
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** Times the encoder's encode() calls; optionally replaces its vectors by hash-derived ones (the stand-in). */
class TimedEncoder extends DelegatingEncoder {
  encodeSeconds = 0;
  constructor(
    inner: Encoder,
    private readonly hashVectors: boolean,
  ) {
    super(inner);
  }
  override get modelId(): string {
    return this.hashVectors ? 'bench:hash-vectors' : this.inner.modelId;
  }
  override get revision(): string | undefined {
    return this.hashVectors ? undefined : this.inner.revision;
  }
  override async encode(texts: readonly string[], options?: EncodeOptions): Promise<Embeddings> {
    const t0 = performance.now();
    try {
      return this.hashVectors ? hashEmbeddings(texts, this.dims) : await this.inner.encode(texts, options);
    } finally {
      this.encodeSeconds += (performance.now() - t0) / 1000;
    }
  }
}

/** Centres of the stand-in's vectors: random unit vectors (seeded). */
const CENTRES = 1000;
let centres: Float32Array | undefined;

/** xorshift32 from a seed: uniform numbers in [0, 1). */
function uniform(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** A standard normal number (Box-Muller). */
function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/**
 * A deterministic unit vector per text, standing for vectors computed beforehand: a Gaussian mixture
 * as bench:collection uses (a centre picked by an FNV-1a hash of the text, plus N(0, 1/dims) noise
 * seeded by it, normalized), because uniformly random vectors have no structure, unlike embeddings,
 * and make HNSW inserts far slower than real vectors do.
 */
function hashEmbeddings(texts: readonly string[], dims: number): Embeddings {
  if (centres === undefined || centres.length !== CENTRES * dims) {
    const u = uniform(12345);
    centres = new Float32Array(CENTRES * dims);
    for (let c = 0; c < CENTRES; c++) {
      let norm = 0;
      for (let j = 0; j < dims; j++) norm += (centres[c * dims + j] = normal(u)) ** 2;
      for (let j = 0; j < dims; j++) centres[c * dims + j] /= Math.sqrt(norm);
    }
  }
  const data = new Float32Array(texts.length * dims);
  const scale = 1 / Math.sqrt(dims);
  texts.forEach((text, row) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    const u = uniform(h);
    const centre = Math.floor(u() * CENTRES) * dims;
    let norm = 0;
    for (let j = 0; j < dims; j++) norm += (data[row * dims + j] = centres![centre + j] + scale * normal(u)) ** 2;
    for (let j = 0; j < dims; j++) data[row * dims + j] /= Math.sqrt(norm);
  });
  return { data, rows: texts.length, dims, truncated: 0, truncatedIndices: [] };
}

/** Child: index `file` `runs` times into fresh collections; prints the median run's figures as JSON. */
async function child(spec: string): Promise<void> {
  const { variant, file, runs: runCount, work } = JSON.parse(spec) as { variant: Variant; file: string; runs: number; work: string };
  const { loadEncoder } = await import('../src/encoders/load-encoder.ts');
  const { indexFiles } = await import('../src/cli/commands/index.ts');
  const { resolveInputs } = await import('../src/ingest/input-files.ts');
  const useLite = await loadEncoder('use-lite');
  const encoder = new TimedEncoder(useLite, variant !== 'use-lite');
  // undefined: the collection's default index, as `biencoder index` without --index creates it.
  const index = variant === 'precomputed-flat' ? 'flat' : undefined;
  const rssLoaded = process.memoryUsage().rss;
  const { files } = await resolveInputs([file]);
  const bytes = readFileSync(file).length;
  const runs: Omit<RunFigures, 'peak_rss_mb' | 'rss_loaded_mb'>[] = [];
  // Repeated (small) runs start with a warm-up run, not counted: its JIT compilation would otherwise
  // be a fixed cost that flatters the small sizes' per-MB figure.
  for (let i = runCount > 1 ? -1 : 0; i < runCount; i++) {
    const dir = join(work, `collection-${variant}-${bytes}-${i}`);
    encoder.encodeSeconds = 0;
    const t0 = performance.now();
    const r = await indexFiles({ dir, files, progress: false, encoder, ...(index === undefined ? {} : { index }) });
    const seconds = (performance.now() - t0) / 1000;
    const mb = bytes / 1e6;
    runs.push({
      bytes,
      chunks: r.rows,
      seconds,
      ingest_seconds: r.seconds,
      encoder_seconds: encoder.encodeSeconds,
      per_mb_s: (r.seconds - encoder.encodeSeconds) / mb,
      per_mb_with_encoder_s: r.seconds / mb,
      chunks_per_s: r.rows / r.seconds,
    });
    rmSync(dir, { recursive: true, force: true });
    if (i < 0) runs.pop();
  }
  await encoder.close();
  runs.sort((a, b) => a.ingest_seconds - b.ingest_seconds);
  const median = runs[Math.floor(runs.length / 2)];
  const figures: RunFigures = { ...median, rss_loaded_mb: rssLoaded / 2 ** 20, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(figures));
}

/** Runs one child and returns its figures. */
function runChild(variant: Variant, file: string, runs: number, work: string): Promise<RunFigures> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', self, '--child', JSON.stringify({ variant, file, runs, work })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.on('error', reject);
    p.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`${variant} ${file}: the child exited ${code}: ${out}`));
      else resolve(JSON.parse(last) as RunFigures);
    });
  });
}

/** scifact abstracts as paragraphs, the corpus repeated as needed, cut to `bytes` (ASCII-safe cut: at a character). */
function scifactText(bytes: number): string {
  const corpus = new URL('../../shared/data/scifact/corpus.jsonl', import.meta.url);
  const paragraphs = readFileSync(corpus, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const d = JSON.parse(line) as { title: string; text: string };
      return `${d.title}\n\n${d.text}\n\n`;
    });
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i = (i + 1) % paragraphs.length) {
    parts.push(paragraphs[i]);
    size += Buffer.byteLength(paragraphs[i]);
  }
  const buffer = Buffer.from(parts.join('')).subarray(0, bytes);
  return new TextDecoder().decode(buffer).replace(/\uFFFD$/, ''); // a character cut in half at the end is dropped
}

async function main(): Promise<void> {
  const sizes = values.sizes.split(',').map(Number);
  const variants = values.variants.split(',') as Variant[];
  for (const v of variants) if (!VARIANTS.includes(v)) throw new Error(`--variants takes ${VARIANTS.join(', ')}, got ${v}`);
  if (sizes.some((s) => !(s > 0))) throw new Error(`--sizes takes MB figures, got ${values.sizes}`);
  const repeat = Number(values.repeat);
  const work = values.dir ?? mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  const loadBefore = loadavg()[0];
  console.log(`bench:ingest — one scifact text file of ${sizes.map((s) => `${s} MB`).join(', ')}; ${cpus().length} CPUs, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const files = sizes.map((mb) => {
    const file = join(work, `scifact-${mb}mb.txt`);
    writeFileSync(file, scifactText(Math.round(mb * 1e6)));
    return file;
  });
  const results: Record<string, Record<string, RunFigures>> = {};
  try {
    for (const variant of variants) {
      results[variant] = {};
      for (let i = 0; i < sizes.length; i++) {
        const runs = sizes[i] <= 1 ? repeat : 1;
        const f = await runChild(variant, files[i], runs, work);
        results[variant][`${sizes[i]}mb`] = f;
        console.log(
          `${variant.padEnd(11)} ${String(sizes[i]).padStart(4)} MB: ${f.chunks} chunks, ${f.seconds.toFixed(2)} s (ingest ${f.ingest_seconds.toFixed(2)} s, encoder ${f.encoder_seconds.toFixed(2)} s), ` +
            `${f.chunks_per_s.toFixed(0)} chunks/s, ${f.per_mb_s.toFixed(3)} s/MB without the encoder, peak RSS ${f.peak_rss_mb.toFixed(0)} MB (${f.rss_loaded_mb.toFixed(0)} MB once loaded)${runs > 1 ? `, median of ${runs}` : ''}`,
        );
      }
    }
  } finally {
    if (!values.keep && values.dir === undefined) rmSync(work, { recursive: true, force: true });
  }
  const small = `${Math.min(...sizes)}mb`;
  const large = `${Math.max(...sizes)}mb`;
  const ratio = (variant: Variant, key: 'per_mb_s' | 'per_mb_with_encoder_s'): number | null => {
    const r = results[variant];
    return r === undefined ? null : round(r[large][key] / r[small][key]);
  };
  const shaped = (variant: Variant): unknown =>
    results[variant] === undefined
      ? null
      : Object.fromEntries(
          Object.entries(results[variant]).map(([key, f]) => [
            key,
            { bytes: f.bytes, chunks: f.chunks, seconds: round(f.seconds, 2), ingest_seconds: round(f.ingest_seconds, 2), encoder_seconds: round(f.encoder_seconds, 2), chunks_per_s: Math.round(f.chunks_per_s), per_mb_s: round(f.per_mb_s), peak_rss_mb: Math.round(f.peak_rss_mb), rss_loaded_mb: Math.round(f.rss_loaded_mb) },
          ]),
        );
  const loadAfter = loadavg()[0];
  const summary = {
    text: 'scifact abstracts as paragraphs, one text file per size',
    sizes_mb: sizes,
    cpus: cpus().length,
    node: process.version,
    load_average_before: round(loadBefore, 2),
    load_average_after: round(loadAfter, 2),
    use_lite: shaped('use-lite'),
    precomputed_vectors_stand_in: shaped('precomputed'),
    precomputed_vectors_stand_in_flat_index: shaped('precomputed-flat'),
    per_mb_ratio_with_encoder_20mb_vs_100kb: ratio('use-lite', 'per_mb_with_encoder_s'),
    per_mb_ratio_precomputed_flat_20mb_vs_100kb: ratio('precomputed-flat', 'per_mb_s'),
    per_mb_ratio_precomputed_20mb_vs_100kb: ratio('precomputed', 'per_mb_s'),
    per_mb_ratio_20mb_vs_100kb: ratio('use-lite', 'per_mb_s'),
  };
  console.log(`per-MB time without the encoder, ${large} vs ${small}: ${summary.per_mb_ratio_20mb_vs_100kb ?? '-'} (use-lite), ${summary.per_mb_ratio_precomputed_20mb_vs_100kb ?? '-'} (precomputed-vector stand-in), ${summary.per_mb_ratio_precomputed_flat_20mb_vs_100kb ?? '-'} (stand-in, flat index: no graph to build); with the encoder: ${summary.per_mb_ratio_with_encoder_20mb_vs_100kb ?? '-'}`);
  console.log(JSON.stringify(summary));
}

if (values.child !== undefined) await child(values.child);
else await main();
