/**
 * Embedding routes:
 *   POST /embed           { texts, role?, model?, dimensions? } -> { model, dims, embeddings: number[][], truncated: number[] },
 *                         or Hugging Face TEI's { inputs, normalize?, prompt_name? } -> number[][] (the default model)
 *   GET  /info            TEI's model description (the default model)
 *   POST /v1/embeddings   OpenAI-compatible: { input: string | string[], model, encoding_format?, dimensions?, user? }
 *   GET  /v1/models       OpenAI-compatible list of the loaded models
 *
 * Model names: a request may name any model the server has loaded (by its id, as GET /v1/models
 * lists it) or "default" (the server's default model); /embed may also leave it out. Any other
 * name is 404 MODEL_NOT_FOUND: a server never loads a model because a request named it.
 */
import type { FastifyInstance } from 'fastify';
import { BiencoderError } from '../../errors.ts';
import type { Embeddings, Encoder, Role } from '../../encoders/encoder.ts';
import { clientSignal, type ServerContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { MAX_INPUTS_PER_REQUEST, embedBody, openAiEmbeddingsBody } from '../schemas.ts';
import { packageVersion } from '../../version.ts';
import { tokensRead } from '../../encoders/token-usage.ts';
import { truncateRows } from '../../encoders/truncated-encoder.ts';
import { matrixRows, matrixToArrays, normalizeRows } from '../../matrix.ts';

function modelFor(ctx: ServerContext, name: string | undefined): Encoder {
  const id = name === undefined || name === 'default' ? ctx.defaultModel : name;
  const encoder = ctx.encoders.loaded(id);
  if (encoder === undefined) {
    throw new BiencoderError('MODEL_NOT_FOUND', `model ${JSON.stringify(name)} is not served here; use "default" or one of: ${ctx.encoders.loadedIds().join(', ')}`, {
      details: { model: name, available: ctx.encoders.loadedIds() },
    });
  }
  return encoder;
}


function base64Of(v: Float32Array): string {
  // Little-endian f32 bytes, which is what OpenAI's base64 encoding holds (and what its clients decode).
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

interface EmbedRequest {
  texts: string[];
  role?: Role;
  model?: string;
  dimensions?: number;
}

interface TeiEmbedRequest {
  inputs: string | string[];
  normalize?: boolean;
  truncate?: boolean;
  prompt_name?: Role;
  dimensions?: number;
}

/**
 * Matryoshka `dimensions`: the first d of each vector, renormalized when the model normalizes (a model
 * trained with MatryoshkaLoss keeps most of its quality there; for others the shortened vectors are worse).
 */
function shortened(e: Embeddings, encoder: Encoder, d: number | undefined): Embeddings {
  if (d === undefined || d === e.dims) return e;
  if (d > e.dims) {
    throw new BiencoderError('INVALID_ARGUMENT', `dimensions ${d} is more than ${encoder.modelId} gives (${e.dims}); pass at most ${e.dims}`, { details: { param: 'dimensions', dims: e.dims } });
  }
  return { ...e, data: truncateRows(e.data, e.rows, e.dims, d, encoder.normalized), dims: d };
}


interface OpenAiRequest {
  input: string | (string | number | number[])[];
  model: string;
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
  role?: Role;
}

export function embeddingRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: EmbedRequest | TeiEmbedRequest }>('/embed', { schema: { body: embedBody } }, async (request, reply) => {
    const body = request.body;
    if ('inputs' in body) {
      // TEI's shape: the default model, number[][] back (texts longer than the model's maximum are truncated, as TEI's truncate: true).
      const encoder = modelFor(ctx, undefined);
      const texts = typeof body.inputs === 'string' ? [body.inputs] : body.inputs;
      const e = shortened(await encoder.encode(texts, { role: body.prompt_name ?? 'document', signal: clientSignal(request, reply) }), encoder, body.dimensions);
      if (body.normalize !== false && !encoder.normalized) normalizeRows(e);
      return matrixToArrays(e);
    }
    const encoder = modelFor(ctx, body.model);
    const e = shortened(await encoder.encode(body.texts, { role: body.role ?? 'document', signal: clientSignal(request, reply) }), encoder, body.dimensions);
    return { model: encoder.modelId, dims: e.dims, embeddings: matrixToArrays(e), truncated: e.truncatedIndices };
  });

  // TEI's GET /info, for clients that read it before embedding.
  app.get('/info', async () => {
    const encoder = modelFor(ctx, undefined);
    return {
      model_id: encoder.modelId,
      model_sha: encoder.revision ?? null,
      model_dtype: 'float32',
      model_type: { embedding: { dims: encoder.dims, normalized: encoder.normalized } },
      max_input_length: encoder.maxTokens,
      max_client_batch_size: MAX_INPUTS_PER_REQUEST,
      version: packageVersion(),
      ...(ctx.rerank === undefined ? {} : { reranker_id: ctx.rerank.reranker.modelId }),
    };
  });

  app.post<{ Body: OpenAiRequest }>('/v1/embeddings', { schema: { body: openAiEmbeddingsBody } }, async (request, reply) => {
    const body = request.body;
    const input = body.input;
    const texts: string[] = [];
    if (typeof input === 'string') texts.push(input);
    else {
      input.forEach((x, i) => {
        if (typeof x !== 'string') {
          throw new HttpError(400, 'UNSUPPORTED_INPUT', `input[${i}] is a token id${Array.isArray(x) ? ' array' : ''}: this server embeds text only (send strings; its models use their own tokenizers)`, { param: 'input', index: i });
        }
        texts.push(x);
      });
    }
    const encoder = modelFor(ctx, body.model);
    const e = shortened(await encoder.encode(texts, { role: body.role ?? 'document', signal: clientSignal(request, reply) }), encoder, body.dimensions);
    const base64 = body.encoding_format === 'base64';
    const tokens = tokensRead(encoder, texts);
    return {
      object: 'list',
      data: matrixRows(e).map((r, index) => ({ object: 'embedding', index, embedding: base64 ? base64Of(r) : Array.from(r) })),
      model: body.model === 'default' ? encoder.modelId : body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: ctx.encoders.loadedIds().map((id) => ({ object: 'model', id, created: 0, owned_by: 'biencoder', default: id === ctx.defaultModel })),
  }));
}
