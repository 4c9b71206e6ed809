/**
 * LangChain.js `BaseDocumentCompressor` over a biencoder cross-encoder: reorders retrieved documents by the
 * cross-encoder's score for the query and keeps the top `topN` (as LangChain's CohereRerank does), each with
 * `metadata.relevanceScore`. Use it in a ContextualCompressionRetriever.
 */
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { BaseDocumentCompressor } from '@langchain/core/retrievers/document_compressors';
import { BiencoderError } from '../../errors.ts';
import type { CrossEncoder } from '../../rerank/cross-encoder.ts';

export interface BiencoderRerankArgs {
  /** The loaded cross-encoder (loadCrossEncoder()); the caller closes it. */
  readonly reranker: CrossEncoder;
  /** Documents kept, best first. Default 3. */
  readonly topN?: number;
  /** For a model with several labels: the one that ranks. */
  readonly label?: number | string;
}

export class BiencoderRerank extends BaseDocumentCompressor {
  readonly reranker: CrossEncoder;
  readonly topN: number;
  readonly label: number | string | undefined;

  constructor(args: BiencoderRerankArgs) {
    super();
    if (args?.reranker === undefined || typeof args.reranker.rank !== 'function') throw new BiencoderError('INVALID_ARGUMENT', 'BiencoderRerank needs { reranker } (loadCrossEncoder())');
    const topN = args.topN ?? 3;
    if (!Number.isInteger(topN) || topN < 1) throw new BiencoderError('INVALID_ARGUMENT', `topN must be a positive integer, got ${String(topN)}`);
    this.reranker = args.reranker;
    this.topN = topN;
    this.label = args.label;
    this.reranker.labelIndex(args.label); // a bad label fails now, not at the first query
  }

  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    if (documents.length === 0) return [];
    const ranked = await this.reranker.rank(query, documents.map((d) => d.pageContent), { topK: this.topN, ...(this.label === undefined ? {} : { label: this.label }) });
    return ranked.map((r) => {
      const d = documents[r.index];
      return new Document({ ...(d.id === undefined ? {} : { id: d.id }), pageContent: d.pageContent, metadata: { ...d.metadata, relevanceScore: r.score } });
    });
  }
}
