export {
  loadUseLite,
  UseLiteEncoder,
  USE_LITE_DEFAULT_BATCH_SIZE,
  USE_LITE_DEFAULT_ROUTE,
  USE_LITE_DIMS,
  USE_LITE_MAX_TOKENS,
  USE_LITE_MODEL_ID,
} from './use-lite-encoder.ts';
export type { UseLiteOnnxFile, UseLiteOptions, UseLiteRoute } from './use-lite-encoder.ts';
export { SentencePieceTokenizer, UNKNOWN_ID } from './sentencepiece.ts';
export type { SentencePieceVocabulary } from './sentencepiece.ts';
export { locateUseLiteFiles, readUseLiteModelFiles, USE_LITE_PACKAGE } from './model-files.ts';
export type { UseLiteModelFiles, UseLiteWeightSpec } from './model-files.ts';
export type { GraphStats } from './protocol.ts';
export { defaultCacheDir, loadUseLiteOnnxModel, useLiteOnnxKey } from './onnx-cache.ts';
export type { UseLiteOnnxModel } from './onnx-cache.ts';
export { translateUseLiteGraph, USE_LITE_ONNX_CONVERTER_VERSION } from './onnx-model.ts';
export type { UseLiteGraphFacts } from './onnx-model.ts';
export type { WorkerStats as UseLiteWorkerStats } from './protocol.ts';
