/**
 * 1-bit (sign) quantization: bit j of a code is set when component j is > 0 (most significant bit first,
 * as usearch packs b1 vectors), so a d-dim vector takes ceil(d / 8) bytes.
 *
 * Codes are searched by an exact asymmetric scan: the query stays f32 and each code is scored by
 * q . s(x), where s(x) is the code as a +-1 vector, with one 256-entry lookup table per code byte
 * (ceil(d/8) table reads per row). On GloVe-100 this ranks the true neighbours far better than the
 * symmetric Hamming distance between two codes (the 10 exact neighbours of a query are among its best
 * 320 codes 91% of the time, against 69% with Hamming), and better than an HNSW graph over Hamming
 * codes, whose recall after rescoring stays under 0.75 even with 512 candidates.
 */
import { TopK } from '../index/top-k.ts';

export function binaryBytes(dims: number): number {
  return (dims + 7) >> 3;
}

/** Packs rows x dims floats into codes (rows x binaryBytes(dims)), writing from row `atRow` of `out`. */
export function packSigns(data: Float32Array, rows: number, dims: number, out: Uint8Array, atRow = 0): void {
  const b = binaryBytes(dims);
  for (let r = 0; r < rows; r++) {
    const o = r * dims;
    const c = (atRow + r) * b;
    out.fill(0, c, c + b);
    for (let j = 0; j < dims; j++) if (data[o + j] > 0) out[c + (j >> 3)] |= 128 >> (j & 7);
  }
}

/** The lookup tables of one query: lut[byte * 256 + v] = sum over the bits of v of (bit set ? +q : -q). */
export function queryTables(query: Float32Array, qo: number, dims: number, lut = new Float64Array(binaryBytes(dims) * 256)): Float64Array {
  const b = binaryBytes(dims);
  for (let byte = 0; byte < b; byte++) {
    const t = byte * 256;
    let base = 0;
    for (let bit = 0; bit < 8; bit++) {
      const j = byte * 8 + bit;
      if (j < dims) base -= query[qo + j];
    }
    lut[t] = base;
    for (let v = 1; v < 256; v++) {
      const low = v & -v; // the lowest set bit of v
      const bit = 7 - (31 - Math.clz32(low)); // its position counted from the most significant bit
      const j = byte * 8 + bit;
      lut[t + v] = lut[t + (v ^ low)] + (j < dims ? 2 * query[qo + j] : 0);
    }
  }
  return lut;
}

/**
 * For each query, the `candidates` rows with the highest asymmetric scores (rows: all of [0, n), or the
 * given subset). Returns the candidate rows of each query (unordered).
 */
export function binaryScan(
  codes: Uint8Array, n: number, dims: number, queries: Float32Array, nq: number, candidates: number, subset?: Int32Array,
): Int32Array[] {
  const b = binaryBytes(dims);
  const total = subset ? subset.length : n;
  const c = Math.min(candidates, total);
  const out: Int32Array[] = [];
  const lut = new Float64Array(b * 256);
  const heap = new TopK(Math.max(1, c));
  for (let qi = 0; qi < nq; qi++) {
    if (c === 0) {
      out.push(new Int32Array(0));
      continue;
    }
    queryTables(queries, qi * dims, dims, lut);
    heap.reset();
    for (let i = 0; i < total; i++) {
      const r = subset ? subset[i] : i;
      let o = r * b;
      let s = 0;
      for (let t = 0; t < b * 256; t += 256) s += lut[t + codes[o++]];
      if (s > heap.threshold) heap.push(s, r);
    }
    out.push(heap.ids.slice(0, heap.size));
  }
  return out;
}
