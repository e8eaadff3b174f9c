import { isAscii } from "node:buffer";
import { create } from "@bufbuild/protobuf";
import { type StringStats, StringStatsSchema } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { Data } from "apache-arrow";
import { bitIsSet, nullBitmapOf } from "./arrow-columns.js";
import { HyperLogLog } from "./hyperloglog.js";
import { compareFrequencies, type ValueFrequency } from "./space-saving.js";
import { codePointsOf, hashUtf8 } from "./utf8-hash.js";
import { Utf8SpaceSaving } from "./utf8-space-saving.js";
import { Utf8Table } from "./utf8-table.js";

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
 * while there are at most `exactDistinct` distinct values; past that, the counts are
 * folded into a HyperLogLog (distinct estimate, distinct_exact = false) and a Space-Saving
 * sketch (top values, counts then upper bounds), and the exact counts are dropped. Lengths
 * are in Unicode code points, counted from UTF-8 bytes without decoding.
 *
 * The exact counts are kept by UTF-8 bytes (a {@link Utf8Table}), so a value seen before
 * is counted without decoding it; values are decoded to strings only for the result or
 * when switching to the sketches (where byte strings that decode alike, which only
 * invalid UTF-8 can do, are merged, exactly as counting decoded strings would).
 */
export class StringAccumulator {
  private table: Utf8Table | undefined = new Utf8Table();
  /** Exact counts by decoded string, once the table was folded without going past the limit. */
  private exact: Map<string, number> | undefined;
  private hll: HyperLogLog | undefined;
  private sketch: Utf8SpaceSaving | undefined;
  private minLength = Number.POSITIVE_INFINITY;
  private maxLength = 0;
  private n = 0;

  constructor(private readonly limits: StringLimits = DEFAULT_STRING_LIMITS) {}

  /** Adds one batch's data. */
  add(data: Data): void {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    const nulls = nullBitmapOf(data);
    const offset = data.offset;
    const length = data.length;
    let minLength = this.minLength;
    let maxLength = this.maxLength;
    let i = 0;
    // Usually every value is ASCII, checked at once for the batch: then a value's length in
    // code points is its length in bytes, without a counting pass over each (a third of the
    // time of a column of few distinct values).
    const ascii = length > 0 && isAscii(bytes.subarray(offsets[0], offsets[length]));
    const table = this.table;
    if (table !== undefined) {
      const limit = this.limits.exactDistinct;
      let n = 0;
      for (; i < length; i++) {
        if (nulls !== undefined && !bitIsSet(nulls, offset + i)) continue;
        const start = offsets[i];
        const end = offsets[i + 1];
        table.add(bytes, start, end);
        const chars = ascii ? end - start : codePointsOf(bytes, start, end);
        if (chars < minLength) minLength = chars;
        if (chars > maxLength) maxLength = chars;
        n++;
        if (table.size > limit) {
          this.foldTable(table);
          i++;
          break;
        }
      }
      this.n += n;
    }
    if (i < length) {
      // Buffer#toString decodes a byte range without copying it first, unlike TextDecoder.
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (; i < length; i++) {
        if (nulls !== undefined && !bitIsSet(nulls, offset + i)) continue;
        const start = offsets[i];
        const end = offsets[i + 1];
        const chars = ascii ? end - start : codePointsOf(bytes, start, end);
        if (chars < minLength) minLength = chars;
        if (chars > maxLength) maxLength = chars;
        if (this.exact !== undefined) {
          const value = buffer.toString("utf8", start, end);
          this.exact.set(value, (this.exact.get(value) ?? 0) + 1);
          if (this.exact.size > this.limits.exactDistinct) this.switchToSketches(this.exact);
        } else {
          // One hash for both sketches.
          const h = hashUtf8(bytes, start, end);
          this.hll?.addHash(h);
          this.sketch?.addHashed(bytes, start, end, h);
        }
        this.n++;
      }
    }
    this.minLength = minLength;
    this.maxLength = maxLength;
  }

  /** Replaces the byte table by exact string counts, or by the sketches past the limit. */
  private foldTable(table: Utf8Table): void {
    this.table = undefined;
    // Valid UTF-8 values are as distinct as their strings: straight to the sketches,
    // without decoding every value (about a third of a large upload's string statistics).
    if (table.allValidUtf8()) {
      this.switchFromTable(table);
      return;
    }
    const exact = decodeCounts(table);
    if (exact.size > this.limits.exactDistinct) this.switchToSketches(exact);
    else this.exact = exact;
  }

  /** {@link switchToSketches} from a table of valid UTF-8 values: the same sketches, from bytes. */
  private switchFromTable(table: Utf8Table): void {
    const hll = new HyperLogLog();
    table.forEach((bytes, start, end) => {
      hll.addUtf8(bytes, start, end);
    });
    const sketch = new Utf8SpaceSaving(this.limits.sketchCounters);
    table.forEachTop(this.limits.sketchCounters, (bytes, start, end, count) => {
      sketch.add(bytes, start, end, count);
    });
    this.hll = hll;
    this.sketch = sketch;
  }

  private switchToSketches(exact: Map<string, number>): void {
    const hll = new HyperLogLog();
    for (const value of exact.keys()) hll.addString(value);
    // Seeding with the largest exact counts keeps Space-Saving's guarantee: anything
    // evicted later re-enters at (smallest kept count + 1), above its true count so far.
    const sketch = new Utf8SpaceSaving(this.limits.sketchCounters);
    const entries = [...exact].map(([value, count]) => ({ value, count }));
    entries.sort(compareFrequencies);
    for (const e of entries.slice(0, this.limits.sketchCounters)) {
      const bytes = Buffer.from(e.value, "utf8");
      sketch.add(bytes, 0, bytes.length, e.count);
    }
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
    const { table } = this;
    if (table?.allValidUtf8()) {
      // Valid UTF-8 values are as distinct as their strings: only the top ones are decoded.
      const top: ValueFrequency[] = [];
      table.forEachTop(this.limits.topValues, (bytes, start, end, count) => {
        top.push({ value: Buffer.from(bytes.buffer, bytes.byteOffset).toString("utf8", start, end), count });
      });
      return this.stats(table.size, true, top);
    }
    const exact = table !== undefined ? decodeCounts(table) : this.exact;
    const frequencies: ValueFrequency[] =
      exact !== undefined
        ? [...exact].map(([value, count]) => ({ value, count }))
        : (this.sketch?.entries() ?? []);
    frequencies.sort(compareFrequencies);
    // Past the switch there are provably more than `exactDistinct` values, whatever the estimate says.
    const distinct =
      exact?.size ?? Math.max(this.limits.exactDistinct + 1, Math.round(this.hll?.estimate() ?? 0));
    return this.stats(distinct, exact !== undefined, frequencies.slice(0, this.limits.topValues));
  }

  private stats(distinct: number, exact: boolean, top: readonly ValueFrequency[]): StringStats {
    return create(StringStatsSchema, {
      distinctCount: BigInt(distinct),
      distinctExact: exact,
      topValues: top.map(({ value, count }) => ({ value, count: BigInt(count) })),
      minLength: BigInt(this.n === 0 ? 0 : this.minLength),
      maxLength: BigInt(this.maxLength),
    });
  }
}

/** The table's counts by decoded string (merging byte strings that decode alike). */
function decodeCounts(table: Utf8Table): Map<string, number> {
  const exact = new Map<string, number>();
  table.forEach((bytes, start, end, count) => {
    const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8", start, end);
    exact.set(value, (exact.get(value) ?? 0) + count);
  });
  return exact;
}
