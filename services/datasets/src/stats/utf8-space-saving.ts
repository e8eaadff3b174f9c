import type { ValueFrequency } from "./space-saving.js";
import { hashUtf8 } from "./utf8-hash.js";

/**
 * {@link SpaceSaving} over UTF-8 byte strings: the same algorithm, heap and tie order (so
 * the same counters for the same input), but a value is looked up by its bytes in a small
 * open-addressing index instead of being decoded to a JS string first. Values are decoded
 * only by `entries()`, merging byte strings that decode alike (only invalid UTF-8 does).
 */
export class Utf8SpaceSaving {
  /** Heap of counters: count and entry per heap position. */
  private readonly heapCounts: Float64Array;
  private readonly heapEntries: Int32Array;
  /** Heap position per entry. */
  private readonly positions: Int32Array;
  private readonly values: Uint8Array[];
  private readonly lengths: Int32Array;
  private readonly hashes: Int32Array;
  /** Entry + 1 per index slot (linear probing), 0 when empty. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  private size = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be ≥ 1, got ${capacity}`);
    this.heapCounts = new Float64Array(capacity);
    this.heapEntries = new Int32Array(capacity);
    this.positions = new Int32Array(capacity);
    this.values = [];
    this.lengths = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    let slots = 8;
    while (slots < capacity * 4) slots *= 2;
    this.slots = new Int32Array(slots);
    this.mask = slots - 1;
  }

  /** Counts bytes[start, end) `count` more times. */
  add(bytes: Uint8Array, start: number, end: number, count = 1): void {
    this.addHashed(bytes, start, end, hashUtf8(bytes, start, end), count);
  }

  /** {@link add} for a caller that already has the value's {@link hashUtf8}. */
  addHashed(bytes: Uint8Array, start: number, end: number, h: number, count = 1): void {
    const e = this.find(bytes, start, end, h);
    if (e >= 0) {
      const at = this.positions[e];
      this.heapCounts[at] += count;
      this.siftDown(at);
    } else if (this.size < this.capacity) {
      const entry = this.size++;
      this.values.push(new Uint8Array(Math.max(16, end - start)));
      this.store(entry, bytes, start, end, h);
      this.heapCounts[entry] = count;
      this.heapEntries[entry] = entry;
      this.positions[entry] = entry;
      this.siftUp(entry);
    } else {
      // Evict the least counted; the newcomer inherits its count (the overestimate bound).
      const entry = this.heapEntries[0];
      this.unindex(entry);
      this.store(entry, bytes, start, end, h);
      this.heapCounts[0] += count;
      this.siftDown(0);
    }
  }

  /** All counters (unordered), decoded. */
  entries(): ValueFrequency[] {
    const merged = new Map<string, number>();
    for (let at = 0; at < this.size; at++) {
      const e = this.heapEntries[at];
      const v = this.values[e] as Uint8Array;
      const value = Buffer.from(v.buffer, v.byteOffset, this.lengths[e]).toString("utf8");
      merged.set(value, (merged.get(value) ?? 0) + this.heapCounts[at]);
    }
    return [...merged].map(([value, count]) => ({ value, count }));
  }

  private find(bytes: Uint8Array, start: number, end: number, h: number): number {
    const length = end - start;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const e = this.slots[slot] - 1;
      if (e < 0) return -1;
      if (this.hashes[e] !== h || this.lengths[e] !== length) continue;
      const v = this.values[e] as Uint8Array;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (v[i] !== bytes[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return e;
    }
  }

  /** Sets entry `e` to the value and indexes it. */
  private store(e: number, bytes: Uint8Array, start: number, end: number, h: number): void {
    const length = end - start;
    let v = this.values[e] as Uint8Array;
    if (v.length < length) {
      v = new Uint8Array(length * 2);
      this.values[e] = v;
    }
    // A loop, not set(subarray(...)): most values are short, and this runs for nearly every
    // value of a column with many distinct ones (an eviction each).
    for (let i = 0; i < length; i++) v[i] = bytes[start + i];
    this.lengths[e] = length;
    this.hashes[e] = h;
    let slot = h & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = e + 1;
  }

  /** Removes entry `e` from the index (backward-shift deletion keeps probe chains intact). */
  private unindex(e: number): void {
    const mask = this.mask;
    const slots = this.slots;
    let hole = this.hashes[e] & mask;
    while (slots[hole] !== e + 1) hole = (hole + 1) & mask;
    for (let next = (hole + 1) & mask; slots[next] !== 0; next = (next + 1) & mask) {
      const home = this.hashes[slots[next] - 1] & mask;
      // Move the entry at `next` into the hole unless its home lies cyclically in (hole, next].
      const between = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!between) {
        slots[hole] = slots[next];
        hole = next;
      }
    }
    slots[hole] = 0;
  }

  private swap(i: number, j: number): void {
    const c = this.heapCounts[i];
    const e = this.heapEntries[i];
    this.heapCounts[i] = this.heapCounts[j];
    this.heapEntries[i] = this.heapEntries[j];
    this.heapCounts[j] = c;
    this.heapEntries[j] = e;
    this.positions[this.heapEntries[i]] = i;
    this.positions[e] = j;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!(this.heapCounts[i] < this.heapCounts[parent])) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  /**
   * Moves the counter at `i` down to its place. The same comparisons and the same final heap
   * as swapping level by level, but each counter passed over is written once and the moving
   * one only at the end: an evicted root sinks through every level when most counts are
   * tied, as they are once a column has far more distinct values than counters.
   */
  private siftDown(i: number): void {
    const n = this.size;
    const counts = this.heapCounts;
    const entries = this.heapEntries;
    const count = counts[i];
    const entry = entries[i];
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      let smallestCount = count;
      if (l < n && counts[l] < smallestCount) {
        smallest = l;
        smallestCount = counts[l];
      }
      if (r < n && counts[r] < smallestCount) {
        smallest = r;
        smallestCount = counts[r];
      }
      if (smallest === i) break;
      counts[i] = smallestCount;
      entries[i] = entries[smallest];
      this.positions[entries[i]] = i;
      i = smallest;
    }
    counts[i] = count;
    entries[i] = entry;
    this.positions[entry] = i;
  }
}
