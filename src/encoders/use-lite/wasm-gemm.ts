/**
 * A small single-precision matrix multiply for the CPU, written as a WebAssembly SIMD module
 * that is assembled here at run time (no build step, no binary blob in the repository).
 *
 * The TF.js CPU backend multiplies matrices in scalar JavaScript at well under 1 GFLOP/s;
 * Universal Sentence Encoder lite spends almost all its time in matrix products, so this
 * kernel is what makes it usable. It computes C = A · B with A row-major [M, K] and B packed
 * into panels of 8 columns ([panel][k][8]), 4 rows at a time with 8 SIMD accumulators.
 *
 * Every output element is computed by the same sequence of operations (one f32 multiply and
 * one f32 add per k, in k order) whatever the row's position in the block or the matrix size,
 * so a row's result does not depend on the other rows of the batch.
 */

// The WebAssembly global, typed locally: the project's lib settings (ES2023, no DOM) do not declare it.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE = 65536;
const PANEL = 8;
/** Bytes of wasm memory for the rows of A and C in flight. */
const SCRATCH_BYTES = 4 << 20;

// --- a minimal WebAssembly assembler ----------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

const I32 = 0x7f;
const V128 = 0x7b;
const VOID = 0x40;

/** Instruction emitters; each returns its bytes. */
const op = {
  block: (): number[] => [0x02, VOID],
  loop: (): number[] => [0x03, VOID],
  end: (): number[] => [0x0b],
  br: (depth: number): number[] => [0x0c, ...uleb(depth)],
  brIf: (depth: number): number[] => [0x0d, ...uleb(depth)],
  get: (l: number): number[] => [0x20, ...uleb(l)],
  set: (l: number): number[] => [0x21, ...uleb(l)],
  i32: (v: number): number[] => [0x41, ...sleb(v)],
  add: (): number[] => [0x6a],
  sub: (): number[] => [0x6b],
  mul: (): number[] => [0x6c],
  shl: (): number[] => [0x74],
  ltU: (): number[] => [0x49],
  geU: (): number[] => [0x4f],
  f32Load: (): number[] => [0x2a, 2, 0],
  v128Load: (offset: number): number[] => [0xfd, ...uleb(0x00), 4, ...uleb(offset)],
  v128Store: (offset: number): number[] => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)],
  v128Zero: (): number[] => [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Splat: (): number[] => [0xfd, ...uleb(0x13)],
  f32x4Add: (): number[] => [0xfd, ...uleb(0xe4)],
  f32x4Mul: (): number[] => [0xfd, ...uleb(0xe6)],
};

/** `local = local + value` for an i32 local. */
function addTo(local: number, value: number[]): number[] {
  return [...op.get(local), ...value, ...op.add(), ...op.set(local)];
}

/**
 * Builds `gemm(aPtr, bPtr, cPtr, M, K, lda, panels)`: C[M, panels*8] = A[M, K (stride lda)] · Bpacked.
 * Pointers are byte offsets; B and C must be 16-byte aligned.
 */
