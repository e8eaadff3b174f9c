import type { ArrowValue } from "../values.js";

/**
 * One entity's source rows of one view, sorted by event time (ties in source order), for
 * point-in-time lookups.
 */
export class Timeline {
  private times: number[] = [];
  private rows: ArrowValue[][] = [];
  private sorted = true;

  /** Adds a source row (call in source order). */
  add(time: number, values: ArrowValue[]): void {
    const last = this.times[this.times.length - 1];
    if (last !== undefined && time < last) this.sorted = false;
    this.times.push(time);
    this.rows.push(values);
  }

  /**
   * The values of the latest row at or before `at` (the last such in source order on a
   * tie), provided it is no older than `ttlMs` before `at` (0: any age); undefined otherwise.
   * Never a row after `at`: that would leak the future into training data.
   */
  lookup(at: number, ttlMs: number): ArrowValue[] | undefined {
    this.sort();
    // Binary search for the first time > at; the row before it is the candidate.
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.times[mid] as number) <= at) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    const time = this.times[lo - 1] as number;
    if (ttlMs > 0 && at - time > ttlMs) return undefined;
    return this.rows[lo - 1];
  }

  private sort(): void {
    if (this.sorted) return;
    // A stable sort by time keeps source order among equal times.
    const order = this.times
      .map((_, i) => i)
      .sort((a, b) => (this.times[a] as number) - (this.times[b] as number) || a - b);
    this.times = order.map((i) => this.times[i] as number);
    this.rows = order.map((i) => this.rows[i] as ArrowValue[]);
    this.sorted = true;
  }
}
