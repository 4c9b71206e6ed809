/**
 * An open-addressing hash table from 64-bit keys to row numbers, for millions of keys without a
 * bigint Map (which costs ~50 bytes and a heap BigInt per entry). It stores only row numbers
 * (Int32Array, linear probing, load <= 0.7, backward-shift deletion: no tombstones); the keys
 * themselves live in the owner's key array, read as two 32-bit halves through `keyParts`
 * (a Uint32Array view of a little-endian BigUint64Array).
 */
const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);

/** The low and high 32-bit halves of a key (little-endian, as the typed-array views see them). */
export function splitKey(key: bigint): [number, number] {
  scratch64[0] = key;
  return [scratch32[0], scratch32[1]];
}

function hashParts(lo: number, hi: number): number {
  let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi ^ 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class KeyTable {
  private slots: Int32Array;
  private mask: number;
  private count = 0;
  /** keyParts[2*row] / [2*row+1]: the low / high half of the key of row. The owner rebinds it when it reallocates. */
  keyParts: Uint32Array;

  constructor(keyParts: Uint32Array, expected = 0) {
    this.keyParts = keyParts;
    let cap = 16;
    while (cap * 0.7 < expected) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table itself. */
  get bytes(): number {
    return this.slots.byteLength;
  }

  /** The row of a key, or -1. */
  get(key: bigint): number {
    scratch64[0] = key;
    return this.getParts(scratch32[0], scratch32[1]);
  }

  getParts(lo: number, hi: number): number {
    const i = this.slotOf(lo, hi);
    return i < 0 ? -1 : this.slots[i];
  }

  /** Adds the key now held at keyParts[row] (it must not be present yet). */
  insert(row: number): void {
    if ((this.count + 1) > this.slots.length * 0.7) this.grow();
    this.place(row);
    this.count++;
  }

  /** Points the entry of the key held at keyParts[row] to row (after the owner moved it there). */
  update(row: number): void {
    const i = this.slotOf(this.keyParts[2 * row], this.keyParts[2 * row + 1]);
    if (i < 0) throw new Error('KeyTable.update: key not present');
    this.slots[i] = row;
  }

  /** Removes the entry whose row is `row` (the key parts at that row must still be readable). */
  removeRow(row: number): void {
    const { slots, mask, keyParts } = this;
    let i = this.slotOf(keyParts[2 * row], keyParts[2 * row + 1]);
    if (i < 0 || slots[i] !== row) return;
    // Backward-shift deletion: move later members of the probe run into the hole when their home allows it.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const r = slots[j];
      if (r === -1) break;
      const home = hashParts(keyParts[2 * r], keyParts[2 * r + 1]) & mask;
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!between) {
        slots[i] = r;
        i = j;
      }
    }
    slots[i] = -1;
    this.count--;
  }

  clear(): void {
    this.slots.fill(-1);
    this.count = 0;
  }

  /** The slot holding the key (lo, hi), or -1 (keys are unique, so at most one slot matches). */
  private slotOf(lo: number, hi: number): number {
    const { slots, mask, keyParts } = this;
    let i = hashParts(lo, hi) & mask;
    for (;;) {
      const r = slots[i];
      if (r === -1) return -1;
      if (keyParts[2 * r] === lo && keyParts[2 * r + 1] === hi) return i;
      i = (i + 1) & mask;
    }
  }

  private place(row: number): void {
    const { slots, mask, keyParts } = this;
    let i = hashParts(keyParts[2 * row], keyParts[2 * row + 1]) & mask;
    while (slots[i] !== -1) i = (i + 1) & mask;
    slots[i] = row;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(-1);
    this.mask = this.slots.length - 1;
    for (let i = 0; i < old.length; i++) if (old[i] !== -1) this.place(old[i]);
  }
}
