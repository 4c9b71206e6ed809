import { join } from 'node:path';
import { BiencoderError } from '../errors.ts';
import { readJsonFile } from '../encoders/onnx/json-file.ts';
import { activationFromConfig, type Activation, type ActivationSource } from './activation.ts';

/**
 * What shapes inference in a cross-encoder's directory (the hub layout of a sentence-transformers CrossEncoder,
 * e.g. cross-encoder/ms-marco-MiniLM-L6-v2): config.json (a *ForSequenceClassification model, its labels and
 * the activation) and tokenizer_config.json (model_max_length).
 */
export interface CrossEncoderConfig {
  /** Width of the logits: config.num_labels, else the size of id2label, else 1. */
  readonly numLabels: number;
  /** Label names by index (id2label; LABEL_i when absent). */
  readonly labels: readonly string[];
  readonly activation: Activation;
  readonly activationSource: ActivationSource;
  /** Longest pair in tokens (special tokens included): model_max_length, capped by max_position_embeddings. */
  readonly maxLength: number;
  readonly modelType: string | undefined;
  readonly architectures: readonly string[];
}

/** Files read from a cross-encoder's directory (and fetched from the hub), by whether they are required. */
export const CROSS_ENCODER_CONFIG_FILES = [
  { path: 'config.json' },
  { path: 'tokenizer.json' },
  { path: 'tokenizer_config.json', optional: true },
  { path: 'special_tokens_map.json', optional: true },
] as const;

/** Above this, model_max_length is transformers' "no limit" sentinel (int(1e30)), not a length. */
const NO_LIMIT = 1e9;
const FALLBACK_MAX_LENGTH = 512;

export async function readCrossEncoderConfig(dir: string): Promise<CrossEncoderConfig> {
  const configPath = join(dir, 'config.json');
  const config = await readJsonFile<Record<string, unknown>>(configPath, true);
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new BiencoderError('MODEL_INVALID', `${configPath} is not a JSON object`);
  }
  const architectures = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === 'string') : [];
  if (architectures.length > 0 && !architectures.some((a) => a.endsWith('ForSequenceClassification'))) {
    throw new BiencoderError(
      'MODEL_INVALID',
      `${configPath} describes ${architectures.join(', ')}, not a sequence-classification model (a cross-encoder is *ForSequenceClassification); ` +
        'for an embedding model use loadEncoder',
      { details: { architectures } },
    );
  }

  const id2label = typeof config.id2label === 'object' && config.id2label !== null ? (config.id2label as Record<string, unknown>) : undefined;
  const declared = typeof config.num_labels === 'number' ? config.num_labels : undefined;
  const numLabels = declared ?? (id2label ? Object.keys(id2label).length : 1);
  if (!Number.isInteger(numLabels) || numLabels < 1) {
    throw new BiencoderError('MODEL_INVALID', `${configPath} gives ${String(numLabels)} labels; a cross-encoder needs at least one`);
  }
  const labels = Array.from({ length: numLabels }, (_, i) => {
    const name = id2label?.[String(i)];
    return typeof name === 'string' ? name : `LABEL_${i}`;
  });
  const { activation, source } = activationFromConfig(config, numLabels, configPath);

  const tokenizerConfig = (await readJsonFile<Record<string, unknown>>(join(dir, 'tokenizer_config.json'), false)) ?? {};
  const maxPositions = positive(config.max_position_embeddings);
  const modelMax = positive(tokenizerConfig.model_max_length);
  let maxLength = modelMax !== undefined && modelMax < NO_LIMIT ? modelMax : (maxPositions ?? FALLBACK_MAX_LENGTH);
  if (maxPositions !== undefined) maxLength = Math.min(maxLength, maxPositions);

  return {
    numLabels,
    labels,
    activation,
    activationSource: source,
    maxLength: Math.floor(maxLength),
    modelType: typeof config.model_type === 'string' ? config.model_type : undefined,
    architectures,
  };
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
