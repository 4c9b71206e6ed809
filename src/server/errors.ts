/**
 * HTTP errors: every 4xx/5xx response of the server is JSON { code, message } (plus `details` when
 * known). Library errors keep their BiencoderError code; errors of the HTTP layer have codes of
 * their own (ServerErrorCode). Routes under /v1/ also carry OpenAI's shape, { error: { message,
 * type, code } }, so OpenAI clients report the message.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BiencoderError, type ErrorCode } from '../errors.ts';
import { discardBody } from './body-limit.ts';

/** Codes of errors that only the HTTP layer produces. */
export type ServerErrorCode =
  /** The body, path or query string does not match the route's schema, or is not valid JSON. */
  | 'INVALID_REQUEST'
  /** The Authorization header is missing, or its bearer key is wrong. */
  | 'UNAUTHORIZED'
  /** The body is larger than the server's body limit. */
  | 'PAYLOAD_TOO_LARGE'
  /** A path segment is longer than any name or id the server accepts, even percent-encoded (414). */
  | 'URI_TOO_LONG'
  /** The request line and headers exceed Node's limit (16 KiB by default) (431). */
  | 'HEADERS_TOO_LARGE'
  /** The client did not send its request in time (408). */
  | 'REQUEST_TIMEOUT'
  /** The body's Content-Type is not application/json. */
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** No route has this method and path. */
  | 'ROUTE_NOT_FOUND'
  /** The path exists, not with this method (405): /mcp is stateless and takes POST only. */
  | 'METHOD_NOT_ALLOWED'
  /** A feature whose optional peer dependency is not installed (501), e.g. /mcp without @modelcontextprotocol/sdk. */
  | 'NOT_IMPLEMENTED'
  /** An input this server does not take, such as token ids instead of text in /v1/embeddings. */
  | 'UNSUPPORTED_INPUT'
  /** The server is shutting down and takes no new requests. */
  | 'SHUTTING_DOWN'
  /** An unexpected failure (a bug): the message is logged, the response says little. */
  | 'INTERNAL';

export type HttpErrorCode = ErrorCode | ServerErrorCode;

/** An error with an HTTP status and a stable code, thrown by routes and hooks. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: HttpErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(statusCode: number, code: HttpErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.details = details;
  }
}

/** The HTTP status of each library error code (a code missing here, added to the library later, is 500). */
export const STATUS_OF_CODE: Readonly<Partial<Record<ErrorCode, number>>> = {
  INVALID_ARGUMENT: 400,
  EMPTY_INPUT: 400,
  DIMENSION_MISMATCH: 400,
  INVALID_VECTOR: 400,
  MODEL_NOT_FOUND: 404,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  COLLECTION_LOCKED: 423,
  READ_ONLY: 403,
  PERMISSION: 403,
  ENCODER_MISMATCH: 409,
  ENCODER_REQUIRED: 409,
  ABORTED: 499,
  CLOSED: 503,
  MODEL_INVALID: 500,
  DOWNLOAD_FAILED: 502,
  INFERENCE_FAILED: 500,
  INDEX_CORRUPT: 500,
  COLLECTION_CORRUPT: 500,
  UNSUPPORTED_FORMAT: 500,
  UNSUPPORTED: 400,
  STORE_FAILED: 503,
  INVALID_INPUT: 400,
};

/** What a 503 (a transient store failure, a closing server) tells clients to wait before trying again. */
export const RETRY_AFTER_SECONDS = 1;

export interface ErrorBody {
  code: HttpErrorCode;
  message: string;
  details?: Readonly<Record<string, unknown>>;
  /** OpenAI's error shape, on /v1/ routes. */
  error?: { message: string; type: string; code: string; param: string | null };
}

/** The status and JSON body of any error thrown while handling a request. */
export function errorResponse(error: unknown, openAiShape: boolean): { status: number; body: ErrorBody } {
  const { status, body } = classify(error);
  if (openAiShape) {
    const type = status === 401 ? 'authentication_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
    body.error = { message: body.message, type, code: body.code.toLowerCase(), param: null };
  }
  return { status, body };
}

function classify(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) {
    return { status: error.statusCode, body: withDetails({ code: error.code, message: error.message }, error.details) };
  }
  if (error instanceof BiencoderError) {
    // A store failure is 503 (try again later) only when it may pass: a transient one says so in its details.
    const status = error.code === 'STORE_FAILED' && error.details?.transient === false ? 500 : STATUS_OF_CODE[error.code] ?? 500;
    return { status, body: withDetails({ code: error.code, message: error.message }, error.details) };
  }
  const fe = error as Partial<FastifyError> & { validationContext?: string };
  if (fe !== null && typeof fe === 'object') {
    if (Array.isArray(fe.validation)) {
      return { status: 400, body: { code: 'INVALID_REQUEST', message: fe.message ?? 'the request does not match the schema' } };
    }
    switch (fe.code) {
      case 'FST_ERR_MAX_PARAM_LENGTH':
        return { status: 414, body: { code: 'URI_TOO_LONG', message: 'a path segment is longer than any collection name or document id (even percent-encoded)' } };
      case 'FST_ERR_BAD_URL':
        return { status: 400, body: { code: 'INVALID_REQUEST', message: 'the URL is not valid (a bad percent-encoding)' } };
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return { status: 413, body: { code: 'PAYLOAD_TOO_LARGE', message: fe.message ?? 'the request body is too large' } };
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return { status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE', message: `${fe.message ?? 'unsupported media type'} (send application/json)` } };
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return { status: 400, body: { code: 'INVALID_REQUEST', message: fe.message ?? 'the body is not valid JSON' } };
      default:
        break;
    }
    if (error instanceof SyntaxError) {
      return { status: 400, body: { code: 'INVALID_REQUEST', message: `the body is not valid JSON: ${error.message}` } };
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return { status: fe.statusCode, body: { code: 'INVALID_REQUEST', message: fe.message ?? 'bad request' } };
    }
  }
  return { status: 500, body: { code: 'INTERNAL', message: 'internal server error (see the server log)' } };
}

function withDetails(body: ErrorBody, details: Readonly<Record<string, unknown>> | undefined): ErrorBody {
  return details === undefined ? body : { ...body, details };
}

/**
 * The fastify error handler (and frameworkErrors: the router's 414 and bad URLs): logs server errors,
 * answers JSON. A body too large is read and discarded before the 413 (body-limit.ts): fastify refuses
 * it unread and closes the connection, and a client still sending would see a broken connection instead.
 */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<ErrorBody> {
  const { status, body } = errorResponse(error, request.url.startsWith('/v1/'));
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: body.code }, body.message);
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  if (status === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  void reply.code(status).type('application/json; charset=utf-8');
  if (status === 413) {
    void reply.header('connection', 'close');
    return discardBody(request.raw, request.routeOptions.bodyLimit).then(() => body);
  }
  return reply.send(body);
}

/**
 * Node's HTTP parser errors, before any request exists (fastify's clientErrorHandler): headers too
 * large, a timeout, a malformed request. Answered as JSON { code, message } like every other error.
 */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message]: [number, HttpErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE', "the request line and headers are larger than the server reads (Node's limit: 16 KiB by default)"]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT', 'the request was not received in time']
        : [400, 'INVALID_REQUEST', 'the request is not valid HTTP'];
  const body = JSON.stringify({ code, message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
