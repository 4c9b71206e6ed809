export {
  loadUseLite,
  UseLiteEncoder,
  USE_LITE_DEFAULT_BATCH_SIZE,
  USE_LITE_DIMS,
  USE_LITE_MAX_TOKENS,
  USE_LITE_MODEL_ID,
} from './use-lite-encoder.ts';
export type { UseLiteOptions } from './use-lite-encoder.ts';
export { SentencePieceTokenizer, UNKNOWN_ID } from './sentencepiece.ts';
export type { SentencePieceVocabulary } from './sentencepiece.ts';
export { locateUseLiteFiles, readUseLiteModelFiles, USE_LITE_PACKAGE } from './model-files.ts';
export type { UseLiteModelFiles, UseLiteWeightSpec } from './model-files.ts';
export type { GraphStats } from './graph.ts';
