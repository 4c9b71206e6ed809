/**
 * Connections to PostgreSQL (a node-postgres Pool), transactions (retried when they lose a deadlock or
 * a serialization conflict to another writer), and the translation of failures into BiencoderErrors:
 * unreachable servers and failed statements are STORE_FAILED, carrying the server's message and
 * SQLSTATE; a BiencoderError passes through unchanged.
 */
import pg from 'pg';
import { BiencoderError } from '../../errors.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export const DEFAULT_POOL_SIZE = 4;

export function createPool(connectionString: string, poolSize: number = DEFAULT_POOL_SIZE): Pool {
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
    throw new BiencoderError('INVALID_ARGUMENT', `poolSize must be an integer in 1..1000, got ${String(poolSize)}`);
  }
  const pool = new pg.Pool({ connectionString, max: poolSize, connectionTimeoutMillis: 30_000 });
  // An idle client losing its server emits 'error' on the pool; without a listener that would end the
  // process. The next query on the pool reports the failure instead.
  pool.on('error', () => undefined);
  return pool;
}

/** The SQLSTATE of a PostgreSQL error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function storeError(error: unknown, what: string, where: string): BiencoderError {
  if (error instanceof BiencoderError) return error;
  const state = sqlState(error);
  const message = (error as Error)?.message ?? String(error);
  return new BiencoderError('STORE_FAILED', `${what} failed on ${where}: ${message}${state ? ` (SQLSTATE ${state})` : ''}`, {
    cause: error,
    details: { where, ...(state ? { sqlState: state } : {}) },
  });
}

/** Runs fn on one client inside BEGIN ... COMMIT (ROLLBACK on any error). */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw error;
    }
  } finally {
    client.release(broken);
  }
}

/**
 * SQLSTATEs of a transaction that lost to a concurrent one and may succeed when run again:
 * deadlock_detected (the server aborted one side of a lock cycle) and serialization_failure.
 */
const RETRYABLE_STATES = new Set(['40P01', '40001']);

/** Whether an error is a deadlock or serialization failure (a transaction worth running again). */
export function isRetryableConflict(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && RETRYABLE_STATES.has(state);
}

/** How a transaction that lost a conflict is run again. */
export interface RetryPolicy {
  /** Runs in all, the first included. */
  readonly attempts: number;
  /** The n-th retry waits a random time in [0, min(maxDelayMs, baseDelayMs x 2^(n-1))) ("full jitter"). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 25, maxDelayMs: 1000 };

/**
 * inTransaction, run again from the start (after its ROLLBACK) when it fails with a deadlock or a
 * serialization failure, at most policy.attempts times in all; the random waits between runs keep the
 * writers that collided from colliding again in step. Any other error, or the last conflict, is thrown.
 * `fn` must do nothing outside its transaction that a second run would repeat.
 */
export async function inRetriedTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(pool, fn);
    } catch (error) {
      if (!isRetryableConflict(error) || attempt >= policy.attempts) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
}

/** pgvector's version as [major, minor, patch] (e.g. '0.8.0' -> [0, 8, 0]). */
export function parseVersion(text: string): [number, number, number] {
  const [a = 0, b = 0, c = 0] = text.split('.').map((x) => Number.parseInt(x, 10) || 0);
  return [a, b, c];
}

export function versionAtLeast(v: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) if ((v[i] ?? 0) !== (min[i] ?? 0)) return (v[i] ?? 0) > (min[i] ?? 0);
  return true;
}
