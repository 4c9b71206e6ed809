/**
 * Optional bearer API key. When the server has a key, every request except the public ones (the
 * health check and the search page's static files, which hold no data) needs
 * `Authorization: Bearer KEY`. Keys are compared in constant time (on their SHA-256 digests, so
 * that neither the content nor the length of the key leaks through timing).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { BiencoderError } from '../errors.ts';
import { HttpError } from './errors.ts';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function checkApiKey(key: unknown): string | undefined {
  if (key === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  if (typeof key !== 'string' || key.length < 1 || key.length > 4096 || /[\s\u0000-\u001f\u007f]/.test(key)) {
    throw new BiencoderError('INVALID_ARGUMENT', 'apiKey must be a non-empty string of at most 4096 characters without whitespace or control characters');
  }
  return key;
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m === null ? undefined : m[1];
}

/** An onRequest check that throws UNAUTHORIZED (401) unless the request carries the key. */
export function apiKeyGuard(apiKey: string, isPublic: (request: FastifyRequest) => boolean): (request: FastifyRequest) => Promise<void> {
  const expected = digest(apiKey);
  return async (request) => {
    if (isPublic(request)) return;
    const header = request.headers.authorization;
    const token = bearerToken(header);
    if (token === undefined) {
      throw new HttpError(401, 'UNAUTHORIZED', header === undefined ? 'this server needs an API key: send Authorization: Bearer KEY' : 'the Authorization header must be "Bearer KEY"');
    }
    if (!timingSafeEqual(digest(token), expected)) throw new HttpError(401, 'UNAUTHORIZED', 'the API key is wrong');
  };
}
