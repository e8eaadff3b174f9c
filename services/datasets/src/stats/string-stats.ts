import { create } from "@bufbuild/protobuf";
import { type StringStats, StringStatsSchema } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { Data } from "apache-arrow";
import { bitIsSet, nullBitmapOf } from "./arrow-columns.js";
import { HyperLogLog } from "./hyperloglog.js";
import { compareFrequencies, SpaceSaving, type ValueFrequency } from "./space-saving.js";

/** Bounds of the string sketches; see {@link StringAccumulator}. */
export interface StringLimits {
  /** Distinct values counted exactly before switching to the sketches. */
  readonly exactDistinct: number;
  /** Counters of the Space-Saving sketch used beyond that. */
  readonly sketchCounters: number;
  /** Top values reported. */
  readonly topValues: number;
}

/** Defaults: 100k exact distinct values, 1024 heavy-hitter counters, top 10. */
export const DEFAULT_STRING_LIMITS: StringLimits = {
  exactDistinct: 100_000,
  sketchCounters: 1024,
  topValues: 10,
};

/**
 * Accumulates a string column in one pass with bounded memory. Counts every value exactly
 * in a map while there are at most `exactDistinct` distinct values; past that, the map is
 * folded into a HyperLogLog (distinct estimate, distinct_exact = false) and a Space-Saving
 * sketch (top values, counts then upper bounds), and the map is dropped. Lengths are in
 * Unicode code points, counted from UTF-8 bytes without decoding: every byte that is not a
 * continuation byte (10xxxxxx) starts a code point.
 */
export class StringAccumulator {
  private exact: Map<string, number> | undefined = new Map();
  private hll: HyperLogLog | undefined;
  private sketch: SpaceSaving | undefined;
  private minLength = Number.POSITIVE_INFINITY;
  private maxLength = 0;
  private n = 0;

  constructor(private readonly limits: StringLimits = DEFAULT_STRING_LIMITS) {}

  /** Adds one batch's data. */
  add(data: Data): void {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    // Buffer#toString decodes a byte range without copying it first, unlike TextDecoder.
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const nulls = nullBitmapOf(data);
    const offset = data.offset;
    let minLength = this.minLength;
    let maxLength = this.maxLength;
    for (let i = 0; i < data.length; i++) {
      if (nulls !== undefined && !bitIsSet(nulls, offset + i)) continue;
      const start = offsets[i];
      const end = offsets[i + 1];
      let length = 0;
      for (let b = start; b < end; b++) if ((bytes[b] & 0xc0) !== 0x80) length++;
      if (length < minLength) minLength = length;
      if (length > maxLength) maxLength = length;
      const value = buffer.toString("utf8", start, end);
      if (this.exact !== undefined) {
        this.exact.set(value, (this.exact.get(value) ?? 0) + 1);
        if (this.exact.size > this.limits.exactDistinct) this.switchToSketches(this.exact);
      } else {
        this.hll?.addUtf8(bytes, start, end);
        this.sketch?.add(value);
      }
      this.n++;
    }
    this.minLength = minLength;
    this.maxLength = maxLength;
  }

  private switchToSketches(exact: Map<string, number>): void {
    const hll = new HyperLogLog();
    for (const value of exact.keys()) hll.addString(value);
    // Seeding with the largest exact counts keeps Space-Saving's guarantee: anything
    // evicted later re-enters at (smallest kept count + 1), above its true count so far.
    const sketch = new SpaceSaving(this.limits.sketchCounters);
    const entries = [...exact].map(([value, count]) => ({ value, count }));
    entries.sort(compareFrequencies);
    for (const e of entries.slice(0, this.limits.sketchCounters)) sketch.add(e.value, e.count);
    this.hll = hll;
    this.sketch = sketch;
    this.exact = undefined;
  }

  /** Non-null values seen. */
  get count(): number {
    return this.n;
  }

  /** The statistics. */
  result(): StringStats {
    const frequencies: ValueFrequency[] =
      this.exact !== undefined
        ? [...this.exact].map(([value, count]) => ({ value, count }))
        : (this.sketch?.entries() ?? []);
    frequencies.sort(compareFrequencies);
    // Past the switch there are provably more than `exactDistinct` values, whatever the estimate says.
    const distinct =
      this.exact?.size ?? Math.max(this.limits.exactDistinct + 1, Math.round(this.hll?.estimate() ?? 0));
    return create(StringStatsSchema, {
      distinctCount: BigInt(distinct),
      distinctExact: this.exact !== undefined,
      topValues: frequencies
        .slice(0, this.limits.topValues)
        .map(({ value, count }) => ({ value, count: BigInt(count) })),
      minLength: BigInt(this.n === 0 ? 0 : this.minLength),
      maxLength: BigInt(this.maxLength),
    });
  }
}
