import { chunkMetadataOf, documentHitOf, type DocumentHit } from '../chunking/group-by-document.ts';
import { BiencoderError } from '../errors.ts';
import type { RetrievedHit } from './retriever.ts';

/** A document found through its best-placed chunk in a Retriever's final order. */
export interface RetrievedDocument extends DocumentHit {
  /** The score that placed the chunk: its rerank score when reranked, else its retrieval score. */
  readonly score: number;
  readonly retrievalScore: number;
  readonly rerankScore: number | null;
  readonly retrievalRank: number;
}

/**
 * Groups a Retriever's hits (chunks, in its final order) by their parent document: each document takes
 * the place and the scores of its first chunk in that order. Unlike groupByDocument, this goes by order,
 * not by score: reranked hits come first with cross-encoder scores, then the others with retrieval
 * scores, which are on another scale. At most k documents.
 */
export function documentsInOrder(hits: readonly RetrievedHit[], k: number): RetrievedDocument[] {
  if (!Array.isArray(hits)) throw new BiencoderError('INVALID_ARGUMENT', 'documentsInOrder expects an array of retrieved hits');
  if (!Number.isInteger(k) || k < 0) throw new BiencoderError('INVALID_ARGUMENT', `k must be a non-negative integer, got ${String(k)}`);
  const docs: RetrievedDocument[] = [];
  const seen = new Set<string>();
  for (const h of hits) {
    if (docs.length >= k) break;
    const chunk = chunkMetadataOf(h.metadata);
    const id = chunk?.parent ?? h.id;
    if (seen.has(id)) continue;
    seen.add(id);
    docs.push({
      ...documentHitOf(h, chunk),
      retrievalScore: h.retrievalScore,
      rerankScore: h.rerankScore,
      retrievalRank: h.retrievalRank,
    });
  }
  return docs;
}

/** A retrieved hit's two scores (its rerank score is null when the cross-encoder did not score it). */
export function rerankScoresOf(hit: Pick<RetrievedHit, 'retrievalScore' | 'rerankScore'>): { retrievalScore: number; rerankScore: number | null } {
  return { retrievalScore: hit.retrievalScore, rerankScore: hit.rerankScore };
}