function buildGemmModule(): Uint8Array {
  // Parameters.
  const aPtr = 0, bPtr = 1, cPtr = 2, M = 3, K = 4, lda = 5, panels = 6;
  // i32 locals.
  const i = 7, p = 8, k = 9, ap = 10, bp = 11, lda4 = 12, ldc4 = 13, cp = 14, lda8 = 15, lda12 = 16;
  const i32Locals = 10;
  // v128 locals: acc[r][h] = 17 + 2r + h, then b0, b1, av.
  const acc = (r: number, h: number): number => 17 + 2 * r + h;
  const b0 = 25, b1 = 26, av = 27;
  const v128Locals = 11;

  /** The panel loop for `rows` rows starting at row i (rows = 4 or 1). */
  const panelLoop = (rows: number): number[] => {
    const body: number[] = [];
    const rowOffset = [undefined, lda4, lda8, lda12];
    // for (p = 0; p < panels; p++)
    body.push(...op.i32(0), ...op.set(p));
    body.push(...op.block(), ...op.loop());
    body.push(...op.get(p), ...op.get(panels), ...op.geU(), ...op.brIf(1));
    for (let r = 0; r < rows; r++) for (let h = 0; h < 2; h++) body.push(...op.v128Zero(), ...op.set(acc(r, h)));
    // bp = bPtr + (p*K) << 5 ; ap = aPtr + i*lda4
    body.push(...op.get(bPtr), ...op.get(p), ...op.get(K), ...op.mul(), ...op.i32(5), ...op.shl(), ...op.add(), ...op.set(bp));
    body.push(...op.get(aPtr), ...op.get(i), ...op.get(lda4), ...op.mul(), ...op.add(), ...op.set(ap));
    // for (k = 0; k < K; k++)
    body.push(...op.i32(0), ...op.set(k));
    body.push(...op.block(), ...op.loop());
    body.push(...op.get(k), ...op.get(K), ...op.geU(), ...op.brIf(1));
    body.push(...op.get(bp), ...op.v128Load(0), ...op.set(b0));
    body.push(...op.get(bp), ...op.v128Load(16), ...op.set(b1));
    for (let r = 0; r < rows; r++) {
      body.push(...op.get(ap));
      const off = rowOffset[r];
      if (off !== undefined) body.push(...op.get(off), ...op.add());
      body.push(...op.f32Load(), ...op.f32x4Splat(), ...op.set(av));
      for (let h = 0; h < 2; h++) {
        body.push(...op.get(acc(r, h)), ...op.get(av), ...op.get(h === 0 ? b0 : b1), ...op.f32x4Mul(), ...op.f32x4Add(), ...op.set(acc(r, h)));
      }
    }
    body.push(...addTo(bp, op.i32(32)), ...addTo(ap, op.i32(4)), ...addTo(k, op.i32(1)));
    body.push(...op.br(0), ...op.end(), ...op.end());
    // cp = cPtr + i*ldc4 + p*32 ; store the rows
    body.push(...op.get(cPtr), ...op.get(i), ...op.get(ldc4), ...op.mul(), ...op.add(), ...op.get(p), ...op.i32(5), ...op.shl(), ...op.add(), ...op.set(cp));
    for (let r = 0; r < rows; r++) {
      body.push(...op.get(cp), ...op.get(acc(r, 0)), ...op.v128Store(0));
      body.push(...op.get(cp), ...op.get(acc(r, 1)), ...op.v128Store(16));
      if (r < rows - 1) body.push(...addTo(cp, op.get(ldc4)));
    }
    body.push(...addTo(p, op.i32(1)), ...op.br(0), ...op.end(), ...op.end());
    return body;
  };

  const code: number[] = [];
  // lda4 = lda << 2; lda8 = lda4 * 2; lda12 = lda4 * 3; ldc4 = panels << 5; i = 0
  code.push(...op.get(lda), ...op.i32(2), ...op.shl(), ...op.set(lda4));
  code.push(...op.get(lda4), ...op.i32(1), ...op.shl(), ...op.set(lda8));
  code.push(...op.get(lda8), ...op.get(lda4), ...op.add(), ...op.set(lda12));
  code.push(...op.get(panels), ...op.i32(5), ...op.shl(), ...op.set(ldc4));
  code.push(...op.i32(0), ...op.set(i));
  // while (M - i >= 4) { 4 rows; i += 4 }
  code.push(...op.block(), ...op.loop());
  code.push(...op.get(M), ...op.get(i), ...op.sub(), ...op.i32(4), ...op.ltU(), ...op.brIf(1));
  code.push(...panelLoop(4));
  code.push(...addTo(i, op.i32(4)), ...op.br(0), ...op.end(), ...op.end());
  // while (i < M) { 1 row; i += 1 }
  code.push(...op.block(), ...op.loop());
  code.push(...op.get(i), ...op.get(M), ...op.geU(), ...op.brIf(1));
  code.push(...panelLoop(1));
  code.push(...addTo(i, op.i32(1)), ...op.br(0), ...op.end(), ...op.end());
  code.push(...op.end());

  const locals = vec([[...uleb(i32Locals), I32], [...uleb(v128Locals), V128]]);
  const funcBody = [...locals, ...code];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // type 0: (i32 x7) -> ()
    ...section(1, vec([[0x60, ...vec(new Array<number[]>(7).fill([I32])), ...vec([])]])),
    // import env.memory (min 1 page)
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]])),
    // one function of type 0
    ...section(3, vec([uleb(0)])),
    // export "gemm"
    ...section(7, vec([[...name('gemm'), 0x00, ...uleb(0)]])),
    ...section(10, vec([[...uleb(funcBody.length), ...funcBody]])),
  ];
  return new Uint8Array(bytes);
}

// --- the JavaScript side ----------------------------------------------------------------------

type GemmFn = (aPtr: number, bPtr: number, cPtr: number, m: number, k: number, lda: number, panels: number) => void;

interface PackedB {
  ptr: number;
  k: number;
  n: number;
  transB: boolean;
}

let compiled: object | undefined;

/** Whether this runtime can compile the SIMD kernel. */
export function wasmSimdSupported(): boolean {
  try {
    compiled ??= new wasm.Module(buildGemmModule());
    return true;
  } catch {
    return false;
  }
}

