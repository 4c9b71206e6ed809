/**
 * A SentencePiece Unigram model (the serialized ModelProto of a `.model` file) converted to a Hugging Face
 * `tokenizer.json` the way transformers' XLMRobertaConverter (convert_slow_tokenizer.py) converts XLM-R's:
 *
 * - model: Unigram with the fairseq offset: <s>=0, <pad>=1, </s>=2, <unk>=3, then the SentencePiece pieces
 *   from its id 3 on, each shifted by one, then <mask>; unk_id 3;
 * - normalizer: Sequence[Precompiled(the model's normalizer_spec.precompiled_charsmap, base64), Replace(" {2,}", " ")],
 *   as the hub's XLM-R and multilingual-e5 tokenizer.json files have it;
 * - pre_tokenizer and decoder: Metaspace("▁", prepend_scheme "always", split);
 * - post_processor: TemplateProcessing "<s> $A </s>" / "<s> $A </s> </s> $B </s>".
 *
 * The ModelProto is read with a small protobuf wire-format reader (only the fields the conversion needs),
 * so no protobuf package is needed in JavaScript or Python.
 */
import { BiencoderError } from '../src/errors.ts';

/** SentencePiece piece types (sentencepiece_model.proto). */
export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface SentencePiece {
  piece: string;
  score: number;
  type: number;
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  /** TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  /** NormalizerSpec.name, e.g. nmt_nfkc. */
  normalizerName: string;
  precompiledCharsmap: Uint8Array;
  /** NormalizerSpec.add_dummy_prefix (default true). */
  addDummyPrefix: boolean;
  byteFallback: boolean;
}

function malformed(what: string): BiencoderError {
  return new BiencoderError('INVALID_ARGUMENT', `not a SentencePiece model: ${what}`);
}

