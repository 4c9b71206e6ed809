/**
 * A deterministic random-weight XLM-R-architecture (XLMRobertaModel) sentence-transformers model around a
 * given tokenizer, in the hub layout with a real ONNX graph: the BERT graph of synthetic-model.ts with
 * XLM-R's differences — RoBERTa position ids (from padding_idx + 1, computed from input_ids), one token
 * type, LayerNorm eps 1e-5, no token_type_ids input (XLM-R's tokenizer has none), and the padding rows of
 * the word and position embeddings zeroed as nn.Embedding(padding_idx=1) initializes them.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { encodeModel, makeParams, writeJson, writeSentenceTransformersFiles, type SyntheticDims } from './synthetic-model.ts';

export interface SyntheticXlmrOptions {
  outDir: string;
  /** The tokenizer's vocabulary size (tokenizer.json's model.vocab length). */
  vocabSize: number;
  /** Default 42. */
  seed?: number;
  /** Default 2 layers, hidden 64, 4 heads, intermediate 128. */
  numLayers?: number;
  hiddenSize?: number;
  numHeads?: number;
  intermediateSize?: number;
  /** sentence_bert_config.json max_seq_length. Default 512. */
  maxSeqLength?: number;
  /** config_sentence_transformers.json prompts. Default e5's {"query": "query: ", "passage": "passage: "}. */
  prompts?: Record<string, string>;
}

/** XLM-R's <pad> id, which is also its padding_idx. */
export const XLMR_PADDING_IDX = 1;
const XLMR_LAYER_NORM_EPS = 1e-5;
/** 512 positions after the padding_idx + 1 offset, as XLM-R's max_position_embeddings 514. */
const XLMR_MAX_POSITIONS = 514;

export function xlmrDims(options: SyntheticXlmrOptions): SyntheticDims {
  return {
    vocabSize: options.vocabSize,
    hiddenSize: options.hiddenSize ?? 64,
    numLayers: options.numLayers ?? 2,
    numHeads: options.numHeads ?? 4,
    intermediateSize: options.intermediateSize ?? 128,
    maxPositions: XLMR_MAX_POSITIONS,
    typeVocabSize: 1,
  };
}

/** The fp32 ONNX model (onnx/model.onnx) of the synthetic XLM-R; same options give the same bytes. */
export function xlmrOnnxModel(options: SyntheticXlmrOptions): Uint8Array {
  const dims = xlmrDims(options);
  const seed = options.seed ?? 42;
  const params = makeParams(dims, seed);
  const H = dims.hiddenSize;
  for (const name of ['embeddings.word_embeddings.weight', 'embeddings.position_embeddings.weight']) {
    params.get(name)?.data.fill(0, XLMR_PADDING_IDX * H, (XLMR_PADDING_IDX + 1) * H);
  }
  const description = `Synthetic random-weight XLM-R (${dims.numLayers} layers, hidden ${H}), seed ${seed}. Not a trained model.`;
  return encodeModel(dims, params, false, 'fp32', description, { layerNormEps: XLMR_LAYER_NORM_EPS, paddingIdx: XLMR_PADDING_IDX });
}

/**
 * Writes config.json, onnx/model.onnx and the sentence-transformers files (mean pooling, Normalize, the
 * prompts) into outDir. The tokenizer files are the caller's.
 */
export async function writeSyntheticXlmrModel(options: SyntheticXlmrOptions): Promise<void> {
  const dims = xlmrDims(options);
  const outDir = path.resolve(options.outDir);
  await fs.mkdir(path.join(outDir, 'onnx'), { recursive: true });
  await writeJson(path.join(outDir, 'config.json'), {
    _name_or_path: `biencoder/synthetic-xlm-roberta-seed${options.seed ?? 42}`,
    architectures: ['XLMRobertaModel'],
    attention_probs_dropout_prob: 0.1,
    bos_token_id: 0,
    classifier_dropout: null,
    eos_token_id: 2,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: dims.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: dims.intermediateSize,
    layer_norm_eps: XLMR_LAYER_NORM_EPS,
    max_position_embeddings: dims.maxPositions,
    model_type: 'xlm-roberta',
    num_attention_heads: dims.numHeads,
    num_hidden_layers: dims.numLayers,
    pad_token_id: XLMR_PADDING_IDX,
    position_embedding_type: 'absolute',
    transformers_version: '4.41.2',
    type_vocab_size: dims.typeVocabSize,
    use_cache: true,
    vocab_size: dims.vocabSize,
  });
  await fs.writeFile(path.join(outDir, 'onnx', 'model.onnx'), xlmrOnnxModel(options));
  await writeSentenceTransformersFiles(outDir, {
    hiddenSize: dims.hiddenSize,
    pooling: 'mean',
    normalize: true,
    maxSeqLength: options.maxSeqLength ?? 512,
    prompts: options.prompts ?? { query: 'query: ', passage: 'passage: ' },
  });
}
