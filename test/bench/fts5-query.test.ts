import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBiencoderError } from '../../src/errors.ts';
import { keywordMatchExpression, keywordTerms } from '../../bench/fts5-query.ts';

test('the FTS5 peer: user text becomes quoted OR-ed terms; operators are plain words', () => {
  assert.equal(keywordMatchExpression('heart AND attack'), '"heart" OR "attack"'); // "and" is a stopword
  assert.equal(keywordMatchExpression('NEAR(a b) "x" -y z*', { stopwords: 'none' }), '"near" OR "a" OR "b" OR "x" OR "y" OR "z"');
  assert.equal(keywordMatchExpression('the of and'), undefined);
  assert.equal(keywordMatchExpression('  ()*-"" '), undefined);
  assert.deepEqual(keywordTerms('The the THE heart', { stopwords: 'none' }), ['the', 'heart']);
  assert.deepEqual(keywordTerms('Crème brûlée'), ['crème', 'brûlée']);
  assert.throws(() => keywordTerms('x', { stopwords: 'french' as never }), (e) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});

