/** Assertions on BiencoderError codes, for throwing calls (expectCode) and rejecting ones (rejectsWith). */
import assert from 'node:assert/strict';
import { isBiencoderError, type ErrorCode } from '../../src/errors.ts';

/** Asserts that `e` is a BiencoderError with this code (and a message matching `message`, when given). */
function assertCode(e: unknown, code: string, message?: RegExp): true {
  assert.ok(isBiencoderError(e), `expected a BiencoderError ${code}, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (message) assert.match(e.message, message);
  return true;
}

/** Asserts that fn throws a BiencoderError with this code (and a message matching `message`, when given). */
export function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => assertCode(e, code, message));
}

/** Rejects with a BiencoderError of this code (and a message matching `message`, when given); p may be a function. */
export async function rejectsWith(p: Promise<unknown> | (() => unknown), code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(async () => (typeof p === 'function' ? p() : p), (e: unknown) => assertCode(e, code, message));
}
