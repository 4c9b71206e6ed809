/**
 * Bringing a collection's keyword index (src/keyword) in line with the stored texts, as
 * index-sync.ts does for the vector index: the postings are saved beside the vector index file of
 * the same checkpoint (index-SEQ.bin.postings, one of its companions), loaded on open and caught up
 * with the texts written and the documents deleted after that checkpoint; missing, damaged or made
 * by another analyzer, they are rebuilt from the texts.
 */
import { join } from 'node:path';
import type { Analyzer } from '../analysis/index.ts';
import { DEFAULT_BM25 } from '../keyword/bm25.ts';
import { InvertedIndex } from '../keyword/inverted-index.ts';
import { loadPostings, savePostings, type LoadedPostings } from '../keyword/postings-file.ts';
import { listIndexFiles } from './index-sync.ts';
import type { Statements } from './store.ts';

/** The postings file of the index file saved as `indexName`. */
export function postingsFileName(indexName: string): string {
  return `${indexName}.postings`;
}

/** Texts added to the index per add() call while rebuilding or replaying. */
const BATCH = 2048;

function addTexts(index: InvertedIndex, rows: Iterable<{ key: number; text: string }>): number {
  let batch: { key: number; text: string }[] = [];
  let total = 0;
  for (const row of rows) {
    batch.push(row);
    if (batch.length === BATCH) {
      index.add(batch);
      total += batch.length;
      batch = [];
    }
  }
  index.add(batch);
  return total + batch.length;
}

/** Applies the deletions and text changes committed after `fromSeq` (idempotent, like replayChanges). */
export function replayKeywordChanges(index: InvertedIndex, st: Statements, fromSeq: number): number {
  const removed = st.tombstonesSince.all(fromSeq);
  if (removed.length > 0) index.remove(removed.map((r) => r.key));
  return removed.length + addTexts(index, st.textsChangedSince.iterate(fromSeq));
}

export interface KeywordOpen {
  readonly index: InvertedIndex;
  readonly action: 'loaded' | 'caught-up' | 'rebuilt';
  readonly replayed: number;
  readonly reason?: string;
}

/**
 * The keyword index for checkpoint `indexSeq`: loaded from the postings file of the vector index
 * file `indexName` (when there is one) and caught up, or rebuilt from every stored text.
 */
export function openKeywordIndex(dir: string, indexName: string | undefined, analyzer: Analyzer, st: Statements, indexSeq: number): KeywordOpen {
  let reason: string | undefined;
  if (indexName !== undefined) {
    const load = (name: string): LoadedPostings => loadPostings(join(dir, postingsFileName(name)), analyzer, DEFAULT_BM25);
    let loaded = load(indexName);
    if (loaded.index === undefined) {
      // A writer may have replaced the checkpoint since the vector file was read: any later checkpoint's
      // postings replay to the current state too (as loadSavedIndex does for the vector index).
      for (const f of listIndexFiles(dir)) {
        if (f.seq < indexSeq || f.name === indexName) continue;
        const next = load(f.name);
        if (next.index !== undefined) {
          loaded = next;
          break;
        }
      }
    }
    if (loaded.index !== undefined) {
      const replayed = replayKeywordChanges(loaded.index, st, indexSeq);
      const count = st.count.get()!.n;
      if (loaded.index.size === count) return { index: loaded.index, action: replayed > 0 ? 'caught-up' : 'loaded', replayed };
      reason = `the keyword index holds ${loaded.index.size} documents after catching up, the database ${count}`;
    } else {
      reason = loaded.reason;
    }
  }
  const index = new InvertedIndex(analyzer);
  if (indexName === undefined && st.count.get()!.n === 0) return { index, action: 'loaded', replayed: 0 }; // an empty index has no file
  const replayed = addTexts(index, st.allTexts.iterate());
  return { index, action: 'rebuilt', replayed, ...(reason !== undefined ? { reason } : {}) };
}

/** Saves the postings beside the vector index file `indexName` (atomically, fsynced). */
export function saveKeywordIndex(index: InvertedIndex, dir: string, indexName: string): void {
  savePostings(index, join(dir, postingsFileName(indexName)));
}
