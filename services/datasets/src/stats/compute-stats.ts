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
import type { Data, RecordBatch } from "apache-arrow";
import { type BatchSource, bitIsSet, columnData, int32PairsOf, nullBitmapOf } from "./arrow-columns.js";
import { NumericAccumulator } from "./numeric.js";
import { readNumericColumns, UnsupportedLayout } from "./numeric-columns-file.js";
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
 * Per-column statistics built incrementally, for a caller that sees the batches as they
 * are produced: pass 1 is `add` on every batch; then, when `needsHistogram`, pass 2 is
 * `addToHistogram` on every batch again (only numeric columns are read); then `result`.
 * {@link computeStats} is this over a re-openable source.
 */
export class StatsCollector {
  private readonly columns: readonly Column[];
  private readonly accumulators: Accumulator[];
  private readonly rows: Float64Array;
  private readonly nulls: Float64Array;
  private readonly bins: number;

  /** Throws InvalidArgumentError for a bad histogram_bins or a column without a type. */
  constructor(schema: Schema, options: StatsOptions) {
    const bins = options.histogramBins;
    if (!Number.isInteger(bins) || bins < 1) {
      throw new InvalidArgumentError(`histogram_bins must be a positive integer, got ${bins}`);
    }
    this.bins = bins;
    const limits = options.stringLimits ?? DEFAULT_STRING_LIMITS;
    this.columns = schema.columns;
    this.accumulators = this.columns.map((c) => accumulatorFor(c, limits));
    this.rows = new Float64Array(this.columns.length);
    this.nulls = new Float64Array(this.columns.length);
  }

  /** Pass 1 over one batch; DataLossError when it lacks a column or has another type. */
  add(batch: RecordBatch): void {
    this.columns.forEach((column, i) => {
      const data = columnData(batch, column.name, column.type);
      this.rows[i] += data.length;
      this.nulls[i] += data.nullCount;
      (this.accumulators[i] as Accumulator).add(data);
    });
  }

  private histogrammed(): Array<{ column: Column; acc: NumericAccumulator }> {
    return this.columns
      .map((column, i) => ({ column, acc: this.accumulators[i] }))
      .filter((x): x is { column: Column; acc: NumericAccumulator } => x.acc instanceof NumericAccumulator)
      .filter(({ acc }) => acc.needsHistogram);
  }

  /** Whether pass 2 has anything to do (a numeric column with a finite value); ask after pass 1. */
  get needsHistogram(): boolean {
    return this.histogrammed().length > 0;
  }

  /** Pass 2 over one batch (after pass 1 saw every batch). */
  addToHistogram(batch: RecordBatch): void {
    for (const { column, acc } of this.histogrammed())
      acc.addToHistogram(columnData(batch, column.name, column.type), this.bins);
  }

  /**
   * Pass 2 over the stream file at `path`, reading only the numeric columns' buffers (see
   * {@link readNumericColumns}): the same counts as {@link addToHistogram} on each of its
   * batches. On UnsupportedLayout (a file that reader leaves to apache-arrow) the counts
   * are cleared, so pass 2 can start over with `addToHistogram`.
   */
  async addFileToHistogram(path: string): Promise<void> {
    const targets = this.histogrammed();
    const wanted = targets.map(({ column }) => ({
      name: column.name,
      type: column.type as ColumnType.INT64 | ColumnType.FLOAT64,
    }));
    try {
      for await (const batch of readNumericColumns(path, wanted)) {
        batch.columns.forEach((column, i) => {
          targets[i]?.acc.addStoredToHistogram(column, batch.length, this.bins);
        });
      }
    } catch (err) {
      if (err instanceof UnsupportedLayout) for (const { acc } of targets) acc.clearHistogram();
      throw err;
    }
  }

  /** The statistics, in schema order; call after both passes. */
  result(): ColumnStats[] {
    return this.columns.map((column, i) => {
      const count = (this.rows[i] as number) - (this.nulls[i] as number);
      return create(ColumnStatsSchema, {
        name: column.name,
        count: BigInt(count),
        nullCount: BigInt(this.nulls[i] as number),
        ...(count > 0 ? { kind: kindOf(this.accumulators[i] as Accumulator) } : {}),
      });
    });
  }
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
  const collector = new StatsCollector(schema, options);
  for await (const batch of batches()) collector.add(batch);
  if (collector.needsHistogram) {
    for await (const batch of batches()) collector.addToHistogram(batch);
  }
  return collector.result();
}
