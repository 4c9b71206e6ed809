/**
 * A request body over the limit is answered 413 once it has been read and thrown away, up to a cap.
 * fastify refuses such a body on its Content-Length before reading any of it; a server that answers
 * and closes the connection while the client is still sending makes the client's next writes fail
 * (EPIPE, or a reset that discards the answer), so many clients (Node's fetch: "fetch failed") report
 * a broken connection instead of the 413. Reading the rest costs bandwidth only: nothing is kept.
 * The cap counts bytes beyond the body limit (the server reads that much of any body anyway), so it
 * holds whatever --body-limit is. Beyond the cap, or when the client stops sending, the 413 goes at
 * once and the connection is closed.
 */
import type { IncomingMessage } from 'node:http';

/** Most bytes beyond the body limit read and discarded before the 413 (more than that: answered at once). */
export const MAX_DISCARDED_BODY = 64 * 1024 * 1024;
/** Longest wait for the rest of an over-limit body (a client that stalls gets its 413 then). */
export const DISCARD_TIMEOUT_MS = 10_000;

/**
 * Whether `bytes` of an over-limit body (its Content-Length, or what has been read of it) are more than
 * is read before the 413 under a body limit of `bodyLimit`: more than `cap` beyond the limit.
 */
export function pastDiscardCap(bytes: number, bodyLimit: number, cap = MAX_DISCARDED_BODY): boolean {
  return bytes - bodyLimit > cap;
}

export interface DiscardOptions {
  /** Most bytes beyond the body limit to read (default MAX_DISCARDED_BODY). */
  readonly cap?: number;
  /** Longest wait for the rest of the body (default DISCARD_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/**
 * Reads and discards what is left of a body over `bodyLimit` (resolves at its end, past the cap, or
 * after the timeout; never rejects). A body declared past the cap is not read at all.
 */
export function discardBody(raw: IncomingMessage, bodyLimit: number, { cap = MAX_DISCARDED_BODY, timeoutMs = DISCARD_TIMEOUT_MS }: DiscardOptions = {}): Promise<void> {
  if (raw.complete || raw.readableEnded || raw.destroyed) return Promise.resolve();
  const declared = Number(raw.headers['content-length']);
  if (Number.isFinite(declared) && pastDiscardCap(declared, bodyLimit, cap)) return Promise.resolve();
  return new Promise((resolve) => {
    let read = 0;
    const done = (): void => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', done);
      raw.off('error', done);
      raw.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer | string): void => {
      read += chunk.length;
      if (pastDiscardCap(read, bodyLimit, cap)) done();
    };
    const timer = setTimeout(done, timeoutMs);
    raw.on('data', onData);
    raw.on('end', done);
    raw.on('error', done);
    raw.on('close', done);
    raw.resume();
  });
}
