/**
 * Validation for the pgvector store: the embedded store's rules (../document-input.ts, same messages
 * and codes) plus PostgreSQL's one extra limit: text, text[] and jsonb cannot hold the NUL character
 * (U+0000), so an id, text or metadata string containing it is rejected with INVALID_ARGUMENT before
 * anything is written (the embedded SQLite store accepts it).
 */
import {
  checkIds as checkAnyIds, invalid, prepareTextDocuments as prepareAnyTextDocuments, prepareVectorDocuments as prepareAnyVectorDocuments,
  type PreparedDocument, type StringRule,
} from '../document-input.ts';
import type { IndexMetric } from '../../index/vector-index.ts';
import type { DocumentInput, VectorDocumentInput } from '../collection.ts';

export {
  checkEmbeddings, checkEncoderMatches, identityOf, invalid, isEncoder, queryMatrix, searchK, type PreparedDocument,
} from '../document-input.ts';

const NUL = '\u0000';

/** PostgreSQL's rule for stored strings (ids, texts, metadata keys and strings; text queries too): no NUL character. */
export const noNul: StringRule = (s, where) => {
  if (s.includes(NUL)) throw invalid(`${where} contains a NUL character (U+0000), which PostgreSQL text and jsonb cannot store`);
};

export function checkIds(ids: unknown): string[] {
  return checkAnyIds(ids, noNul);
}

export function prepareTextDocuments(docs: readonly DocumentInput[]): PreparedDocument[] {
  return prepareAnyTextDocuments(docs, noNul);
}

export function prepareVectorDocuments(docs: readonly VectorDocumentInput[], dims: number, metric: IndexMetric): PreparedDocument[] {
  return prepareAnyVectorDocuments(docs, dims, metric, noNul);
}
