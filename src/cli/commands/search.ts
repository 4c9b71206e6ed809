import { Command, Option } from 'commander';
import { SEARCH_MODES, type SearchMode } from '../../collection/collection.ts';
import { parentMetadata, type DocumentHit } from '../../chunking/group-by-document.ts';
import type { MetadataFilter } from '../../collection/filter.ts';
import type { Encoder } from '../../encoders/encoder.ts';
import type { CollectionApi } from '../../collection/collection-api.ts';
import { openCollection } from '../../collection/open-collection.ts';
import { collectionTarget } from './index.ts';
import { filterOption, integerOption } from '../cli-options.ts';
import { DEFAULT_TEXT_SEARCH_MODE } from '../../retriever/default-mode.ts';
import { loadCollectionEncoder } from '../collection-encoder.ts';
import { modelFetchOptions, type ModelCliOptions } from '../model-options.ts';
import { checkRerankOptions, rerankOptions, retrieverFrom, type RerankCliOptions } from '../rerank-options.ts';
import type { PipelineHit, PipelineResult, Retriever } from '../../retriever/retriever.ts';

interface SearchCliOptions extends Omit<ModelCliOptions, 'model'>, RerankCliOptions {
  collection?: string;
  store?: string;
  k: number;
  filter?: string;
  ef?: number;
  chunks?: boolean;
  /** false with --no-adapter. */
  adapter?: boolean;
  mode?: SearchMode;
  json?: boolean;
  snippet: number;
}

/** One search result as the CLI prints it: a document by its best chunk, or one chunk (--chunks). */
export interface CliHit {
  readonly rank: number;
  readonly id: string;
  readonly score: number;
  readonly text: string;
  readonly metadata: DocumentHit['metadata'];
  /** The chunk that matched (chunked documents). */
  readonly chunk?: { readonly id: string; readonly index: number; readonly start: number; readonly end: number };
  /** The document a chunk belongs to (--chunks). */
  readonly parent?: string;
  /** With --rerank: the first stage's score (dense, BM25 or fused). */
  readonly retrievalScore?: number;
  /** With --rerank: the cross-encoder's score, or null for a hit it did not score (budget, no text, beyond --rerank-top). */
  readonly rerankScore?: number | null;
}

/** A pipeline hit as the CLI prints it (with the two scores when the search reranked). */
export function cliHit(h: PipelineHit, i: number, results: 'documents' | 'chunks', reranked: boolean): CliHit {
  const chunk = h.chunk ? { id: h.chunk.id, index: h.chunk.index, start: h.chunk.start, end: h.chunk.end } : undefined;
  return {
    rank: i + 1,
    id: h.id,
    score: h.score,
    text: h.text,
    metadata: results === 'chunks' ? parentMetadata(h.metadata) : h.metadata,
    ...(chunk ? { chunk } : {}),
    ...(chunk && results === 'chunks' ? { parent: h.chunk!.parent } : {}),
    ...(reranked ? { retrievalScore: h.retrievalScore, rerankScore: h.rerankScore } : {}),
  };
}

/** A one-line excerpt: whitespace collapsed, cut at a word boundary near `width` characters. */
export function snippet(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= width) return flat;
  const cut = flat.slice(0, width);
  const space = cut.lastIndexOf(' ');
  return `${space > width * 0.6 ? cut.slice(0, space) : cut}…`;
}

/** Human-readable results: rank, score, id (and where the best chunk lies), then a snippet. */
export function formatHits(hits: readonly CliHit[], width: number): string {
  if (hits.length === 0) return 'no results\n';
  let out = '';
  for (const h of hits) {
    const title = typeof h.metadata.title === 'string' && h.metadata.title !== '' ? `  ${h.metadata.title}` : '';
    const where = h.chunk ? `  [${h.parent ? `of ${h.parent}, ` : ''}chunk ${h.chunk.index}, chars ${h.chunk.start}-${h.chunk.end}]` : '';
    const scores = h.rerankScore === undefined ? '' : `  (${h.rerankScore === null ? 'not reranked' : 'reranked'}; retrieval ${h.retrievalScore?.toFixed(4) ?? '-'})`;
    out += `${String(h.rank).padStart(3)}. ${h.score.toFixed(4)}  ${h.id}${title}${where}${scores}\n`;
    // A BEIR document's text starts with its title, already shown on the first line.
    const body = title !== '' && h.text.startsWith(`${h.metadata.title as string}\n\n`) ? h.text.slice((h.metadata.title as string).length + 2) : h.text;
    out += `     ${snippet(body, width)}\n`;
  }
  return out;
}

