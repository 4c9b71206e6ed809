import { BiencoderError } from '../../errors.ts';

/** sentence-transformers Pooling modes. */
export type PoolingMode = 'mean' | 'cls' | 'max' | 'lasttoken' | 'mean_sqrt_len' | 'weightedmean';

export const POOLING_MODES: readonly PoolingMode[] = ['mean', 'cls', 'max', 'lasttoken', 'mean_sqrt_len', 'weightedmean'];

/** A batch of token states [batch, seqLen, hidden], right-padded. */
export interface TokenStates {
  readonly data: Float32Array;
  readonly batch: number;
  readonly seqLen: number;
  readonly hidden: number;
}

/**
 * Pools each sequence's token states into one vector, written to out[rowOf[b] * hidden ...].
 * lengths[b]: the number of real (unpadded) tokens of sequence b.
 * from[b]: the first token that takes part (> 0 to leave a prompt out, as include_prompt=false does);
 * cls and lasttoken ignore it, as sentence-transformers does.
 */
export function poolInto(
  mode: PoolingMode,
  states: TokenStates,
  lengths: ArrayLike<number>,
  from: ArrayLike<number> | undefined,
  out: Float32Array,
  rowOf: ArrayLike<number>,
): void {
  const { data, batch, seqLen, hidden } = states;
  if (data.length !== batch * seqLen * hidden) {
    throw new BiencoderError('INFERENCE_FAILED', `token states hold ${data.length} floats, expected ${batch}x${seqLen}x${hidden}`);
  }
  for (let b = 0; b < batch; b++) {
    const len = lengths[b];
    const start = Math.min(from?.[b] ?? 0, len - 1);
    const base = b * seqLen * hidden;
    const o = rowOf[b] * hidden;
    switch (mode) {
      case 'cls':
        out.set(data.subarray(base, base + hidden), o);
        break;
      case 'lasttoken': {
        const t = base + (len - 1) * hidden;
        out.set(data.subarray(t, t + hidden), o);
        break;
      }
      case 'max': {
        out.set(data.subarray(base + start * hidden, base + (start + 1) * hidden), o);
        for (let t = start + 1; t < len; t++) {
          const s = base + t * hidden;
          for (let h = 0; h < hidden; h++) {
            const v = data[s + h];
            if (v > out[o + h]) out[o + h] = v;
          }
        }
        break;
      }
      case 'mean':
      case 'mean_sqrt_len':
      case 'weightedmean': {
        const acc = new Float64Array(hidden);
        let weightSum = 0;
        for (let t = start; t < len; t++) {
          const w = mode === 'weightedmean' ? t + 1 : 1;
          weightSum += w;
          const s = base + t * hidden;
          if (w === 1) {
            for (let h = 0; h < hidden; h++) acc[h] += data[s + h];
          } else {
            for (let h = 0; h < hidden; h++) acc[h] += w * data[s + h];
          }
        }
        const div = mode === 'mean_sqrt_len' ? Math.sqrt(Math.max(weightSum, 1e-9)) : Math.max(weightSum, 1e-9);
        for (let h = 0; h < hidden; h++) out[o + h] = acc[h] / div;
        break;
      }
      default:
        throw new BiencoderError('INVALID_ARGUMENT', `unknown pooling mode "${String(mode)}"`);
    }
  }
}
