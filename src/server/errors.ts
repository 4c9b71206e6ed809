/**
 * HTTP errors: every 4xx/5xx response of the server is JSON { code, message } (plus `details` when
 * known). Library errors keep their BiencoderError code; errors of the HTTP layer have codes of
 * their own (ServerErrorCode). Routes under /v1/ also carry OpenAI's shape, { error: { message,
 * type, code } }, so OpenAI clients report the message.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BiencoderError, type ErrorCode } from '../errors.ts';

/** Codes of errors that only the HTTP layer produces. */
export type ServerErrorCode =
  /** The body, path or query string does not match the route's schema, or is not valid JSON. */
  | 'INVALID_REQUEST'
  /** The Authorization header is missing, or its bearer key is wrong. */
  | 'UNAUTHORIZED'
  /** The body is larger than the server's body limit. */
  | 'PAYLOAD_TOO_LARGE'
  /** The body's Content-Type is not application/json. */
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** No route has this method and path. */
  | 'ROUTE_NOT_FOUND'
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
    const status = STATUS_OF_CODE[error.code] ?? 500;
    return { status, body: withDetails({ code: error.code, message: error.message }, error.details) };
  }
  const fe = error as Partial<FastifyError> & { validationContext?: string };
  if (fe !== null && typeof fe === 'object') {
    if (Array.isArray(fe.validation)) {
      return { status: 400, body: { code: 'INVALID_REQUEST', message: fe.message ?? 'the request does not match the schema' } };
    }
    switch (fe.code) {
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

/** The fastify error handler: logs server errors, answers JSON. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = errorResponse(error, request.url.startsWith('/v1/'));
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: body.code }, body.message);
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}
