import assert from 'node:assert/strict';
import { isBiencoderError } from '../../src/errors.ts';

/** Asserts that fn throws a BiencoderError with this code (and a message matching `message`, when given). */
export function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isBiencoderError(e), `expected a BiencoderError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}
