import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "@seam/kit/errors";
import {
  BoolStatsSchema,
  type Column,
  type ColumnStats,
  ColumnStatsSchema,
  ColumnType,
  type Schema,
  TimestampStatsSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { Data } from "apache-arrow";
import { type BatchSource, bitIsSet, columnData, int32PairsOf, nullBitmapOf } from "./arrow-columns.js";
import { NumericAccumulator } from "./numeric.js";
import { DEFAULT_STRING_LIMITS, StringAccumulator, type StringLimits } from "./string-stats.js";

/** Options of {@link computeStats}. */
export interface StatsOptions {
  /** Bins of numeric histograms, at least 1. */
  readonly histogramBins: number;
  /** Sketch bounds of string columns; defaults to {@link DEFAULT_STRING_LIMITS}. */
  readonly stringLimits?: StringLimits;
}

const TWO_32 = 4294967296;

class BoolAccumulator {
  trueCount = 0;
  falseCount = 0;
  add(data: Data): void {
    const bits = data.values as Uint8Array;
    const nulls = nullBitmapOf(data);
    let trues = 0;
    let valid = 0;
    for (let i = 0, bit = data.offset; i < data.length; i++, bit++) {
      if (nulls !== undefined && !bitIsSet(nulls, bit)) continue;
      valid++;
      if (bitIsSet(bits, bit)) trues++;
    }
    this.trueCount += trues;
    this.falseCount += valid - trues;
  }
}

class TimestampAccumulator {
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  add(data: Data): void {
    const pairs = int32PairsOf(data);
    const nulls = nullBitmapOf(data);
    let { min, max } = this;
    for (let i = 0; i < data.length; i++) {
      if (nulls !== undefined && !bitIsSet(nulls, data.offset + i)) continue;
      // Epoch milliseconds of real dates are far below 2^53, so this double is exact.
      const ms = pairs[2 * i + 1] * TWO_32 + (pairs[2 * i] >>> 0);
      if (ms < min) min = ms;
      if (ms > max) max = ms;
    }
    this.min = min;
    this.max = max;
  }
}

type Accumulator = NumericAccumulator | StringAccumulator | BoolAccumulator | TimestampAccumulator;

function accumulatorFor(column: Column, limits: StringLimits): Accumulator {
  switch (column.type) {
    case ColumnType.INT64:
    case ColumnType.FLOAT64:
      return new NumericAccumulator();
    case ColumnType.STRING:
      return new StringAccumulator(limits);
    case ColumnType.BOOL:
      return new BoolAccumulator();
    case ColumnType.TIMESTAMP:
      return new TimestampAccumulator();
    case ColumnType.UNSPECIFIED:
      throw new InvalidArgumentError(`column "${column.name}" has no type`);
  }
}

function kindOf(acc: Accumulator): ColumnStats["kind"] {
  if (acc instanceof NumericAccumulator) return { case: "numeric", value: acc.result() };
  if (acc instanceof StringAccumulator) return { case: "string", value: acc.result() };
  if (acc instanceof BoolAccumulator) {
    const value = create(BoolStatsSchema, {
      trueCount: BigInt(acc.trueCount),
      falseCount: BigInt(acc.falseCount),
    });
    return { case: "bool", value };
  }
  const value = create(TimestampStatsSchema, {
    min: timestampFromMs(acc.min),
    max: timestampFromMs(acc.max),
  });
  return { case: "timestamp", value };
}

/**
 * Per-column statistics of a stored version, in schema order (ColumnStats of
 * seam.datasets.v1). `batches` is opened twice: pass 1 gathers counts, min / max, moments,
 * bool and string statistics; pass 2 (only when there are non-empty numeric columns) fills
 * the histograms, whose bounds pass 1 found. Memory is bounded whatever the row count
 * (see StringAccumulator for the string sketches). A column whose values are all null has
 * no `kind`. Throws DataLossError when the stored data lacks a schema column or has a
 * different type for it.
 */
export async function computeStats(
  batches: BatchSource,
  schema: Schema,
  options: StatsOptions,
): Promise<ColumnStats[]> {
  const bins = options.histogramBins;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new InvalidArgumentError(`histogram_bins must be a positive integer, got ${bins}`);
  }
  const limits = options.stringLimits ?? DEFAULT_STRING_LIMITS;
  const columns = schema.columns;
  const accumulators = columns.map((c) => accumulatorFor(c, limits));
  const rows = new Float64Array(columns.length);
  const nulls = new Float64Array(columns.length);

  for await (const batch of batches()) {
    columns.forEach((column, i) => {
      const data = columnData(batch, column.name, column.type);
      rows[i] += data.length;
      nulls[i] += data.nullCount;
      accumulators[i].add(data);
    });
  }

  const histogrammed = columns
    .map((column, i) => ({ column, acc: accumulators[i] }))
    .filter((x): x is { column: Column; acc: NumericAccumulator } => x.acc instanceof NumericAccumulator)
    .filter(({ acc }) => acc.needsHistogram);
  if (histogrammed.length > 0) {
    for await (const batch of batches()) {
      for (const { column, acc } of histogrammed)
        acc.addToHistogram(columnData(batch, column.name, column.type), bins);
    }
  }

  return columns.map((column, i) => {
    const count = rows[i] - nulls[i];
    return create(ColumnStatsSchema, {
      name: column.name,
      count: BigInt(count),
      nullCount: BigInt(nulls[i]),
      ...(count > 0 ? { kind: kindOf(accumulators[i]) } : {}),
    });
  });
}
