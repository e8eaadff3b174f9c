import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ColumnStatsSchema,
  ColumnType,
  HistogramSchema,
  SchemaSchema,
  SplitSpecSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { describe, expect, it } from "vitest";
import {
  columnStatsTable,
  formatCell,
  formatHistogram,
  formatNumber,
  formatSchema,
  formatSplitSpec,
} from "./dataset-format.js";

describe("dataset formatting", () => {
  it("prints numbers in full when whole, else with 6 significant digits", () => {
    expect([3, -42, 0, 5.843333333, 0.1 + 0.2, 1e-7, 2.5e20, Number.NaN].map(formatNumber)).toEqual([
      "3",
      "-42",
      "0",
      "5.84333",
      "0.3",
      "1.0000e-7",
      "2.5000e+20",
      "NaN",
    ]);
  });

  it("prints cells: null, escaped line breaks, long text cut, objects as JSON", () => {
    expect(formatCell(null)).toBe("null");
    expect(formatCell(undefined)).toBe("null");
    expect(formatCell("a\nb\tc")).toBe("a\\nb\\tc");
    expect(formatCell(1.23456789)).toBe("1.23457");
    expect(formatCell(true)).toBe("true");
    expect(formatCell({ a: [1] })).toBe('{"a":[1]}');
    const long = formatCell("x".repeat(100));
    expect(long).toHaveLength(40);
    expect(long.endsWith("…")).toBe(true);
  });

  it("prints schemas and split specs on one line", () => {
    const schema = create(SchemaSchema, {
      columns: [
        { name: "id", type: ColumnType.INT64 },
        { name: "note", type: ColumnType.STRING, nullable: true },
      ],
    });
    expect(formatSchema(schema)).toBe("id:int64, note:string?");
    expect(formatSchema(undefined)).toBe("-");
    const spec = create(SplitSpecSchema, {
      seed: 42n,
      trainFraction: 0.8,
      validationFraction: 0.1,
      testFraction: 0.1,
      keyColumn: "user",
    });
    expect(formatSplitSpec(spec)).toBe("seed 42, 80/10/10 by user");
  });

  it("tabulates numeric, string, bool, timestamp and all-null column stats", () => {
    const numeric = create(ColumnStatsSchema, {
      name: "x",
      count: 10n,
      nullCount: 2n,
      kind: { case: "numeric", value: { min: 1, max: 9.5, mean: 4.25, stddev: 2.0615528 } },
    });
    expect(columnStatsTable(numeric)).toEqual({
      header: ["COUNT", "NULLS", "MIN", "MAX", "MEAN", "STDDEV"],
      row: ["10", "2", "1", "9.5", "4.25", "2.06155"],
    });
    const strings = create(ColumnStatsSchema, {
      count: 5n,
      kind: {
        case: "string",
        value: { distinctCount: 3n, distinctExact: false, minLength: 1n, maxLength: 8n },
      },
    });
    expect(columnStatsTable(strings).row).toEqual(["5", "0", "~3", "1", "8"]);
    const bools = create(ColumnStatsSchema, {
      count: 3n,
      kind: { case: "bool", value: { trueCount: 2n, falseCount: 1n } },
    });
    expect(columnStatsTable(bools)).toEqual({
      header: ["COUNT", "NULLS", "TRUE", "FALSE"],
      row: ["3", "0", "2", "1"],
    });
    const times = create(ColumnStatsSchema, {
      count: 1n,
      kind: { case: "timestamp", value: { min: timestampFromDate(new Date("2024-05-01T00:00:00Z")) } },
    });
    expect(columnStatsTable(times).row).toEqual(["1", "0", "2024-05-01T00:00:00.000Z", "-"]);
    expect(columnStatsTable(create(ColumnStatsSchema, { nullCount: 4n }))).toEqual({
      header: ["COUNT", "NULLS"],
      row: ["0", "4"],
    });
  });

  it("draws histograms scaled to the fullest bin, a sliver for any non-empty bin", () => {
    const lines = formatHistogram(
      create(HistogramSchema, { boundaries: [0, 2.5, 5, 7.5, 10], counts: [8n, 4n, 0n, 1n] }),
      8,
    );
    expect(lines).toEqual([
      "[0, 2.5)   ████████  8",
      "[2.5, 5)   ████      4",
      "[5, 7.5)             0",
      "[7.5, 10]  █         1",
    ]);
    const tiny = formatHistogram(create(HistogramSchema, { boundaries: [0, 1, 2], counts: [1000n, 1n] }), 8);
    expect(tiny[1]).toContain("▏");
    expect(formatHistogram(create(HistogramSchema, { boundaries: [0, 1], counts: [1n, 2n] }))).toEqual([]);
  });
});
