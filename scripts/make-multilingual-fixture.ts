/**
 * Writes test/fixtures/multilingual-xlmr/: a synthetic XLM-R-architecture sentence-transformers model with a
 * SentencePiece Unigram tokenizer trained here on the XQuAD paragraphs of its 12 languages, converted to
 * tokenizer.json as transformers converts XLM-R's (scripts/sentencepiece-to-tokenizer.ts), plus oracle.json:
 * texts of every language with the ids SentencePiece itself gives them, and two long texts for chunking.
 *
 *   node --import tsx scripts/make-multilingual-fixture.ts [OUT_DIR] [--vocab-size N] [--python PATH]
 *
 * Needs a Python 3 with the sentencepiece module (Debian: apt-get install python3-sentencepiece; default
 * interpreter /usr/bin/python3) and the XQuAD files in ../shared/data/xquad. No real multilingual weights are
 * reachable from the machines this project is built on; the model's weights are random (seeded), so its
 * vectors mean nothing: the fixture tests the code path (tokenizer, graph, pooling, prompts), not quality.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSentencePieceModel, xlmRobertaIdOf, xlmRobertaTokenizerConfigs, xlmRobertaTokenizerJson } from './sentencepiece-to-tokenizer.ts';
import { writeJson } from './synthetic-model.ts';
import { writeSyntheticXlmrModel } from './synthetic-xlmr-model.ts';

export const XQUAD_LANGS = ['ar', 'de', 'el', 'en', 'es', 'hi', 'ro', 'ru', 'th', 'tr', 'vi', 'zh'] as const;
const XQUAD_DIR = fileURLToPath(new URL('../../shared/data/xquad/', import.meta.url));
const DEFAULT_OUT = fileURLToPath(new URL('../test/fixtures/multilingual-xlmr/', import.meta.url));
const TRAINER = fileURLToPath(new URL('./train-sentencepiece.py', import.meta.url));
const MAX_SEQ_LENGTH = 512;
const QUESTIONS_PER_LANG = 10;
const SENTENCES_PER_LANG = 8;

interface Squad {
  data: Array<{ paragraphs: Array<{ context: string; qas: Array<{ question: string }> }> }>;
}

interface XquadLang {
  paragraphs: string[];
  questions: string[];
}

export interface OracleText {
  lang: string;
  kind: 'question' | 'sentence' | 'paragraph';
  text: string;
  /** XLM-R ids from SentencePiece's own encoding: <s>, the pieces with the fairseq offset, </s>. */
  ids: number[];
}

async function readXquad(lang: string): Promise<XquadLang> {
  const squad = JSON.parse(await fs.readFile(path.join(XQUAD_DIR, `xquad.${lang}.json`), 'utf8')) as Squad;
  const paragraphs: string[] = [];
  const questions: string[] = [];
  for (const article of squad.data) {
    for (const p of article.paragraphs) {
      paragraphs.push(p.context.trim());
      for (const qa of p.qas) questions.push(qa.question.trim());
    }
  }
  return { paragraphs, questions };
}

/** n items spread evenly over the list (deterministic). */
function spread<T>(items: readonly T[], n: number, offset = 0): T[] {
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[(offset + Math.floor(i * step)) % items.length]);
}

/**
 * Sentences of the paragraphs, 15 to 400 characters. Thai writes no sentence punctuation (spaces separate
 * clauses), so its paragraphs are cut at spaces into runs of at least 40 characters instead.
 */
function sentencesOf(lang: string, paragraphs: readonly string[]): string[] {
  const out: string[] = [];
  const segmenter = new Intl.Segmenter(lang, { granularity: 'sentence' });
  for (const p of paragraphs) {
    if (lang === 'th') {
      let run = '';
      for (const part of p.split(/\s+/)) {
        run = run === '' ? part : `${run} ${part}`;
        if (run.length >= 40) {
          out.push(run);
          run = '';
        }
      }
      continue;
    }
    for (const { segment } of segmenter.segment(p)) {
      const s = segment.trim();
      if (s.length >= 15 && s.length <= 400) out.push(s);
    }
  }
  return out;
}

