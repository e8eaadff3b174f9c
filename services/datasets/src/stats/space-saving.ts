/** One counted value of a frequency sketch. */
export interface ValueFrequency {
  readonly value: string;
  readonly count: number;
}

/**
 * Space-Saving heavy-hitters sketch (Metwally et al. 2005) with a fixed number of counters:
 * a monitored value's count is never below its true count and overestimates it by at most
 * N / capacity, so the top handful of a skewed column is reported correctly. Counters live
 * in a min-heap keyed by count, so evicting the smallest is O(log capacity).
 */
export class SpaceSaving {
  private readonly values: string[] = [];
  private readonly counts: number[] = [];
  private readonly positions = new Map<string, number>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be ≥ 1, got ${capacity}`);
  }

  /** Counts `value` `count` more times. */
  add(value: string, count = 1): void {
    const at = this.positions.get(value);
    if (at !== undefined) {
      this.counts[at] = this.counts[at] + count;
      this.siftDown(at);
    } else if (this.values.length < this.capacity) {
      this.values.push(value);
      this.counts.push(count);
      this.positions.set(value, this.values.length - 1);
      this.siftUp(this.values.length - 1);
    } else {
      // Evict the least counted; the newcomer inherits its count (the overestimate bound).
      this.positions.delete(this.values[0]);
      this.values[0] = value;
      this.counts[0] = this.counts[0] + count;
      this.positions.set(value, 0);
      this.siftDown(0);
    }
  }

  /** All counters (unordered). */
  entries(): ValueFrequency[] {
    return this.values.map((value, i) => ({ value, count: this.counts[i] }));
  }

  private less(i: number, j: number): boolean {
    return this.counts[i] < this.counts[j];
  }

  private swap(i: number, j: number): void {
    const v = this.values[i];
    const c = this.counts[i];
    this.values[i] = this.values[j];
    this.counts[i] = this.counts[j];
    this.values[j] = v;
    this.counts[j] = c;
    this.positions.set(this.values[i], i);
    this.positions.set(v, j);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.values.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < n && this.less(l, smallest)) smallest = l;
      if (r < n && this.less(r, smallest)) smallest = r;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}

/** Orders by count descending, then by value in code point (= UTF-8 byte) order. */
export function compareFrequencies(a: ValueFrequency, b: ValueFrequency): number {
  if (a.count !== b.count) return b.count - a.count;
  return compareCodePoints(a.value, b.value);
}

/** Code point order; differs from `<` (UTF-16 units) only for astral vs U+E000..U+FFFF. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const cx = a.codePointAt(i) as number;
      const cy = b.codePointAt(i) as number;
      return cx !== cy ? cx - cy : x - y;
    }
  }
  return a.length - b.length;
}
