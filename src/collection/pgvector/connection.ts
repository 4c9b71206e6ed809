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

/**
 * SQLSTATE classes of failures that may pass if the call is made again later: connection exceptions
 * (08), transaction rollbacks (40: deadlock and serialization failures that outlasted their retries),
 * insufficient resources (53), a lock not available (55P03), operator intervention (57: shutdown,
 * crash recovery, "cannot connect now") and system errors (58).
 */
function isTransientState(state: string): boolean {
  return ['08', '40', '53', '57', '58'].includes(state.slice(0, 2)) || state === '55P03';
}

/**
 * A PostgreSQL failure as a BiencoderError, by what a caller can do about it:
 * - refused for good: 25006 (a hot standby or read-only transaction) is READ_ONLY, 42501 (the role lacks
 *   the privilege) PERMISSION — retrying cannot help (HTTP 403);
 * - the input: 23505 (unique violation) is ALREADY_EXISTS (409), other integrity violations (23) and
 *   data exceptions (22) INVALID_INPUT (400);
 * - everything else is STORE_FAILED, with details.transient true when trying again later may succeed (no
 *   reply from the server, or a transient SQLSTATE class: HTTP 503 with Retry-After) and false otherwise (500).
 * The server's message and SQLSTATE are kept (details.sqlState).
 */
export function storeError(error: unknown, what: string, where: string): BiencoderError {
  if (error instanceof BiencoderError) return error;
  const state = sqlState(error);
  const message = (error as Error)?.message ?? String(error);
  const text = `${what} failed on ${where}: ${message}${state ? ` (SQLSTATE ${state})` : ''}`;
  const details = { where, ...(state ? { sqlState: state } : {}) };
  if (state === '25006') return new BiencoderError('READ_ONLY', `${text}: the server accepts no writes here (a hot standby or a read-only transaction)`, { cause: error, details });
  if (state === '42501') return new BiencoderError('PERMISSION', `${text}: the database role lacks the privilege`, { cause: error, details });
  if (state === '23505') return new BiencoderError('ALREADY_EXISTS', text, { cause: error, details });
  if (state !== undefined && (state.startsWith('23') || state.startsWith('22'))) return new BiencoderError('INVALID_INPUT', text, { cause: error, details });
  return new BiencoderError('STORE_FAILED', text, { cause: error, details: { ...details, transient: state === undefined || isTransientState(state) } });
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