function usage(): never {
  console.log('usage: make-multilingual-fixture [OUT_DIR] [--vocab-size N] [--python PATH]');
  process.exit(2);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { 'vocab-size': { type: 'string' }, python: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length > 1) usage();
  const outDir = path.resolve(positionals[0] ?? DEFAULT_OUT);
  const vocabSize = Number(values['vocab-size'] ?? 8000);
  if (!Number.isInteger(vocabSize) || vocabSize < 100) usage();
  const python = values.python ?? '/usr/bin/python3';
  const started = performance.now();

  // Corpus: every paragraph of every language, one per line. Texts: questions, sentences and one whole
  // paragraph of each language, so that short and long inputs of all 12 scripts are covered.
  const corpus: string[] = [];
  const texts: Array<Omit<OracleText, 'ids'>> = [];
  const chunking: Record<string, string> = {};
  for (const lang of XQUAD_LANGS) {
    const { paragraphs, questions } = await readXquad(lang);
    for (const p of paragraphs) corpus.push(p.replace(/\s*\n\s*/g, ' '));
    for (const text of spread(questions, QUESTIONS_PER_LANG, 3)) texts.push({ lang, kind: 'question', text });
    for (const text of spread(sentencesOf(lang, paragraphs), SENTENCES_PER_LANG, 5)) texts.push({ lang, kind: 'sentence', text });
    texts.push({ lang, kind: 'paragraph', text: paragraphs[17] });
    // Long texts for the chunker: four paragraphs, separated as a document's paragraphs are.
    if (lang === 'zh' || lang === 'hi') chunking[lang] = paragraphs.slice(40, 44).join('\n\n');
  }

  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'biencoder-multilingual-'));
  try {
    const corpusFile = path.join(work, 'corpus.txt');
    const textsFile = path.join(work, 'texts.json');
    const idsFile = path.join(work, 'ids.json');
    await fs.writeFile(corpusFile, `${corpus.join('\n')}\n`);
    await fs.writeFile(textsFile, JSON.stringify(texts.map((t) => t.text)));
    execFileSync(python, [TRAINER, corpusFile, path.join(work, 'spm'), String(vocabSize), textsFile, idsFile], { stdio: 'inherit' });

    const spm = parseSentencePieceModel(await fs.readFile(path.join(work, 'spm.model')));
    const tokenizerJson = xlmRobertaTokenizerJson(spm);
    const vocab = (tokenizerJson.model as { vocab: unknown[] }).vocab;
    const spmIds = JSON.parse(await fs.readFile(idsFile, 'utf8')) as number[][];

    await fs.mkdir(outDir, { recursive: true });
    await fs.writeFile(path.join(outDir, 'tokenizer.json'), `${JSON.stringify(tokenizerJson)}\n`);
    const { tokenizerConfig, specialTokensMap } = xlmRobertaTokenizerConfigs(MAX_SEQ_LENGTH, vocab.length - 1);
    await writeJson(path.join(outDir, 'tokenizer_config.json'), tokenizerConfig);
    await writeJson(path.join(outDir, 'special_tokens_map.json'), specialTokensMap);
    await writeSyntheticXlmrModel({ outDir, vocabSize: vocab.length, maxSeqLength: MAX_SEQ_LENGTH });

    const oracle: OracleText[] = texts.map((t, i) => ({ ...t, ids: [0, ...spmIds[i].map(xlmRobertaIdOf), 2] }));
    // One text per line: the file stays small and reviewable.
    await fs.writeFile(path.join(outDir, 'oracle.json'), [
      '{',
      '  "about": "XQuAD texts (CC BY-SA 4.0) with the ids SentencePiece gives them under this tokenizer; chunking: long zh and hi texts",',
      `  "chunking": ${JSON.stringify(chunking)},`,
      '  "texts": [',
      oracle.map((t) => `    ${JSON.stringify(t)}`).join(',\n'),
      '  ]',
      '}',
      '',
    ].join('\n'));
    await fs.writeFile(path.join(outDir, 'README.md'), readme(spm.pieces.length, vocab.length, spm.normalizerName, corpus.length, oracle.length));
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }

  console.log(`wrote ${outDir} in ${((performance.now() - started) / 1000).toFixed(1)} s:`);
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'config.json', 'onnx/model.onnx', 'oracle.json']) {
    console.log(`  ${file.padEnd(28)} ${(await fs.stat(path.join(outDir, file))).size.toString().padStart(10)} bytes`);
  }
}

function readme(pieces: number, vocab: number, normalizer: string, paragraphs: number, texts: number): string {
  return [
    '# Synthetic multilingual XLM-R-architecture model (random weights)',
    '',
    'Generated by `node --import tsx scripts/make-multilingual-fixture.ts` for tests. **The weights are random**:',
    'the model was never trained and its vectors carry no meaning. No real multilingual weights could be',
    'downloaded where this was made; the fixture verifies the code path, not retrieval quality.',
    '',
    `- tokenizer: SentencePiece Unigram (${pieces} pieces, normalizer ${normalizer}) trained on the ${paragraphs} XQuAD`,
    `  paragraphs of ar de el en es hi ro ru th tr vi zh, converted as transformers' XLMRobertaConverter does`,
    `  (fairseq offset, <mask> last: ${vocab} ids; Precompiled + Replace normalizer; Metaspace; <s> $A </s>)`,
    '- model: XLMRobertaModel graph (RoBERTa position ids, type vocab 1, LayerNorm eps 1e-5, exact GELU),',
    '  2 layers, hidden 64, 4 heads, intermediate 128, seed 42; inputs input_ids and attention_mask',
    '- sentence-transformers: mean pooling, Normalize, max_seq_length 512, e5 prompts "query: " / "passage: "',
    `- oracle.json: ${texts} XQuAD questions, sentences and paragraphs with SentencePiece's own ids (XLM-R numbering),`,
    '  and long Chinese and Hindi texts for chunking. XQuAD (github.com/google-deepmind/xquad) is CC BY-SA 4.0.',
    '',
  ].join('\n');
}

await main();
