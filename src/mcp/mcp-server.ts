/**
 * The MCP door: an McpServer (the official SDK) whose tools call the retrieval pipeline and the stores.
 * `biencoder mcp` serves it over stdio; `biencoder serve` at /mcp over Streamable HTTP. Tools:
 *   list_collections, search (the pipeline: the collection's default ranking, optional rerank),
 *   add_documents (chunked as `biencoder index` chunks), delete_documents (with their chunks), and
 *   index_path (files or folders, only inside the directories named on the command line; symlinks are
 *   followed and must stay inside too).
 * Every tool has an input and an output schema; a refused call is a tool error whose text starts with
 * biencoder's error code (`NOT_FOUND: no collection named "x"`).
 */
import { realpath } from 'node:fs/promises';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { Collection } from '../collection/collection.ts';
import type { CollectionApi } from '../collection/collection-api.ts';
import type { MetadataFilter } from '../collection/filter.ts';
import { deleteDocuments } from '../chunking/whole-document.ts';
import { BiencoderError, isBiencoderError } from '../errors.ts';
import { readChunkSettings } from '../ingest/chunk-settings.ts';
import { indexDocuments, type IndexCounts, type IndexDocumentsOptions } from '../ingest/index-documents.ts';
import { resolveInputs } from '../ingest/input-files.ts';
import { readInputs } from '../ingest/read-documents.ts';
import { scanInputs } from '../ingest/scan-inputs.ts';
import type { SourceDocument } from '../ingest/source-document.ts';
import { Retriever } from '../retriever/retriever.ts';
import type { CrossEncoder } from '../rerank/cross-encoder.ts';
import { packageVersion } from '../version.ts';
import { inside, resolveIndexRoots } from './index-roots.ts';

/** Where the tools find collections: the server's CollectionRegistry has this shape. */
export interface McpCollections {
  names(): string[];
  get(name: string): Promise<CollectionApi>;
  /** Runs a write so that shutting down waits for it. */
  write<T>(fn: () => Promise<T>): Promise<T>;
}

export interface McpServerOptions {
  readonly collections: McpCollections;
  /** Directories index_path may read. None: index_path refuses every path. */
  readonly indexRoots?: readonly string[];
  /** A cross-encoder for searches with `rerank: true`: how many candidates it scores (default 50), its latency budget. */
  readonly rerank?: { readonly reranker: CrossEncoder; readonly candidates?: number; readonly budgetMs?: number };
}

const MAX_K = 100;
const jsonValue: z.ZodType<unknown> = z.unknown();
const metadata = z.record(z.string(), jsonValue);
const hit = z.object({
  id: z.string(),
  score: z.number(),
  text: z.string(),
  metadata,
  chunk: z.object({ id: z.string(), parent: z.string(), index: z.number(), start: z.number(), end: z.number() }).optional(),
  retrievalScore: z.number().optional(),
  rerankScore: z.number().nullable().optional(),
});
const counts = { documents: z.number(), inserted: z.number(), updated: z.number(), unchanged: z.number(), rowsWritten: z.number(), rowsDeleted: z.number(), embedded: z.number() };