/** Protobuf wire format: varints, 64-bit, length-delimited and 32-bit fields. */
class WireReader {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly end = bytes.length) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw malformed('truncated varint');
      const byte = this.bytes[this.pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
  }

  /** A field key: [field number, wire type]. */
  key(): [number, number] {
    const key = this.varint();
    return [Math.floor(key / 8), key & 7];
  }

  lengthDelimited(): Uint8Array {
    const length = this.varint();
    if (this.pos + length > this.end) throw malformed('truncated field');
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  float32(): number {
    if (this.pos + 4 > this.end) throw malformed('truncated float');
    const value = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return value;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.lengthDelimited();
    else if (wireType === 5) this.pos += 4;
    else throw malformed(`unsupported wire type ${wireType}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readPiece(bytes: Uint8Array): SentencePiece {
  const r = new WireReader(bytes);
  const piece: SentencePiece = { piece: '', score: 0, type: PieceType.NORMAL };
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) piece.piece = utf8.decode(r.lengthDelimited());
    else if (field === 2 && wire === 5) piece.score = r.float32();
    else if (field === 3 && wire === 0) piece.type = r.varint();
    else r.skip(wire);
  }
  return piece;
}

/** Parses a SentencePiece `.model` file (ModelProto). */
export function parseSentencePieceModel(bytes: Uint8Array): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [], modelType: 1, normalizerName: '', precompiledCharsmap: new Uint8Array(0), addDummyPrefix: true, byteFallback: false,
  };
  const r = new WireReader(bytes);
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) {
      model.pieces.push(readPiece(r.lengthDelimited()));
    } else if (field === 2 && wire === 2) {
      const t = new WireReader(r.lengthDelimited());
      while (!t.done) {
        const [f, w] = t.key();
        if (f === 3 && w === 0) model.modelType = t.varint();
        else if (f === 35 && w === 0) model.byteFallback = t.varint() !== 0;
        else t.skip(w);
      }
    } else if (field === 3 && wire === 2) {
      const n = new WireReader(r.lengthDelimited());
      while (!n.done) {
        const [f, w] = n.key();
        if (f === 1 && w === 2) model.normalizerName = utf8.decode(n.lengthDelimited());
        else if (f === 2 && w === 2) model.precompiledCharsmap = n.lengthDelimited().slice();
        else if (f === 3 && w === 0) model.addDummyPrefix = n.varint() !== 0;
        else n.skip(w);
      }
    } else {
      r.skip(wire);
    }
  }
  if (model.pieces.length < 4) throw malformed(`${model.pieces.length} pieces`);
  return model;
}

const METASPACE = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true } as const;

function addedToken(id: number, content: string, lstrip = false): Record<string, unknown> {
  return { id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true };
}

function specialToken(id: string): Record<string, unknown> {
  return { SpecialToken: { id, type_id: 0 } };
}

function sequence(id: 'A' | 'B'): Record<string, unknown> {
  return { Sequence: { id, type_id: 0 } };
}

/**
 * The tokenizer.json of an XLM-R-style tokenizer for a SentencePiece Unigram model whose first three
 * pieces are <unk>, <s>, </s> (XLM-R's layout). Throws INVALID_ARGUMENT for another layout or model type.
 */
export function xlmRobertaTokenizerJson(model: SentencePieceModel): Record<string, unknown> {
  if (model.modelType !== 1) throw new BiencoderError('INVALID_ARGUMENT', `the SentencePiece model type is ${model.modelType}, not Unigram (1)`);
  const head = model.pieces.slice(0, 3).map((p) => p.piece).join(' ');
  if (head !== '<unk> <s> </s>') throw new BiencoderError('INVALID_ARGUMENT', `the first SentencePiece pieces are "${head}", not "<unk> <s> </s>"`);
  if (model.precompiledCharsmap.length === 0) throw new BiencoderError('INVALID_ARGUMENT', 'the SentencePiece model has no precompiled_charsmap');

  const vocab: Array<[string, number]> = [['<s>', 0], ['<pad>', 0], ['</s>', 0], ['<unk>', 0]];
  for (const p of model.pieces.slice(3)) vocab.push([p.piece, p.score]);
  const maskId = vocab.length;
  vocab.push(['<mask>', 0]);

  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      addedToken(0, '<s>'), addedToken(1, '<pad>'), addedToken(2, '</s>'), addedToken(3, '<unk>'),
      addedToken(maskId, '<mask>', true), // XLM-R's <mask> strips the space before it
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Precompiled', precompiled_charsmap: Buffer.from(model.precompiledCharsmap).toString('base64') },
        { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' },
      ],
    },
    pre_tokenizer: METASPACE,
    post_processor: {
      type: 'TemplateProcessing',
      single: [specialToken('<s>'), sequence('A'), specialToken('</s>')],
      pair: [specialToken('<s>'), sequence('A'), specialToken('</s>'), specialToken('</s>'), sequence('B'), specialToken('</s>')],
      special_tokens: {
        '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] },
        '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] },
      },
    },
    decoder: METASPACE,
    model: { type: 'Unigram', unk_id: 3, vocab, byte_fallback: false },
  };
}

/** XLM-R's slow-tokenizer id of a SentencePiece id: the fairseq offset (+1), and SentencePiece's <unk> (0) to 3. */
export function xlmRobertaIdOf(sentencePieceId: number): number {
  return sentencePieceId === 0 ? 3 : sentencePieceId + 1;
}

/** The tokenizer_config.json and special_tokens_map.json that go with it (as the hub's XLM-R files have them). */
export function xlmRobertaTokenizerConfigs(
  modelMaxLength: number, maskId: number,
): { tokenizerConfig: Record<string, unknown>; specialTokensMap: Record<string, unknown> } {
  const tokens = { bos_token: '<s>', cls_token: '<s>', eos_token: '</s>', pad_token: '<pad>', sep_token: '</s>', unk_token: '<unk>' };
  const addedTokensDecoder: Record<string, unknown> = {};
  for (const [id, content] of [[0, '<s>'], [1, '<pad>'], [2, '</s>'], [3, '<unk>'], [maskId, '<mask>']] as const) {
    const { id: _, ...token } = addedToken(id, content, content === '<mask>');
    addedTokensDecoder[String(id)] = token;
  }
  return {
    // transformers >= 4.34 writes the special tokens as strings here (an object needs "__type": "AddedToken").
    tokenizerConfig: {
      added_tokens_decoder: addedTokensDecoder,
      ...tokens,
      mask_token: '<mask>',
      clean_up_tokenization_spaces: true,
      model_max_length: modelMaxLength,
      tokenizer_class: 'XLMRobertaTokenizer',
    },
    specialTokensMap: { ...tokens, mask_token: { content: '<mask>', single_word: false, lstrip: true, rstrip: false, normalized: false } },
  };
}
