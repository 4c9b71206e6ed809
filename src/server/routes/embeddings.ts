/**
 * Embedding routes:
 *   POST /embed           { texts, role?, model? } -> { model, dims, embeddings: number[][], truncated: number[] }
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
import { embedBody, openAiEmbeddingsBody } from '../schemas.ts';
import { tokensRead } from '../../encoders/token-usage.ts';

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

function rows(e: Embeddings): Float32Array[] {
  return Array.from({ length: e.rows }, (_, i) => e.data.subarray(i * e.dims, (i + 1) * e.dims));
}


function base64Of(v: Float32Array): string {
  // Little-endian f32 bytes, which is what OpenAI's base64 encoding holds (and what its clients decode).
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
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
  app.post<{ Body: { texts: string[]; role?: Role; model?: string } }>('/embed', { schema: { body: embedBody } }, async (request, reply) => {
    const encoder = modelFor(ctx, request.body.model);
    const e = await encoder.encode(request.body.texts, { role: request.body.role ?? 'document', signal: clientSignal(request, reply) });
    return { model: encoder.modelId, dims: e.dims, embeddings: rows(e).map((r) => Array.from(r)), truncated: e.truncatedIndices };
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
    if (body.dimensions !== undefined && body.dimensions !== encoder.dims) {
      throw new BiencoderError('INVALID_ARGUMENT', `dimensions ${body.dimensions} is not supported: ${encoder.modelId} gives ${encoder.dims}-d vectors and does not shorten them (omit dimensions or pass ${encoder.dims})`, {
        details: { param: 'dimensions', dims: encoder.dims },
      });
    }
    const e = await encoder.encode(texts, { role: body.role ?? 'document', signal: clientSignal(request, reply) });
    const base64 = body.encoding_format === 'base64';
    const tokens = tokensRead(encoder, texts);
    return {
      object: 'list',
      data: rows(e).map((r, index) => ({ object: 'embedding', index, embedding: base64 ? base64Of(r) : Array.from(r) })),
      model: body.model === 'default' ? encoder.modelId : body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: ctx.encoders.loadedIds().map((id) => ({ object: 'model', id, created: 0, owned_by: 'biencoder', default: id === ctx.defaultModel })),
  }));
}
