/**
 * JSON schemas of every request body and path (validated by fastify's Ajv before a handler runs;
 * unknown fields are rejected, types are never coerced). A request that does not match gets
 * 400 { code: 'INVALID_REQUEST', message } naming the field.
 */
import { MAX_DIMS, MAX_EF } from '../index/validate.ts';
import { ANALYZER_LANGUAGES } from '../analysis/index.ts';

/** Most documents in one upsert request. */
export const MAX_DOCUMENTS_PER_REQUEST = 10_000;
/** Most texts in one /embed or /v1/embeddings request (OpenAI's own limit). */
export const MAX_INPUTS_PER_REQUEST = 2048;
/** Most results per search. */
export const MAX_SEARCH_K = 1000;

// The limits of ids (length, reserved names), dims and ef are the library's, stated once
// (collection/document-input.ts, index/validate.ts): the schemas repeat none of them but ef and dims,
// by reference, so that a request beyond them is refused before any work.
const id = { type: 'string', minLength: 1 } as const;
const vector = { type: 'array', minItems: 1, maxItems: MAX_DIMS, items: { type: 'number' } } as const;
const metadata = { type: 'object' } as const;
const text = { type: 'string', minLength: 1 } as const;

export const collectionParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string' } },
} as const;

export const documentParams = {
  type: 'object',
  required: ['name', 'id'],
  properties: { name: { type: 'string' }, id: { type: 'string' } },
} as const;

export const createCollectionBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string' },
    model: { type: 'string', minLength: 1 },
    index: { type: 'object' },
    metric: { enum: ['cosine', 'dot', 'l2'] },
    language: { enum: [...ANALYZER_LANGUAGES] },
  },
} as const;

export const upsertBody = {
  type: 'object',
  additionalProperties: false,
  required: ['documents'],
  properties: {
    documents: {
      type: 'array',
      maxItems: MAX_DOCUMENTS_PER_REQUEST,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: { id, text: { type: 'string' }, vector, metadata },
      },
    },
  },
} as const;

export const deleteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['ids'],
  properties: {
    ids: { type: 'array', maxItems: MAX_DOCUMENTS_PER_REQUEST, items: id },
    /** Also delete the chunks (`id#n`) of each id. Default true. */
    chunks: { type: 'boolean' },
  },
} as const;

export const searchBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    query: { type: 'string', minLength: 1, maxLength: 100_000 },
    vector,
    k: { type: 'integer', minimum: 0, maximum: MAX_SEARCH_K },
    filter: { type: 'object' },
    ef: { type: 'integer', minimum: 1, maximum: MAX_EF },
    group: { enum: ['documents', 'chunks'] },
    /** Ranking of a text query: hybrid (default: BM25 fused with dense scores), dense or keyword. A vector query is dense. */
    mode: { enum: ['dense', 'keyword', 'hybrid'] },
    /** Add each hit's whole document (reassembled from its chunks) as `document`. */
    document: { type: 'boolean' },
    /** false: embed the query without the collection's query adapter (to compare). Default true. */
    adapter: { type: 'boolean' },
    /**
     * Rerank a text query's top candidates with the server's cross-encoder (serve --rerank): true, or
     * { top (candidates reranked), budgetMs (latency budget of the search; null: none) } over the server's defaults.
     */
    rerank: {
      anyOf: [
        { type: 'boolean' },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            top: { type: 'integer', minimum: 1, maximum: 10_000 },
            budgetMs: { anyOf: [{ type: 'number', exclusiveMinimum: 0 }, { type: 'null' }] },
          },
        },
      ],
    },
  },
} as const;

export const embedBody = {
  // One shape or the other, chosen by its key, so that a bad body gets the errors of its own shape.
  if: { type: 'object', required: ['inputs'] },
  then: {
    // Hugging Face TEI's POST /embed.
    type: 'object',
    additionalProperties: false,
    required: ['inputs'],
    properties: {
      inputs: { anyOf: [text, { type: 'array', minItems: 1, maxItems: MAX_INPUTS_PER_REQUEST, items: text }] },
      normalize: { type: 'boolean' },
      /** Accepted; inputs longer than the model's maximum are always truncated (TEI's truncate: true). */
      truncate: { type: 'boolean' },
      truncation_direction: { enum: ['Right', 'right'] },
      prompt_name: { enum: ['query', 'document'] },
      dimensions: { type: 'integer', minimum: 1 },
    },
  },
  else: {
    type: 'object',
    additionalProperties: false,
    required: ['texts'],
    properties: {
      texts: { type: 'array', minItems: 1, maxItems: MAX_INPUTS_PER_REQUEST, items: text },
      role: { enum: ['query', 'document'] },
      model: { type: 'string', minLength: 1 },
      dimensions: { type: 'integer', minimum: 1 },
    },
  },
} as const;

/** OpenAI's POST /v1/embeddings (token-id inputs pass the schema and are refused by the handler with a clear code). */
export const openAiEmbeddingsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['input', 'model'],
  properties: {
    input: {
      anyOf: [
        { type: 'string' },
        {
          type: 'array',
          minItems: 1,
          maxItems: MAX_INPUTS_PER_REQUEST,
          items: { anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'array', items: { type: 'integer' } }] },
        },
      ],
    },
    model: { type: 'string', minLength: 1 },
    encoding_format: { enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1 },
    user: { type: 'string' },
    /** An extension: which side of the bi-encoder the inputs are embedded for. Default 'document'. */
    role: { enum: ['query', 'document'] },
  },
} as const;

/** Documents of a rerank request: strings, or Jina's { text } objects. */
const rerankDocuments = {
  type: 'array',
  minItems: 1,
  maxItems: MAX_INPUTS_PER_REQUEST,
  items: { anyOf: [{ type: 'string' }, { type: 'object', required: ['text'], additionalProperties: true, properties: { text: { type: 'string' } } }] },
} as const;

/** POST /v1/rerank (Jina's shape) and POST /v2/rerank (Cohere v2's): one schema, the fields both take. */
export const rerankBody = {
  type: 'object',
  additionalProperties: false,
  required: ['query', 'documents'],
  properties: {
    model: { type: 'string', minLength: 1 },
    query: text,
    documents: rerankDocuments,
    top_n: { type: 'integer', minimum: 1 },
    return_documents: { type: 'boolean' },
    /** Cohere v2: accepted; documents are truncated at the cross-encoder's own maximum. */
    max_tokens_per_doc: { type: 'integer', minimum: 1 },
    priority: { type: 'integer' },
  },
} as const;

/** Hugging Face TEI's POST /rerank. */
export const teiRerankBody = {
  type: 'object',
  additionalProperties: false,
  required: ['query', 'texts'],
  properties: {
    query: text,
    texts: { type: 'array', minItems: 1, maxItems: MAX_INPUTS_PER_REQUEST, items: { type: 'string' } },
    raw_scores: { type: 'boolean' },
    return_text: { type: 'boolean' },
    truncate: { type: 'boolean' },
    truncation_direction: { enum: ['Right', 'right'] },
  },
} as const;