/** Runs a search through the retrieval pipeline: documents by best chunk (default) or chunks, reranked when the retriever has a reranker. */
export async function searchWith(retriever: Retriever, query: string, options: { k: number; filter?: MetadataFilter; ef?: number; chunks?: boolean; adapter?: boolean }): Promise<{ hits: CliHit[]; result: PipelineResult }> {
  const results = options.chunks ? 'chunks' : 'documents';
  const result = await retriever.retrieve(query, {
    k: options.k, results, ...(options.filter ? { filter: options.filter } : {}), ...(options.ef ? { ef: options.ef } : {}), ...(options.adapter === false ? { adapter: false } : {}),
  });
  return { hits: result.hits.map((h, i) => cliHit(h, i, results, result.reranked)), result };
}

function ms(x: number): string {
  return x < 10 ? x.toFixed(1) : x.toFixed(0);
}

export function searchCommand(): Command {
  const cmd = new Command('search')
    .description('Search a collection with a text query: documents scored by their best chunk (or chunks, with --chunks).')
    .addHelpText(
      'after',
      `
Scores: higher is better. dense: the index similarity (cosine, dot or negated L2); keyword: the BM25
score; hybrid (the default): the fused score of both. With --rerank, the --rerank-top first hits (in
--mode) are rescored by the cross-encoder: a hit's score is its rerank score (JSON: "retrievalScore" and
"rerankScore" too), and the stage timings go to stderr.

Examples:
  biencoder search "how do I reset my password" --collection ./kb
  biencoder search "vitamin D" --collection ./kb -k 3 --filter '{"year": {"$gte": 2020}}' --json
  biencoder search "vitamin D" --collection ./kb --rerank cross-encoder/ms-marco-MiniLM-L6-v2 --rerank-top 50
  biencoder search "vitamin D" --store 'postgres://app:secret@db:5432/search?collection=papers'`,
    )
    .argument('<query>', 'the query text')
    .option('--collection <dir>', 'the collection directory (this or --store)')
    .option('--store <url>', 'a pgvector collection: postgres://user:pw@host/db?collection=NAME (this or --collection)')
    .option('-k, --k <n>', 'number of results', integerOption(1), 10)
    .option('--filter <json>', 'only documents whose metadata match, e.g. \'{"lang": "en", "year": {"$gte": 2020}}\' ($eq $ne $in $nin $gt $gte $lt $lte $exists $and $or)')
    .option('--ef <n>', 'HNSW search breadth (efSearch) for this query: higher is slower and more exact', integerOption(1))
    .option('--chunks', 'return chunks, not documents')
    .option('--no-adapter', "embed the query without the collection's query adapter (biencoder tune), to compare")
    .addOption(new Option('--mode <mode>', `hybrid: BM25 fused with dense scores; dense: vectors only; keyword: BM25 only (default: ${DEFAULT_TEXT_SEARCH_MODE})`).choices([...SEARCH_MODES]))
    .option('--snippet <chars>', 'snippet width in the human output', integerOption(20), 160)
    .option('--json', 'print JSON: {"query", "k", "rerank"?, "hits": [{"rank", "id", "score", "text", "metadata", "chunk"?, "retrievalScore"?, "rerankScore"?}]}');
  modelFetchOptions(cmd, "ONNX weights variant (the one the collection's model was indexed with)");
  rerankOptions(cmd);
  return cmd.action(async (query: string, opts: SearchCliOptions, command: Command) => {
    checkRerankOptions(command, opts);
    const filter = filterOption(command, opts.filter);
    let encoder: Encoder | undefined;
    const target = collectionTarget(opts, command);
    let collection: CollectionApi | undefined;
    try {
      ({ encoder } = await loadCollectionEncoder(target, opts));
      collection = await openCollection(target, { encoder, readOnly: true });
      // Without --mode: the collection's default ranking (hybrid; dense on a store without keyword search).
      const { retriever, reranker, close } = await retrieverFrom(collection, opts, opts.mode ? { mode: opts.mode } : {});
      try {
        const { hits, result } = await searchWith(retriever, query, { k: opts.k, filter, ef: opts.ef, chunks: opts.chunks, adapter: opts.adapter });
        const t = result.timings;
        if (result.reranked) {
          process.stderr.write(
            `reranked ${result.rerankedCount} of ${result.candidates} ${result.mode} candidates with ${reranker!.modelId}` +
              `${result.budgetMs === null ? '' : ` (budget ${result.budgetMs} ms)`}: ` +
              `embed ${ms(t.embedMs)} ms, search ${ms(t.searchMs)} ms, rerank ${ms(t.rerankMs)} ms, total ${ms(t.totalMs)} ms\n`,
          );
        }
        if (opts.json) {
          const rerank = result.reranked
            ? { model: reranker!.modelId, mode: result.mode, top: result.rerankTop, candidates: result.candidates, reranked: result.rerankedCount, budgetMs: result.budgetMs, timings: t }
            : undefined;
          process.stdout.write(JSON.stringify({ query, k: opts.k, ...(rerank ? { rerank } : {}), hits }, null, 2) + '\n');
        } else {
          process.stdout.write(formatHits(hits, opts.snippet));
        }
      } finally {
        await close();
      }
    } finally {
      await collection?.close();
      await encoder?.close();
    }
  });
}
