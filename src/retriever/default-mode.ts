import type { SearchMode } from '../collection/collection.ts';
import type { CollectionApi } from '../collection/collection-api.ts';

/**
 * How `search`, `serve` and `demo` rank a text query unless told otherwise: hybrid, BM25 fused with the
 * dense scores. Chosen by measurement (bench:quality, BENCHMARKS.md): with the embedded model, dense alone
 * is far behind BM25 on technical text, and the fusion tuned on scifact's train split is at or above both
 * sides on scifact, cranfield and cisi. The library's Collection.search stays dense by default.
 */
export const DEFAULT_TEXT_SEARCH_MODE: SearchMode = 'hybrid';

/** The default ranking of a text query on this collection: DEFAULT_TEXT_SEARCH_MODE where the store serves it, else dense. */
export function defaultTextSearchMode(collection: Pick<CollectionApi, 'searchModes'>): SearchMode {
  return collection.searchModes.includes(DEFAULT_TEXT_SEARCH_MODE) ? DEFAULT_TEXT_SEARCH_MODE : 'dense';
}
