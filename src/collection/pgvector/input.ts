/**
 * The pgvector store's one extra input rule on top of the embedded store's (../document-input.ts, same
 * messages and codes): PostgreSQL text, text[] and jsonb cannot hold the NUL character (U+0000), so an id,
 * text or metadata string containing it is rejected with INVALID_ARGUMENT before anything is written (the
 * embedded SQLite store accepts it). The store passes `noNul` as the StringRule of document-input's checks.
 */
import { invalid, type StringRule } from '../document-input.ts';

const NUL = '\u0000';

/** PostgreSQL's rule for stored strings (ids, texts, metadata keys and strings; text queries too): no NUL character. */
export const noNul: StringRule = (s, where) => {
  if (s.includes(NUL)) throw invalid(`${where} contains a NUL character (U+0000), which PostgreSQL text and jsonb cannot store`);
};
