/**
 * The multilingual code path end to end, against transformers.js and SentencePiece: a synthetic
 * XLM-R-architecture model (random weights) with a SentencePiece Unigram tokenizer trained on XQuAD's 12
 * languages and converted as transformers converts XLM-R's (test/fixtures/multilingual-xlmr, written by
 * scripts/make-multilingual-fixture.ts). No real multilingual weights are reachable here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkText } from '../../src/chunking/index.ts';
import { BiEncoder } from '../../src/encoders/bi-encoder.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { loadEncoder } from '../../src/encoders/load-encoder.ts';
import { TextTokenizer } from '../../src/encoders/onnx/tokenizer.ts';
import { xlmrOnnxModel } from '../../scripts/synthetic-xlmr-model.ts';
import { assertChunkInvariants } from '../chunking/helpers.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { maxAbsDiff, rowCosine } from '../helpers/vector-math.ts';

const DIR = fileURLToPath(new URL('../fixtures/multilingual-xlmr/', import.meta.url));
const DIMS = 64;

interface OracleText {
  lang: string;
  kind: 'question' | 'sentence' | 'paragraph';
  text: string;
  ids: number[];
}
const ORACLE = JSON.parse(readFileSync(join(DIR, 'oracle.json'), 'utf8')) as { texts: OracleText[]; chunking: Record<'zh' | 'hi', string> };
const TEXTS = ORACLE.texts.map((t) => t.text);
const LANGS = ['ar', 'de', 'el', 'en', 'es', 'hi', 'ro', 'ru', 'th', 'tr', 'vi', 'zh'];

type Extractor = (texts: string[], options: { pooling: string; normalize: boolean }) => Promise<{ data: Float32Array; dims: number[] }>;
interface TjsTokenizer {
  encode(text: string): number[];
}

/** transformers.js reading the fixture directory only (an absolute path is not a hub id). */
async function transformersJs(dir: string): Promise<{ extractor: Extractor; tokenizer: TjsTokenizer }> {
  const { pipeline, AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.useFSCache = false;
  const extractor = (await pipeline('feature-extraction', dir, { dtype: 'fp32' })) as unknown as Extractor;
  const tokenizer = (await AutoTokenizer.from_pretrained(dir)) as unknown as TjsTokenizer;
  return { extractor, tokenizer };
}

async function embedAll(extractor: Extractor, texts: readonly string[]): Promise<Float32Array> {
  const out: number[] = [];
  for (let i = 0; i < texts.length; i += 32) out.push(...(await extractor(texts.slice(i, i + 32), { pooling: 'mean', normalize: true })).data);
  return Float32Array.from(out);
}

function minCosine(a: Float32Array, b: Float32Array, rows: readonly number[]): number {
  return Math.min(...rows.map((i) => rowCosine(a, b, DIMS, i)));
}

const tmp = tempDir('multilingual');
let tjs: { extractor: Extractor; tokenizer: TjsTokenizer };
let encoder: Encoder;
let theirs: Float32Array;

before(async () => {
  tjs = await transformersJs(DIR);
  encoder = await loadEncoder(DIR, { truncation: 'transformers.js' });
  theirs = await embedAll(tjs.extractor, TEXTS);
});
after(async () => {
  await encoder?.close();
  tmp.cleanup();
});

describe('tokenizer: SentencePiece Unigram converted as XLMRobertaConverter does', () => {
  test('>= 200 XQuAD texts, every one of the 12 languages, some with <unk>', () => {
    assert.ok(ORACLE.texts.length >= 200, `${ORACLE.texts.length} texts`);
    for (const lang of LANGS) assert.ok(ORACLE.texts.filter((t) => t.lang === lang).length >= 15, lang);
    assert.ok(ORACLE.texts.some((t) => t.ids.includes(3)), 'some text maps to <unk> (3)');
  });

  test("token ids equal SentencePiece's own and transformers.js's on every text", async () => {
    const ours = await TextTokenizer.fromDirectory(DIR);
    assert.deepEqual([ours.prefix, ours.suffix, ours.padId], [[0], [2], 1]); // <s> $A </s>, <pad> = 1
    for (const t of ORACLE.texts) {
      const ids = Array.from(ours.encode(t.text, 100_000).ids);
      assert.deepEqual(ids, t.ids, `${t.lang} ${t.kind}: ours vs SentencePiece: ${t.text.slice(0, 60)}`);
      assert.deepEqual(tjs.tokenizer.encode(t.text), t.ids, `${t.lang} ${t.kind}: transformers.js vs SentencePiece`);
    }
  });

  test('token counts are these ids; over-long text is cut to 512 with </s> kept', async () => {
    assert.deepEqual(encoder.countTokens(TEXTS), ORACLE.texts.map((t) => t.ids.length));
    const long = ORACLE.texts.filter((t) => t.ids.length > 512);
    assert.ok(long.length >= 1, 'the Greek paragraph is longer than 512 tokens');
    const ours = await TextTokenizer.fromDirectory(DIR);
    for (const t of long) assert.deepEqual(Array.from(ours.encode(t.text, 512).ids), [...t.ids.slice(0, 511), 2]);
  });
});

describe('encoder: our ONNX path equals transformers.js on the XLM-R graph', () => {
  test('cosine >= 0.99999 on every row, every language (no prompt, as the pipeline embeds)', async (t) => {
    // encode() defaults to the document role, whose prompt is "passage: ": '' embeds the bare text.
    const ours = await encoder.encode(TEXTS, { prompt: '' });
    assert.equal(ours.dims, DIMS);
    const report: string[] = [];
    for (const lang of LANGS) {
      const rows = ORACLE.texts.flatMap((t, i) => (t.lang === lang ? [i] : []));
      const min = minCosine(ours.data, theirs, rows);
      report.push(`${lang} ${rows.length} texts, 1 - ${(1 - min).toExponential(1)}`);
      assert.ok(min >= 0.99999, `${lang}: min row cosine ${min}`);
    }
    const all = minCosine(ours.data, theirs, TEXTS.map((_, i) => i));
    t.diagnostic(`min row cosine 1 - ${(1 - all).toExponential(1)} over ${TEXTS.length} texts; per language: ${report.join(', ')}`);
    assert.equal(ours.truncated, ORACLE.texts.filter((t) => t.ids.length > 512).length);
  });

  test('RoBERTa position ids: a text embeds the same alone and padded in a batch', async () => {
    const texts = ORACLE.texts.filter((t) => t.lang === 'zh' || t.lang === 'th').map((t) => t.text);
    const batched = await encoder.encode(texts, { batchSize: 64 });
    for (let i = 0; i < texts.length; i += 4) {
      const alone = await encoder.encode([texts[i]]);
      assert.ok(maxAbsDiff(alone.data, batched.data.subarray(i * DIMS, (i + 1) * DIMS)) <= 1e-5, `text ${i}`);
    }
  });

  test('e5 prompts: queries embed as "query: " + text, documents as "passage: " + text', async () => {
    assert.deepEqual(encoder.prompts, { query: 'query: ', document: 'passage: ' });
    const texts = LANGS.map((lang) => ORACLE.texts.find((t) => t.lang === lang && t.kind === 'question')!.text);
    const bi = new BiEncoder({ document: encoder });
    const [q, d] = [await bi.encodeQueries(texts), await bi.encodeDocuments(texts)];
    const [tq, td] = [await embedAll(tjs.extractor, texts.map((t) => `query: ${t}`)), await embedAll(tjs.extractor, texts.map((t) => `passage: ${t}`))];
    const rows = texts.map((_, i) => i);
    assert.ok(minCosine(q.data, tq, rows) >= 0.99999 && minCosine(d.data, td, rows) >= 0.99999);
    assert.ok(maxAbsDiff(q.data, d.data) > 1e-3, 'the two prompts give different vectors');
  });

  test('an older tokenizer.json with RobertaProcessing (as multilingual-e5 ships) gives the same ids and vectors', async () => {
    const dir = join(tmp.dir, 'roberta-processing');
    await mkdir(join(dir, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'tokenizer_config.json', 'special_tokens_map.json', 'modules.json', 'sentence_bert_config.json',
      'config_sentence_transformers.json', 'onnx/model.onnx']) await copyFile(join(DIR, f), join(dir, f));
    await mkdir(join(dir, '1_Pooling'));
    await copyFile(join(DIR, '1_Pooling/config.json'), join(dir, '1_Pooling/config.json'));
    const tokenizer = JSON.parse(await readFile(join(DIR, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    tokenizer.post_processor = { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: true };
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
    const older = await loadEncoder(dir, { truncation: 'transformers.js' });
    try {
      const sample = ORACLE.texts.filter((_, i) => i % 6 === 0);
      assert.deepEqual(older.countTokens(sample.map((t) => t.text)), sample.map((t) => t.ids.length));
      const a = await older.encode(sample.map((t) => t.text));
      const b = await encoder.encode(sample.map((t) => t.text));
      assert.ok(maxAbsDiff(a.data, b.data) <= 1e-6);
    } finally {
      await older.close();
    }
  });

  test('the committed model.onnx is what scripts/synthetic-xlmr-model.ts writes', async () => {
    const vocab = (JSON.parse(await readFile(join(DIR, 'tokenizer.json'), 'utf8')) as { model: { vocab: unknown[] } }).model.vocab;
    assert.ok(Buffer.from(xlmrOnnxModel({ outDir: DIR, vocabSize: vocab.length })).equals(await readFile(join(DIR, 'onnx/model.onnx'))));
  });
});

describe('chunking counts this tokenizer', () => {
  for (const lang of ['zh', 'hi'] as const) {
    test(`${lang}: chunks within a 64-token budget, "passage: " prompt included, counted as transformers.js counts`, () => {
      const text = ORACLE.chunking[lang];
      const chunks = chunkText(`doc-${lang}`, text, encoder, { maxTokens: 64 });
      assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
      assertChunkInvariants(text, chunks, encoder, { maxTokens: 64, prompt: 'passage: ' });
      for (const c of chunks) {
        const n = tjs.tokenizer.encode(`passage: ${c.text}`).length;
        assert.equal(c.tokens, n, `chunk ${c.index}`);
        assert.ok(n <= 64, `chunk ${c.index}: ${n} tokens`);
      }
      assert.ok(chunks.some((c) => c.tokens > 48), 'chunks use most of the budget');
    });
  }
});