/**
 * C[M, N] = A[M, K] · B with B either [K, N] or (transB) [N, K], all row-major.
 * Constant right-hand sides (model weights) are packed once and kept, keyed by an object
 * the caller guarantees to be tied to that constant (e.g. a tensor's dataId).
 */
export class WasmGemm {
  private readonly memory: WasmMemory;
  private readonly gemm: GemmFn;
  private f32: Float32Array;
  /** End of the persistent region holding packed constants; scratch space starts here. */
  private persistentEnd = 64;
  private readonly packed = new WeakMap<object, PackedB>();

  constructor() {
    compiled ??= new wasm.Module(buildGemmModule());
    this.memory = new wasm.Memory({ initial: 16 });
    const instance = new wasm.Instance(compiled, { env: { memory: this.memory } });
    this.gemm = instance.exports.gemm as GemmFn;
    this.f32 = new Float32Array(this.memory.buffer);
  }

  /** Bytes of wasm memory in use (persistent constants plus the largest scratch so far). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  matmul(
    a: Float32Array, aOffset: number,
    b: Float32Array, bOffset: number, transB: boolean,
    c: Float32Array, cOffset: number,
    m: number, k: number, n: number,
    constantKey?: object,
  ): void {
    if (m === 0 || n === 0) return;
    const panels = Math.ceil(n / PANEL);
    const ldc = panels * PANEL;
    let bPtr: number;
    let scratch = this.persistentEnd;
    const cached = constantKey === undefined ? undefined : this.packed.get(constantKey);
    if (cached !== undefined && cached.k === k && cached.n === n && cached.transB === transB) {
      bPtr = cached.ptr;
    } else if (constantKey !== undefined) {
      bPtr = this.persistentEnd;
      this.persistentEnd = align16(bPtr + panels * k * PANEL * 4);
      this.ensure(this.persistentEnd);
      this.packB(b, bOffset, transB, k, n, bPtr);
      this.packed.set(constantKey, { ptr: bPtr, k, n, transB });
      scratch = this.persistentEnd;
    } else {
      bPtr = scratch;
      scratch = align16(bPtr + panels * k * PANEL * 4);
    }
    // Rows go through wasm memory in chunks, so scratch space stays small whatever the batch.
    const chunkRows = Math.max(4, Math.floor(SCRATCH_BYTES / ((k + ldc) * 4)) & ~3);
    const rowsPerCall = Math.min(m, chunkRows);
    const aPtr = scratch;
    const cPtr = align16(aPtr + rowsPerCall * k * 4);
    this.ensure(cPtr + rowsPerCall * ldc * 4);
    if (constantKey === undefined) this.packB(b, bOffset, transB, k, n, bPtr);
    const f32 = this.f32;
    const c0 = cPtr >> 2;
    for (let r0 = 0; r0 < m; r0 += rowsPerCall) {
      const rows = Math.min(rowsPerCall, m - r0);
      if (k === 0) {
        f32.fill(0, c0, c0 + rows * ldc);
      } else {
        f32.set(a.subarray(aOffset + r0 * k, aOffset + (r0 + rows) * k), aPtr >> 2);
        this.gemm(aPtr, bPtr, cPtr, rows, k, k, panels);
      }
      const out = cOffset + r0 * n;
      if (ldc === n) {
        c.set(f32.subarray(c0, c0 + rows * n), out);
      } else {
        for (let r = 0; r < rows; r++) c.set(f32.subarray(c0 + r * ldc, c0 + r * ldc + n), out + r * n);
      }
    }
  }

  private packB(b: Float32Array, bOffset: number, transB: boolean, k: number, n: number, ptr: number): void {
    const f32 = this.f32;
    let o = ptr >> 2;
    for (let p = 0; p < n; p += PANEL) {
      const width = Math.min(PANEL, n - p);
      for (let kk = 0; kk < k; kk++) {
        if (transB) {
          for (let j = 0; j < width; j++) f32[o + j] = b[bOffset + (p + j) * k + kk];
        } else {
          const row = bOffset + kk * n + p;
          for (let j = 0; j < width; j++) f32[o + j] = b[row + j];
        }
        for (let j = width; j < PANEL; j++) f32[o + j] = 0;
        o += PANEL;
      }
    }
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const pages = Math.ceil((bytes - have) / PAGE);
    this.memory.grow(Math.max(pages, Math.ceil(have / PAGE / 4)));
    this.f32 = new Float32Array(this.memory.buffer);
  }
}

function align16(n: number): number {
  return (n + 15) & ~15;
}
