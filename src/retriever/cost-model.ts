import { BiencoderError } from '../errors.ts';

/** Weight of the newest measurement in the running average. */
const SMOOTHING = 0.3;

/**
 * The reranker's cost in milliseconds per pair token (special tokens included), as a running average
 * (exponentially weighted) of measured calls. Pairs are scored longest first with each batch padded to its
 * own longest pair, so the cost of a set of pairs is close to proportional to their total tokens.
 */
export class RerankCostModel {
  #msPerToken: number | undefined;
  #samples = 0;

  constructor(initialMsPerToken?: number) {
    if (initialMsPerToken !== undefined) {
      if (typeof initialMsPerToken !== 'number' || !Number.isFinite(initialMsPerToken) || initialMsPerToken <= 0) {
        throw new BiencoderError('INVALID_ARGUMENT', `initialMsPerToken must be a positive number, got ${String(initialMsPerToken)}`);
      }
      this.#msPerToken = initialMsPerToken;
    }
  }

  /** The current estimate, or undefined before anything was measured or seeded. */
  get msPerToken(): number | undefined {
    return this.#msPerToken;
  }

  /** How many calls were measured. */
  get samples(): number {
    return this.#samples;
  }

  /** Records one measured call: `tokens` pair tokens scored in `ms` milliseconds. */
  observe(tokens: number, ms: number): void {
    if (!(tokens > 0) || !(ms >= 0) || !Number.isFinite(ms)) return;
    const measured = ms / tokens;
    this.#msPerToken = this.#msPerToken === undefined ? measured : SMOOTHING * measured + (1 - SMOOTHING) * this.#msPerToken;
    this.#samples++;
  }

  /** Estimated milliseconds to score pairs of these token lengths. */
  estimate(tokens: readonly number[]): number {
    if (this.#msPerToken === undefined) throw new BiencoderError('INVALID_ARGUMENT', 'the rerank cost is not known yet');
    let total = 0;
    for (const t of tokens) total += t;
    return total * this.#msPerToken;
  }

  /** How many of the pairs, taken in order, fit in `ms` milliseconds by the current estimate. */
  fits(tokens: readonly number[], ms: number): number {
    if (this.#msPerToken === undefined || !(ms > 0)) return 0;
    let spent = 0;
    for (let i = 0; i < tokens.length; i++) {
      spent += tokens[i] * this.#msPerToken;
      if (spent > ms) return i;
    }
    return tokens.length;
  }
}
