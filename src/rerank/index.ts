export { CrossEncoder, loadCrossEncoder, type CrossEncoderOptions, type GraphChoice, type ScoreOptions, type PairScores, type RankOptions, type RankedDocument, type TextPair } from './cross-encoder.ts';
export { readCrossEncoderConfig, CROSS_ENCODER_CONFIG_FILES, type CrossEncoderConfig } from './cross-encoder-config.ts';
export { ACTIVATIONS, activationFromConfig, applyActivation, type Activation, type ActivationSource } from './activation.ts';
export { PairTokenizer, PAIR_TRUNCATIONS, type PairTruncation, type TokenizedPair } from './pair-tokenizer.ts';
