import { BiencoderError } from '../errors.ts';

/**
 * The function applied to a cross-encoder's logits to give its scores:
 * - 'sigmoid': 1 / (1 + e^-x) per label (scores in (0, 1));
 * - 'identity': the raw logits;
 * - 'tanh': per label, in (-1, 1);
 * - 'softmax': over the labels of each pair (they sum to 1).
 */
export type Activation = 'sigmoid' | 'identity' | 'tanh' | 'softmax';

export const ACTIVATIONS: readonly Activation[] = ['sigmoid', 'identity', 'tanh', 'softmax'];

/** Where the activation came from: config.json's current key, its pre-v4 key, sentence-transformers' default, or the caller. */
export type ActivationSource = 'sentence_transformers.activation_fn' | 'sbert_ce_default_activation_function' | 'default' | 'option';

/** The torch classes sentence-transformers writes into config.json, by their dotted paths. */
const TORCH_ACTIVATIONS: Readonly<Record<string, Activation>> = {
  'torch.nn.modules.activation.Sigmoid': 'sigmoid',
  'torch.nn.Sigmoid': 'sigmoid',
  'torch.nn.modules.linear.Identity': 'identity',
  'torch.nn.Identity': 'identity',
  'torch.nn.modules.activation.Tanh': 'tanh',
  'torch.nn.Tanh': 'tanh',
  'torch.nn.modules.activation.Softmax': 'softmax',
  'torch.nn.Softmax': 'softmax',
};

/**
 * The activation a sentence-transformers CrossEncoder applies in predict(), read from config.json the way
 * sentence-transformers 4+ reads it (CrossEncoder.get_default_activation_fn):
 * 1. `config.sentence_transformers.activation_fn` (written by sentence-transformers >= 4), else
 * 2. `config.sbert_ce_default_activation_function` (written by older versions), else
 * 3. the default: Sigmoid when the model has one label, Identity otherwise.
 * A path outside `torch.` is custom code, which sentence-transformers runs only with trust_remote_code
 * and otherwise replaces by the default: so do we (we never run custom code). A `torch.` class we do not
 * know is MODEL_INVALID: pass the `activation` option to choose one.
 */
export function activationFromConfig(config: Record<string, unknown>, numLabels: number, where: string): { activation: Activation; source: ActivationSource } {
  let path: unknown;
  let source: ActivationSource = 'default';
  const st = config.sentence_transformers;
  if (typeof st === 'object' && st !== null && 'activation_fn' in st) {
    path = (st as Record<string, unknown>).activation_fn;
    source = 'sentence_transformers.activation_fn';
  } else if (config.sbert_ce_default_activation_function !== undefined && config.sbert_ce_default_activation_function !== null) {
    path = config.sbert_ce_default_activation_function;
    source = 'sbert_ce_default_activation_function';
  }
  if (source !== 'default') {
    if (typeof path !== 'string') {
      throw new BiencoderError('MODEL_INVALID', `${where}: ${source} must be a dotted class path string, got ${JSON.stringify(path)}`);
    }
    if (path.startsWith('torch.')) {
      const known = TORCH_ACTIVATIONS[path];
      if (known === undefined) {
        throw new BiencoderError(
          'MODEL_INVALID',
          `${where}: ${source} names ${path}, which biencoder does not implement (known: ${Object.keys(TORCH_ACTIVATIONS).join(', ')}); pass the activation option (${ACTIVATIONS.join(', ')})`,
          { details: { activationFn: path } },
        );
      }
      return { activation: known, source };
    }
  }
  return { activation: numLabels === 1 ? 'sigmoid' : 'identity', source: 'default' };
}

export function checkActivation(value: unknown): Activation {
  if (typeof value !== 'string' || !(ACTIVATIONS as readonly string[]).includes(value)) {
    throw new BiencoderError('INVALID_ARGUMENT', `activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as Activation;
}

/** Applies an activation to rows x labels logits, into a new array. */
export function applyActivation(activation: Activation, logits: Float32Array, labels: number): Float32Array {
  const out = new Float32Array(logits.length);
  switch (activation) {
    case 'identity':
      out.set(logits);
      break;
    case 'sigmoid':
      for (let i = 0; i < logits.length; i++) out[i] = sigmoid(logits[i]);
      break;
    case 'tanh':
      for (let i = 0; i < logits.length; i++) out[i] = Math.tanh(logits[i]);
      break;
    case 'softmax':
      for (let r = 0; r < logits.length; r += labels) {
        let max = -Infinity;
        for (let j = 0; j < labels; j++) max = Math.max(max, logits[r + j]);
        let sum = 0;
        for (let j = 0; j < labels; j++) sum += Math.exp(logits[r + j] - max);
        for (let j = 0; j < labels; j++) out[r + j] = Math.exp(logits[r + j] - max) / sum;
      }
      break;
  }
  return out;
}

/** A sigmoid that neither overflows nor loses the tail: exp of a non-positive number only. */
function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
