/** A small seeded pseudo-random generator (mulberry32) giving floats in [0, 1): deterministic test data. */
export { mulberry32 as rng } from '../../src/tune/seeded-random.ts';
