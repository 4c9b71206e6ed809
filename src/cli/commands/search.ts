import { Command, Option } from 'commander';
import { Collection, SEARCH_MODES, type SearchHit, type SearchMode } from '../../collection/collection.ts';
import { chunkMetadataOf, parentMetadata, searchDocuments, type DocumentHit } from '../../chunking/group-by-document.ts';
import type { MetadataFilter } from '../../collection/filter.ts';
import type { Encoder } from '../../encoders/encoder.ts';
import type { CollectionApi } from '../../collection/collection-api.ts';
import { isPostgresTarget, openCollection } from '../../collection/open-collection.ts';
import { BiencoderError } from '../../errors.ts';
import { collectionTarget } from './index.ts';
import { filterOption, integerOption } from '../cli-options.ts';
import { DEFAULT_TEXT_SEARCH_MODE, defaultTextSearchMode } from '../../retriever/default-mode.ts';
import { loadCollectionEncoder } from '../collection-encoder.ts';
import { modelFetchOptions, type ModelCliOptions } from '../model-options.ts';
import { checkRerankOptions, rerankOptions, retrieverFrom, type RerankCliOptions } from '../rerank-options.ts';
import type { RetrievalResult, Retriever } from '../../retriever/retriever.ts';
import { documentsInOrder, rerankScoresOf } from '../../retriever/retrieved-documents.ts';

interface SearchCliOptions extends Omit<ModelCliOptions, 'model'>, RerankCliOptions {
  collection?: string;
  store?: string;
  k: number;
  filter?: string;
  ef?: number;
  chunks?: boolean;
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

function chunkHits(hits: readonly SearchHit[]): CliHit[] {
  return hits.map((h, i) => {
    const c = chunkMetadataOf(h.metadata);
    return {
      rank: i + 1,
      id: h.id,
      score: h.score,
      text: h.text,
      metadata: parentMetadata(h.metadata),
      ...(c ? { chunk: { id: h.id, index: c.index, start: c.start, end: c.end }, parent: c.parent } : {}),
    };
  });
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

/** Runs a search on an open collection: documents by best chunk (default) or raw chunks. */
export async function searchCollection(collection: CollectionApi, query: string, options: { k: number; filter?: MetadataFilter; ef?: number; chunks?: boolean; mode?: SearchMode }): Promise<CliHit[]> {
  const search = { k: options.k, mode: options.mode ?? defaultTextSearchMode(collection), ...(options.filter ? { filter: options.filter } : {}), ...(options.ef ? { ef: options.ef } : {}) };
  if (options.chunks) return chunkHits(await collection.search(query, search));
  const docs = await searchDocuments(collection, query, search);
  return docs.map((d, i) => ({ rank: i + 1, ...d }));
}

/** A --rerank search: the hits (documents by their best chunk after reranking, or chunks) and what the retriever measured. */
export interface RerankedSearchResult {
  readonly hits: CliHit[];
  readonly retrieval: Omit<RetrievalResult, 'hits'>;
}

/**
 * Runs a search through a reranking Retriever: the first stage (in the retriever's mode) returns the top
 * max(k, candidates) chunks, the cross-encoder reranks the top candidates, and the chunks come back in that
 * order, or grouped by document (each document placed by its best chunk in the reranked order).
 */
export async function rerankedSearch(retriever: Retriever, query: string, options: { k: number; filter?: MetadataFilter; ef?: number; chunks?: boolean }): Promise<RerankedSearchResult> {
  // Documents: every candidate comes back, so that grouping sees the whole reranked list.
  const k = options.chunks ? options.k : Math.max(options.k, retriever.candidates);
  const { hits, ...retrieval } = await retriever.search(query, { k, ...(options.filter ? { filter: options.filter } : {}), ...(options.ef ? { ef: options.ef } : {}) });
  if (options.chunks) return { hits: chunkHits(hits).map((h, i) => ({ ...h, ...rerankScoresOf(hits[i]) })), retrieval };
  // Reranked and not-reranked hits score on different scales: the final order, not the score, picks each document's best chunk.
  const docs = documentsInOrder(hits, options.k).map(({ retrievalRank: _rank, ...d }, i) => ({ rank: i + 1, ...d }));
  return { hits: docs, retrieval };
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
    .option('--store <url>', 'a pgvector collection: postgres://user:pw@host/db?collection=NAME (this or --collection; dense search only)')
    .option('-k, --k <n>', 'number of results', integerOption(1), 10)
    .option('--filter <json>', 'only documents whose metadata match, e.g. \'{"lang": "en", "year": {"$gte": 2020}}\' ($eq $ne $in $nin $gt $gte $lt $lte $exists $and $or)')
    .option('--ef <n>', 'HNSW search breadth (efSearch) for this query: higher is slower and more exact', integerOption(1))
    .option('--chunks', 'return chunks, not documents')
    .addOption(new Option('--mode <mode>', `hybrid: BM25 fused with dense scores; dense: vectors only; keyword: BM25 only (default: ${DEFAULT_TEXT_SEARCH_MODE} for --collection, dense for --store, which supports only dense)`).choices([...SEARCH_MODES]))
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
      if (isPostgresTarget(target) && opts.rerank !== undefined) throw new BiencoderError('UNSUPPORTED', '--rerank works on --collection directories only, not yet on --store');
      ({ encoder } = await loadCollectionEncoder(target, opts));
      collection = await openCollection(target, { encoder, readOnly: true });
      // A store without keyword search (pgvector) defaults to dense; asking it for keyword or hybrid is UNSUPPORTED.
      const mode: SearchMode = opts.mode ?? defaultTextSearchMode(collection);
      if (opts.rerank === undefined) {
        const hits = await searchCollection(collection, query, { k: opts.k, filter, ef: opts.ef, chunks: opts.chunks, mode });
        if (opts.json) process.stdout.write(JSON.stringify({ query, k: opts.k, hits }, null, 2) + '\n');
        else process.stdout.write(formatHits(hits, opts.snippet));
        return;
      }
      if (!(collection instanceof Collection)) throw new BiencoderError('UNSUPPORTED', '--rerank works on --collection directories only');
      const { retriever, reranker, close } = await retrieverFrom(collection, opts, { mode });
      try {
        const { hits, retrieval } = await rerankedSearch(retriever, query, { k: opts.k, filter, ef: opts.ef, chunks: opts.chunks });
        const t = retrieval.timings;
        process.stderr.write(
          `reranked ${retrieval.reranked} of ${retrieval.candidates} ${retrieval.mode} candidates with ${reranker!.modelId}` +
            `${retrieval.budgetMs === null ? '' : ` (budget ${retrieval.budgetMs} ms)`}: ` +
            `embed ${ms(t.embedMs)} ms, search ${ms(t.searchMs)} ms, rerank ${ms(t.rerankMs)} ms, total ${ms(t.totalMs)} ms\n`,
        );
        if (opts.json) {
          const rerank = { model: reranker!.modelId, mode: retrieval.mode, top: retriever.candidates, candidates: retrieval.candidates, reranked: retrieval.reranked, budgetMs: retrieval.budgetMs, timings: t };
          process.stdout.write(JSON.stringify({ query, k: opts.k, rerank, hits }, null, 2) + '\n');
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