/** A tool result: the structured value, and the same as JSON text for clients that read only text. */
function ok(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

/** Runs a tool body; biencoder errors become tool errors that start with their code. */
async function tool(fn: () => Promise<Record<string, unknown>>): Promise<CallToolResult> {
  try {
    return ok(await fn());
  } catch (error) {
    const text = isBiencoderError(error) ? `${error.code}: ${error.message}` : `INTERNAL: ${(error as Error).message}`;
    return { content: [{ type: 'text', text }], isError: true };
  }
}

/** The chunk settings `biencoder index` recorded for a directory collection (none for pgvector). */
function chunkOptions(c: CollectionApi): IndexDocumentsOptions {
  const settings = c instanceof Collection ? readChunkSettings(c.dir) : undefined;
  return settings ? { chunkTokens: settings.chunkTokens, chunkOverlap: settings.chunkOverlap } : {};
}

export async function createMcpServer(options: McpServerOptions): Promise<McpServer> {
  const { collections } = options;
  const roots = await resolveIndexRoots(options.indexRoots ?? []);
  const server = new McpServer({ name: 'biencoder', version: packageVersion() }, { instructions: 'Semantic and keyword search over biencoder collections. list_collections first; search returns documents placed by their best chunk.' });

  server.registerTool('list_collections', {
    title: 'List collections',
    description: 'The collections this server searches, with their document counts, models and search modes.',
    inputSchema: {},
    outputSchema: { collections: z.array(z.object({ name: z.string(), count: z.number().optional(), dims: z.number().optional(), model: z.string().optional(), searchModes: z.array(z.string()).optional(), readOnly: z.boolean().optional(), error: z.string().optional() })) },
    annotations: { readOnlyHint: true },
  }, () => tool(async () => ({
    // One collection that cannot be opened does not hide the others: it is listed with its error.
    collections: await Promise.all(collections.names().map(async (name) => {
      try {
        const c = await collections.get(name);
        return { name, count: await c.count(), dims: c.dims, model: c.manifest.encoder.modelId, searchModes: [...c.searchModes], readOnly: c.readOnly };
      } catch (error) {
        return { name, error: isBiencoderError(error) ? `${error.code}: ${error.message}` : String(error) };
      }
    })),
  })));

  server.registerTool('search', {
    title: 'Search a collection',
    description: 'Finds the documents most relevant to a query: the collection\'s default ranking (hybrid BM25 + dense where served), placed by their best chunk; the chunk text is returned.',
    inputSchema: {
      collection: z.string().describe('collection name (list_collections)'),
      query: z.string().min(1).describe('the question or keywords'),
      k: z.number().int().min(1).max(MAX_K).default(10).describe('how many results'),
      filter: metadata.optional().describe('metadata filter, e.g. {"lang": "en", "year": {"$gte": 2020}}'),
      mode: z.enum(['dense', 'keyword', 'hybrid']).optional().describe('ranking; default: the collection\'s'),
      rerank: z.boolean().optional().describe('rerank with the server\'s cross-encoder'),
      chunks: z.boolean().optional().describe('return chunks instead of documents'),
    },
    outputSchema: { hits: z.array(hit), mode: z.string(), reranked: z.boolean() },
    annotations: { readOnlyHint: true },
  }, (args) => tool(async () => {
    const c = await collections.get(args.collection);
    if (args.rerank === true && options.rerank === undefined) throw new BiencoderError('INVALID_ARGUMENT', 'rerank: this server has no cross-encoder (start it with --rerank MODEL)');
    const retriever = new Retriever({
      collection: c,
      ...(args.rerank === true ? { reranker: options.rerank!.reranker, candidates: options.rerank!.candidates ?? 50, ...(options.rerank!.budgetMs === undefined ? {} : { budgetMs: options.rerank!.budgetMs }) } : {}),
    });
    const result = await retriever.retrieve(args.query, {
      k: args.k,
      results: args.chunks === true ? 'chunks' : 'documents',
      ...(args.mode === undefined ? {} : { mode: args.mode }),
      ...(args.filter === undefined ? {} : { filter: args.filter as MetadataFilter }),
    });
    return {
      hits: result.hits.map((h) => ({
        id: h.id, score: h.score, text: h.text, metadata: h.metadata,
        ...(h.chunk ? { chunk: h.chunk } : {}),
        ...(result.reranked ? { retrievalScore: h.retrievalScore, rerankScore: h.rerankScore } : {}),
      })),
      mode: result.mode,
      reranked: result.reranked,
    };
  }));

  server.registerTool('add_documents', {
    title: 'Add or update documents',
    description: 'Adds documents (or replaces those with the same id), chunked and embedded as `biencoder index` does. Unchanged documents are not re-embedded.',
    inputSchema: {
      collection: z.string(),
      documents: z.array(z.object({ id: z.string().min(1), text: z.string(), metadata: metadata.optional() })).min(1).max(1000),
    },
    outputSchema: counts,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  }, (args) => tool(async () => {
    const c = await collections.get(args.collection);
    const docs: SourceDocument[] = args.documents.map((d, i) => ({ id: d.id, text: d.text, metadata: (d.metadata ?? {}) as SourceDocument['metadata'], origin: `documents[${i}]` }));
    const summary = await collections.write(() => indexDocuments(c, docs, chunkOptions(c)));
    return summaryOf(summary);
  }));

  server.registerTool('delete_documents', {
    title: 'Delete documents',
    description: 'Deletes documents by id, with their chunks. Unknown ids are ignored.',
    inputSchema: { collection: z.string(), ids: z.array(z.string().min(1)).min(1).max(10_000) },
    outputSchema: { deleted: z.number() },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  }, (args) => tool(async () => {
    const c = await collections.get(args.collection);
    return { deleted: await collections.write(() => deleteDocuments(c, args.ids)) };
  }));

  server.registerTool('index_path', {
    title: 'Index files',
    description: `Indexes a file or folder (.txt, .md, .jsonl, .json) into a collection, as \`biencoder index\` does. Only paths inside ${roots.length ? roots.join(', ') : '(no directory: this server indexes no paths)'}.`,
    inputSchema: { collection: z.string(), path: z.string().min(1).describe('a file or folder inside an allowed directory') },
    outputSchema: { files: z.number(), ...counts },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  }, (args) => tool(async () => {
    let real: string;
    try {
      real = await realpath(args.path);
    } catch {
      throw new BiencoderError('NOT_FOUND', `no such file or folder: ${args.path}`);
    }
    const refuse = (what: string): never => {
      throw new BiencoderError('PERMISSION', `${what} is outside the directories this server may index${roots.length ? ` (${roots.join(', ')})` : ' (none were given: start it with --index-root DIR)'}`);
    };
    const root = roots.find((r) => inside(r, real));
    if (root === undefined) refuse(args.path);
    // Ids relative to the index root (as `biencoder index --root`), so that files of two folders never share one.
    const { files } = await resolveInputs([real], { root });
    // A folder's files are checked too: a symlink inside it may point anywhere.
    for (const f of files) if (!roots.some((r) => inside(r, f.path))) refuse(f.display);
    // Read each file by the real path that was checked, not by a name that could be made a link meanwhile.
    const checked = await Promise.all(files.map(async (f) => {
      const r = await realpath(f.path);
      if (!roots.some((root) => inside(root, r))) refuse(`${f.display} (a link to ${r})`);
      return { ...f, path: r };
    }));
    const c = await collections.get(args.collection);
    await scanInputs(checked); // every input checked before anything is written
    const summary = await collections.write(() => indexDocuments(c, readInputs(checked), chunkOptions(c)));
    return { files: checked.length, ...summaryOf(summary) };
  }));

  return server;
}

function summaryOf(s: IndexCounts): Record<string, number> {
  return { documents: s.documents, inserted: s.inserted, updated: s.updated, unchanged: s.unchanged, rowsWritten: s.rowsWritten, rowsDeleted: s.rowsDeleted, embedded: s.embedded };
}
