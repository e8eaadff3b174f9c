import { isUtf8 } from "node:buffer";

/**
 * A counting hash set of UTF-8 byte strings: the values are kept as bytes in one arena,
 * looked up by a 32-bit hash of their bytes (open addressing, linear probing), so that
 * counting a value that was seen before decodes nothing and allocates nothing.
 */
export class Utf8Table {
  /** Entry index + 1 per slot; 0 for an empty slot. */
  private slots: Int32Array;
  private mask: number;
  private hashes: Int32Array;
  private starts: Int32Array;
  private lengths: Int32Array;
  private counts: Float64Array;
  private arena: Uint8Array;
  private arenaUsed = 0;
  private n = 0;

  constructor(initialEntries = 1024) {
    let capacity = 16;
    while (capacity < initialEntries * 2) capacity *= 2;
    this.slots = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.hashes = new Int32Array(initialEntries);
    this.starts = new Int32Array(initialEntries);
    this.lengths = new Int32Array(initialEntries);
    this.counts = new Float64Array(initialEntries);
    this.arena = new Uint8Array(initialEntries * 16);
  }

  /** Distinct values held. */
  get size(): number {
    return this.n;
  }

  /** Counts bytes[start, end) `count` more times. */
  add(bytes: Uint8Array, start: number, end: number, count = 1): void {
    const length = end - start;
    let h = 0x811c9dc5;
    for (let b = start; b < end; b++) h = Math.imul(h ^ bytes[b], 0x01000193);
    // fmix32: FNV's low bits alone are poor slot indexes.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    const slots = this.slots;
    const mask = this.mask;
    const arena = this.arena;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = slots[slot] - 1;
      if (e < 0) {
        this.insert(slot, h, bytes, start, length, count);
        return;
      }
      if (this.hashes[e] !== h || this.lengths[e] !== length) continue;
      const at = this.starts[e] - start;
      let same = true;
      for (let b = start; b < end; b++) {
        if (arena[at + b] !== bytes[b]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.counts[e] += count;
        return;
      }
    }
  }

  private insert(
    slot: number,
    h: number,
    bytes: Uint8Array,
    start: number,
    length: number,
    count: number,
  ): void {
    const e = this.n;
    if (e === this.hashes.length) this.growEntries();
    if (this.arenaUsed + length > this.arena.length) {
      const arena = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + length));
      arena.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = arena;
    }
    this.arena.set(bytes.subarray(start, start + length), this.arenaUsed);
    this.hashes[e] = h;
    this.starts[e] = this.arenaUsed;
    this.lengths[e] = length;
    this.counts[e] = count;
    this.arenaUsed += length;
    this.slots[slot] = e + 1;
    this.n++;
    if (this.n * 2 > this.slots.length) this.rehash();
  }

  private growEntries(): void {
    const size = this.hashes.length * 2;
    const grow = <T extends Int32Array | Float64Array>(old: T, next: T): T => {
      next.set(old);
      return next;
    };
    this.hashes = grow(this.hashes, new Int32Array(size));
    this.starts = grow(this.starts, new Int32Array(size));
    this.lengths = grow(this.lengths, new Int32Array(size));
    this.counts = grow(this.counts, new Float64Array(size));
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.n; e++) {
      let slot = this.hashes[e] & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = e + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }

  /** Whether every value held is valid UTF-8 (so distinct byte strings decode to distinct strings). */
  allValidUtf8(): boolean {
    for (let e = 0; e < this.n; e++) {
      const start = this.starts[e];
      if (!isUtf8(this.arena.subarray(start, start + this.lengths[e]))) return false;
    }
    return true;
  }

  /**
   * Up to `k` entries, most frequent first, ties in byte order (for valid UTF-8, the order
   * of `compareFrequencies`), each visited with its bytes (a view into the arena) and count.
   * Only the entries at or above the k-th largest count are sorted.
   */
  forEachTop(k: number, visit: (bytes: Uint8Array, start: number, end: number, count: number) => void): void {
    const { counts, starts, lengths, arena } = this;
    const n = this.n;
    let threshold = Number.NEGATIVE_INFINITY;
    if (n > k) threshold = Float64Array.from(counts.subarray(0, n)).sort()[n - k] as number;
    const candidates: number[] = [];
    for (let e = 0; e < n; e++) if (counts[e] >= threshold) candidates.push(e);
    candidates.sort((a, b) => {
      if (counts[a] !== counts[b]) return counts[b] - counts[a];
      const sa = starts[a];
      const sb = starts[b];
      const la = lengths[a];
      const lb = lengths[b];
      const common = Math.min(la, lb);
      for (let i = 0; i < common; i++) {
        const d = arena[sa + i] - arena[sb + i];
        if (d !== 0) return d;
      }
      return la - lb;
    });
    for (let i = 0; i < Math.min(k, candidates.length); i++) {
      const e = candidates[i] as number;
      visit(arena, starts[e], starts[e] + lengths[e], counts[e]);
    }
  }

  /** Calls `visit` with each value's bytes (a view into the arena) and count, in insertion order. */
  forEach(visit: (bytes: Uint8Array, start: number, end: number, count: number) => void): void {
    for (let e = 0; e < this.n; e++) {
      const start = this.starts[e];
      visit(this.arena, start, start + this.lengths[e], this.counts[e]);
    }
  }
}
