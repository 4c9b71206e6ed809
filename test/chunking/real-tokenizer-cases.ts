/**
 * Chunking cases run against a real tokenizer (the synthetic ONNX model's WordPiece, USE lite's
 * SentencePiece): each test file loads its encoder and registers these with the counter.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { chunkDocuments, chunkText, type Chunk, type TokenCounter } from '../../src/chunking/index.ts';
import { scifactDocs } from '../helpers/synthetic.ts';
import { assertChunkInvariants, overlapTokens, prose, recording, rng } from './helpers.ts';

export interface RealTokenizer {
  /** Name shown in test titles. */
  readonly name: string;
  /** The encoder (loaded in a before() hook, so read lazily). */
  readonly counter: () => TokenCounter;
  /** Special tokens countTokens adds to every text. */
  readonly special: number;
}

const SCIFACT = fileURLToPath(new URL('../../../shared/data/scifact/corpus.jsonl', import.meta.url));

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Offsets that are grapheme cluster boundaries of text (0 and text.length included). */
function graphemeBoundarySet(text: string): Set<number> {
  const set = new Set<number>([text.length]);
  for (const seg of graphemes.segment(text)) set.add(seg.index);
  return set;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export function registerRealTokenizerCases(t: RealTokenizer): void {
  const { name, special } = t;

  test(`${name}: prose chunks fit, carry real counts and cover the text, for several limits, overlaps and a prompt`, () => {
    const counter = t.counter();
    const text = prose(1, 10, [1, 7], 24);
    for (const maxTokens of [24, 48, 64]) {
      for (const overlapTokens of [0, 4, Math.floor((maxTokens - 1) / 2)]) {
        for (const prompt of ['', 'passage: ']) {
          const options = { maxTokens, overlapTokens, prompt };
          const chunks = chunkText('doc', text, counter, options);
          assertChunkInvariants(text, chunks, counter, options);
          assert.ok(chunks.length > 1);
        }
      }
    }
  });

  test(`${name}: without overlap, chunks start and end on sentence boundaries when sentences fit`, () => {
    const counter = t.counter();
    const text = prose(2, 12, [2, 8], 20); // sentences of 4..20 words: all fit in 64 tokens
    const sentenceStarts = new Set<number>();
    const sentenceEnds = new Set<number>();
    for (const m of text.matchAll(/[A-Z][^.?]*[.?]/g)) {
      sentenceStarts.add(m.index);
      sentenceEnds.add(m.index + m[0].length);
    }
    const chunks = chunkText('doc', text, counter, { maxTokens: 64 });
    assertChunkInvariants(text, chunks, counter, { maxTokens: 64 });
    for (const c of chunks) {
      assert.ok(sentenceStarts.has(c.start), `chunk ${c.index} starts mid-sentence: ${JSON.stringify(c.text.slice(0, 40))}`);
      assert.ok(sentenceEnds.has(c.end), `chunk ${c.index} ends mid-sentence: ${JSON.stringify(c.text.slice(-40))}`);
      assert.ok(/[.?]$/.test(c.text));
    }
    // Greedy packing: a chunk and the next sentence would not have fit together.
    const fill = chunks.reduce((a, c) => a + c.tokens, 0) / chunks.length;
    assert.ok(fill > 0.6 * 64, `mean fill ${fill.toFixed(1)} tokens of 64`);
  });

  test(`${name}: paragraphs that fit are kept whole rather than packed across`, () => {
    const counter = t.counter();
    // Paragraphs of ~25..40 tokens: two never fit in 64, and each is over half of it.
    const paragraphs: string[] = [];
    for (let seed = 0; paragraphs.length < 8; seed++) {
      const p = prose(50 + seed, 1, [2, 3], 12);
      const n = counter.countTokens([p])[0] - special;
      if (n >= 33 && n <= 55) paragraphs.push(p);
    }
    const text = paragraphs.join('\n\n');
    const chunks = chunkText('doc', text, counter, { maxTokens: 64 });
    assertChunkInvariants(text, chunks, counter, { maxTokens: 64 });
    assert.deepEqual(
      chunks.map((c) => c.text),
      paragraphs,
    );
  });

  test(`${name}: with overlap, consecutive chunks share about overlapTokens and never go backwards`, () => {
    const counter = t.counter();
    const text = prose(3, 15, [2, 8], 24);
    for (const overlap of [8, 16]) {
      const chunks = chunkText('doc', text, counter, { maxTokens: 64, overlapTokens: overlap });
      assertChunkInvariants(text, chunks, counter, { maxTokens: 64 });
      const shared: number[] = [];
      for (let i = 1; i < chunks.length; i++) {
        const n = overlapTokens(text, chunks[i - 1], chunks[i], counter, special);
        assert.ok(n <= overlap + 4, `chunks ${i - 1} and ${i} share ${n} tokens, asked ${overlap}`);
        shared.push(n);
      }
      shared.sort((a, b) => a - b);
      const median = percentile(shared, 0.5);
      assert.ok(median >= overlap * 0.6 && median <= overlap + 2, `median overlap ${median} tokens, asked ${overlap}: ${shared.join(',')}`);
      assert.ok(percentile(shared, 0.1) >= 1, `some chunks do not overlap: ${shared.join(',')}`);
    }
  });

  test(`${name}: a short document is one chunk`, () => {
    const counter = t.counter();
    const text = '  A short note.\n\nWith two paragraphs.  ';
    const chunks = chunkText('note', text, counter, { maxTokens: 64, overlapTokens: 16 });
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0].text, 'A short note.\n\nWith two paragraphs.');
    assert.equal(chunks[0].start, 2);
    assertChunkInvariants(text, chunks, counter, { maxTokens: 64 });
  });

  test(`${name}: a single huge word and a long URL are split by characters`, () => {
    const counter = t.counter();
    for (const text of [
      'ab-'.repeat(2000),
      `See https://example.com/${'segment-name/'.repeat(300)}index.html?q=1 for details. Then more text follows here.`,
      `Short start. ${'x1y2'.repeat(1500)} and an end.`,
    ]) {
      for (const overlapTokens of [0, 12]) {
        const chunks = chunkText('doc', text, counter, { maxTokens: 48, overlapTokens });
        assertChunkInvariants(text, chunks, counter, { maxTokens: 48 });
        // (WordPiece reads a word of over 100 characters without punctuation as one [UNK]: no split needed.)
        if (counter.countTokens([text])[0] < 10 * 48) continue;
        assert.ok(chunks.length > 10, `${chunks.length} chunks`);
        // Pieces are filled: nearly all chunks are close to the limit.
        const full = chunks.filter((c) => c.tokens >= 48 - 12 - overlapTokens).length;
        assert.ok(full >= chunks.length * 0.8, `${full}/${chunks.length} chunks well filled`);
      }
    }
  });

  test(`${name}: a 10k-character CJK run, emoji and surrogate pairs never split a character`, () => {
    const counter = t.counter();
    const random = rng(9);
    const cjk = Array.from({ length: 10_000 }, () => String.fromCodePoint(0x4e00 + Math.floor(random() * 2000))).join('');
    const family = '👨‍👩‍👧‍👦';
    const cases = [
      cjk,
      `${cjk.slice(0, 3000)}。${cjk.slice(3000, 6000)}。\n\n${cjk.slice(6000)}`,
      '😀.'.repeat(1500),
      `${family},`.repeat(400),
      '🇫🇷🇩🇪-'.repeat(500),
      `Emoji 😀 in 🎉 text. ${'𝒜𝒷𝒸 '.repeat(300)}lone \uD800 and \uDC00 surrogates.`,
      '𠀀'.repeat(3000), // astral CJK (surrogate pairs)
    ];
    for (const text of cases) {
      const boundaries = graphemeBoundarySet(text);
      for (const overlapTokens of [0, 8]) {
        const t0 = performance.now();
        const chunks = chunkText('doc', text, counter, { maxTokens: 32, overlapTokens });
        const ms = performance.now() - t0;
        assertChunkInvariants(text, chunks, counter, { maxTokens: 32 });
        for (const c of chunks) {
          assert.ok(boundaries.has(c.start) && boundaries.has(c.end), `chunk ${c.index} splits a grapheme: ${JSON.stringify(c.text.slice(0, 12))}`);
        }
        assert.ok(ms < 5000, `${ms.toFixed(0)} ms for ${text.length} characters`);
      }
    }
  });

  test(`${name}: scifact abstracts (first 200) chunk with max 64 and overlap 16 in reasonable time`, (ctx) => {
    if (!existsSync(SCIFACT)) return ctx.skip(`no ${SCIFACT}`);
    const counter = recording(t.counter());
    const docs = scifactDocs(200).map((text, i) => ({ id: `scifact-${i}`, text }));
    const t0 = performance.now();
    const chunks = chunkDocuments(docs, counter, { maxTokens: 64, overlapTokens: 16 });
    const ms = performance.now() - t0;
    const byParent = new Map<string, Chunk[]>();
    for (const c of chunks) byParent.set(c.parentId, [...(byParent.get(c.parentId) ?? []), c]);
    for (const d of docs) assertChunkInvariants(d.text, byParent.get(d.id) ?? [], t.counter(), { maxTokens: 64 });
    const chars = docs.reduce((a, d) => a + d.text.length, 0);
    const fill = chunks.reduce((a, c) => a + c.tokens, 0) / chunks.length;
    ctx.diagnostic(
      `${docs.length} docs (${chars} chars) -> ${chunks.length} chunks, mean ${fill.toFixed(1)} tokens, in ${ms.toFixed(0)} ms; ` +
        `${counter.calls} countTokens calls, ${counter.texts} texts, ${counter.chars} chars counted`,
    );
    assert.ok(ms < 15_000, `${ms.toFixed(0)} ms`);
    assert.ok(counter.chars < 4 * chars, `counted ${counter.chars} characters for ${chars}`);
  });
}
