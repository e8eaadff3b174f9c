import { isAscii, isUtf8 } from "node:buffer";
import { hashUtf8 } from "./utf8-hash.js";

/**
 * A counting hash set of UTF-8 byte strings: the values are kept as bytes in one arena,
 * looked up by a 32-bit hash of their bytes (open addressing, linear probing), so that
 * counting a value that was seen before decodes nothing and allocates nothing.
 *
 * Laid out for the lookup: a slot holds its entry and that entry's hash side by side, and
 * an entry its start and length side by side, so a probe touches one cache line of each
 * (separate arrays per field cost a miss per field on a large table). Values are hashed
 * with {@link hashUtf8}, four bytes a step.
 */
export class Utf8Table {
  /** Per slot: entry index + 1 (0 for an empty slot), then the entry's hash. */
  private slots: Int32Array;
  private mask: number;
  /** Per entry: start in the arena, then length. */
  private spans: Int32Array;
  private counts: Float64Array;
  private arena: Uint8Array;
  private arenaUsed = 0;
  private n = 0;

  constructor(initialEntries = 1024) {
    let capacity = 16;
    while (capacity < initialEntries * 2) capacity *= 2;
    this.slots = new Int32Array(capacity * 2);
    this.mask = capacity - 1;
    this.spans = new Int32Array(initialEntries * 2);
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
    const h = hashUtf8(bytes, start, end);
    const slots = this.slots;
    const mask = this.mask;
    const spans = this.spans;
    const arena = this.arena;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = slots[2 * slot] - 1;
      if (e < 0) {
        this.insert(slot, h, bytes, start, length, count);
        return;
      }
      if (slots[2 * slot + 1] !== h || spans[2 * e + 1] !== length) continue;
      const at = spans[2 * e] - start;
      let same = true;
      for (let i = start; i < end; i++) {
        if (arena[at + i] !== bytes[i]) {
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
    if (e === this.counts.length) this.growEntries();
    if (this.arenaUsed + length > this.arena.length) {
      const arena = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + length));
      arena.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = arena;
    }
    this.arena.set(bytes.subarray(start, start + length), this.arenaUsed);
    this.spans[2 * e] = this.arenaUsed;
    this.spans[2 * e + 1] = length;
    this.counts[e] = count;
    this.arenaUsed += length;
    this.slots[2 * slot] = e + 1;
    this.slots[2 * slot + 1] = h;
    this.n++;
    if (this.n * 2 > this.mask + 1) this.rehash();
  }

  private growEntries(): void {
    const spans = new Int32Array(this.spans.length * 2);
    spans.set(this.spans);
    this.spans = spans;
    const counts = new Float64Array(this.counts.length * 2);
    counts.set(this.counts);
    this.counts = counts;
  }

  private rehash(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    const mask = slots.length / 2 - 1;
    for (let s = 0; s < old.length; s += 2) {
      if (old[s] === 0) continue;
      const h = old[s + 1] as number;
      let slot = h & mask;
      while (slots[2 * slot] !== 0) slot = (slot + 1) & mask;
      slots[2 * slot] = old[s] as number;
      slots[2 * slot + 1] = h;
    }
    this.slots = slots;
    this.mask = mask;
  }

  /** Whether every value held is valid UTF-8 (so distinct byte strings decode to distinct strings). */
  allValidUtf8(): boolean {
    // All ASCII, checked at once, is all valid; otherwise value by value (a character split
    // across two neighbouring values would make their concatenation look valid).
    if (isAscii(this.arena.subarray(0, this.arenaUsed))) return true;
    for (let e = 0; e < this.n; e++) {
      const start = this.spans[2 * e] as number;
      if (!isUtf8(this.arena.subarray(start, start + (this.spans[2 * e + 1] as number)))) return false;
    }
    return true;
  }

  /**
   * Up to `k` entries, most frequent first, ties in byte order (for valid UTF-8, the order
   * of `compareFrequencies`), each visited with its bytes (a view into the arena) and count.
   * Chosen with a heap of `k` (the last-ranked on top), not by sorting every entry: a column
   * of 100k values seen once each would otherwise sort them all for its top 10.
   */
  forEachTop(k: number, visit: (bytes: Uint8Array, start: number, end: number, count: number) => void): void {
    const { counts, spans, arena } = this;
    /** Whether entry a ranks before entry b. */
    const before = (a: number, b: number): boolean => {
      if (counts[a] !== counts[b]) return (counts[a] as number) > (counts[b] as number);
      const sa = spans[2 * a] as number;
      const sb = spans[2 * b] as number;
      const la = spans[2 * a + 1] as number;
      const lb = spans[2 * b + 1] as number;
      const common = Math.min(la, lb);
      for (let i = 0; i < common; i++) {
        const d = (arena[sa + i] as number) - (arena[sb + i] as number);
        if (d !== 0) return d < 0;
      }
      return la < lb;
    };
    const heap: number[] = [];
    const sink = (at: number): void => {
      for (;;) {
        const l = 2 * at + 1;
        const r = l + 1;
        let last = at;
        if (l < heap.length && before(heap[last] as number, heap[l] as number)) last = l;
        if (r < heap.length && before(heap[last] as number, heap[r] as number)) last = r;
        if (last === at) return;
        [heap[at], heap[last]] = [heap[last] as number, heap[at] as number];
        at = last;
      }
    };
    for (let e = 0; e < this.n && k > 0; e++) {
      if (heap.length < k) {
        heap.push(e);
        for (let at = heap.length - 1; at > 0; ) {
          const parent = (at - 1) >> 1;
          if (!before(heap[parent] as number, heap[at] as number)) break;
          [heap[at], heap[parent]] = [heap[parent] as number, heap[at] as number];
          at = parent;
        }
      } else if (before(e, heap[0] as number)) {
        heap[0] = e;
        sink(0);
      }
    }
    heap.sort((a, b) => (before(a, b) ? -1 : 1));
    for (const e of heap) {
      const start = spans[2 * e] as number;
      visit(arena, start, start + (spans[2 * e + 1] as number), counts[e] as number);
    }
  }

  /** Calls `visit` with each value's bytes (a view into the arena) and count, in insertion order. */
  forEach(visit: (bytes: Uint8Array, start: number, end: number, count: number) => void): void {
    for (let e = 0; e < this.n; e++) {
      const start = this.spans[2 * e] as number;
      visit(this.arena, start, start + (this.spans[2 * e + 1] as number), this.counts[e] as number);
    }
  }
}
