/** The index implementation collections use (one import point): src/index/. */
export { createIndex, loadIndex, resolveIndexSpec, type IndexSpec, type IndexSpecInput } from '../index/index-spec.ts';
