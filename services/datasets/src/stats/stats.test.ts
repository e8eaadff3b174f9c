import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataLossError, InvalidArgumentError } from "@seam/kit/errors";
import type { ColumnStats } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { RecordBatchStreamWriter, Table } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeStats, HyperLogLog, openArrowFile, SpaceSaving } from "./index.js";
import {
  batchOf,
  bool,
  ColumnType,
  float64,
  int64,
  ipcStreamOf,
  schemaOf,
  sourceOf,
  timestampMs,
  utf8,
} from "./test-support.js";

const schema = schemaOf([
  ["x", ColumnType.FLOAT64],
  ["n", ColumnType.INT64],
  ["b", ColumnType.BOOL],
  ["s", ColumnType.STRING],
  ["t", ColumnType.TIMESTAMP],
  ["empty", ColumnType.INT64],
]);

const may2024 = Date.UTC(2024, 4, 1);
const jan2030 = Date.UTC(2030, 0, 1) + 5;

const batches = [
  batchOf({
    x: float64([2, 4, null, 4, 4]),
    n: int64([10n, 20n, null, 30n, 40n]),
    b: bool([true, false, null, true, true]),
    s: utf8(["b", "a", "Ａ", null, "b"]),
    t: timestampMs([may2024, null, 0, -1000, jan2030]),
    empty: int64([null, null, null, null, null]),
  }),
  batchOf({
    x: float64([5, 5, 7, 9]),
    n: int64([null, null, 50n, -10n]),
    b: bool([false, null, null, true]),
    s: utf8(["日本語", "a", "", "🎉🎉"]),
    t: timestampMs([null, null, null, null]),
    empty: int64([null, null, null, null]),
  }),
];

function byName(stats: ColumnStats[], name: string): ColumnStats {
  const s = stats.find((c) => c.name === name);
  if (s === undefined) throw new Error(`no stats for ${name}`);
  return s;
}

function numeric(stats: ColumnStats[], name: string) {
  const kind = byName(stats, name).kind;
  if (kind.case !== "numeric") throw new Error(`${name} is not numeric`);
  return kind.value;
}

describe("computeStats", () => {
  let stats: ColumnStats[];
  beforeAll(async () => {
    stats = await computeStats(sourceOf(batches), schema, { histogramBins: 7 });
  });

  it("returns one entry per column in schema order with counts and null counts", () => {
    expect(stats.map((s) => [s.name, s.count, s.nullCount])).toEqual([
      ["x", 8n, 1n],
      ["n", 6n, 3n],
      ["b", 6n, 3n],
      ["s", 8n, 1n],
      ["t", 4n, 5n],
      ["empty", 0n, 9n],
    ]);
  });

  it("computes float64 min, max, mean, population stddev and histogram", () => {
    // 2 4 4 4 5 5 7 9: the textbook mean 5, population stddev 2.
    const x = numeric(stats, "x");
    expect([x.min, x.max, x.mean]).toEqual([2, 9, 5]);
    expect(x.stddev).toBeCloseTo(2, 12);
    expect(x.histogram?.boundaries).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(x.histogram?.counts).toEqual([1n, 0n, 3n, 2n, 0n, 1n, 1n]);
  });

  it("computes int64 statistics across batches", () => {
    // 10 20 30 40 50 -10: mean 70/3, variance 3500/9.
    const n = numeric(stats, "n");
    expect([n.min, n.max]).toEqual([-10, 50]);
    expect(n.mean).toBeCloseTo(70 / 3, 12);
    expect(n.stddev).toBeCloseTo(Math.sqrt(3500 / 9), 12);
    const boundaries = n.histogram?.boundaries ?? [];
    expect(boundaries).toHaveLength(8);
    for (const [i, b] of boundaries.entries()) expect(b).toBeCloseTo(-10 + (i * 60) / 7, 12);
    expect(boundaries[7]).toBe(50);
    // Width 60/7: -10→0, 10→2, 20→3, 30→4, 40→5, 50 (the max) → last bin.
    expect(n.histogram?.counts).toEqual([1n, 0n, 1n, 1n, 1n, 1n, 1n]);
  });

  it("counts bools", () => {
    expect(byName(stats, "b").kind).toMatchObject({ case: "bool", value: { trueCount: 4n, falseCount: 2n } });
  });

  it("computes string distinct, top values (ties in code point order) and lengths in code points", () => {
    const kind = byName(stats, "s").kind;
    if (kind.case !== "string") throw new Error("not string");
    const s = kind.value;
    expect(s.distinctCount).toBe(6n);
    expect(s.distinctExact).toBe(true);
    // U+65E5 < U+FF21 < U+1F389 by code point, though "🎉" sorts first by UTF-16 unit.
    expect(s.topValues.map((v) => [v.value, v.count])).toEqual([
      ["a", 2n],
      ["b", 2n],
      ["", 1n],
      ["日本語", 1n],
      ["Ａ", 1n],
      ["🎉🎉", 1n],
    ]);
    // "日本語" is 3 characters (9 bytes); "🎉🎉" is 2 (4 UTF-16 units).
    expect([s.minLength, s.maxLength]).toEqual([0n, 3n]);
  });

  it("computes timestamp min and max", () => {
    const kind = byName(stats, "t").kind;
    if (kind.case !== "timestamp") throw new Error("not timestamp");
    expect([kind.value.min?.seconds, kind.value.min?.nanos]).toEqual([-1n, 0]);
    expect([kind.value.max?.seconds, kind.value.max?.nanos]).toEqual([
      BigInt((jan2030 - 5) / 1000),
      5_000_000,
    ]);
  });

  it("leaves kind unset for an all-null column", () => {
    expect(byName(stats, "empty").kind.case).toBeUndefined();
  });

  it("puts a constant column in one bin and skips NaN / Infinity in moments", async () => {
    const [c, f] = await computeStats(
      sourceOf([
        batchOf({ c: float64([3, 3, 3]), f: float64([1, Number.NaN, 3]) }),
        batchOf({ c: float64([3]), f: float64([Number.POSITIVE_INFINITY]) }),
      ]),
      schemaOf([
        ["c", ColumnType.FLOAT64],
        ["f", ColumnType.FLOAT64],
      ]),
      { histogramBins: 4 },
    );
    expect(c?.kind).toMatchObject({
      case: "numeric",
      value: { min: 3, max: 3, mean: 3, stddev: 0, histogram: { boundaries: [3, 3], counts: [4n] } },
    });
    expect(f?.count).toBe(4n);
    expect(f?.kind).toMatchObject({
      case: "numeric",
      value: {
        min: 1,
        max: 3,
        mean: 2,
        stddev: 1,
        histogram: { boundaries: [1, 1.5, 2, 2.5, 3], counts: [1n, 0n, 0n, 1n] },
      },
    });
  });

  it("is exact for int64 values beyond 2^32 (read from int32 halves)", async () => {
    const [n] = await computeStats(
      sourceOf([batchOf({ n: int64([-(2n ** 40n), 2n ** 40n + 6n, -5n]) })]),
      schemaOf([["n", ColumnType.INT64]]),
      { histogramBins: 1 },
    );
    expect(n?.kind).toMatchObject({
      case: "numeric",
      value: { min: -(2 ** 40), max: 2 ** 40 + 6, mean: 1 / 3 },
    });
  });

  it("handles sliced batches (non-zero offsets)", async () => {
    const batch = batchOf({
      b: bool([true, true, false, null, true]),
      s: utf8(["zz", "a", "bb", null, "a"]),
    });
    const [b, s] = await computeStats(
      sourceOf([batch.slice(2, 5)]),
      schemaOf([
        ["b", ColumnType.BOOL],
        ["s", ColumnType.STRING],
      ]),
      { histogramBins: 3 },
    );
    expect(b?.kind).toMatchObject({ value: { trueCount: 1n, falseCount: 1n } });
    expect(s?.kind).toMatchObject({ value: { distinctCount: 2n, minLength: 1n, maxLength: 2n } });
  });

  it("refuses a bad histogram_bins and data that does not match the schema", async () => {
    await expect(computeStats(sourceOf(batches), schema, { histogramBins: 0 })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(
      computeStats(sourceOf(batches), schemaOf([["missing", ColumnType.INT64]]), { histogramBins: 2 }),
    ).rejects.toThrow(DataLossError);
    await expect(
      computeStats(sourceOf(batches), schemaOf([["x", ColumnType.INT64]]), { histogramBins: 2 }),
    ).rejects.toThrow(/expected INT64/);
  });
});

describe("string sketches beyond the exact limit", () => {
  it("switches to estimates with small limits, keeping the heavy hitters exact", async () => {
    const values = ["a", "a", "a", "a", "a", "b", "b", "b", "c", "d", "e", "f", "g"];
    const [s] = await computeStats(
      sourceOf([batchOf({ s: utf8(values) })]),
      schemaOf([["s", ColumnType.STRING]]),
      {
        histogramBins: 10,
        stringLimits: { exactDistinct: 5, sketchCounters: 4, topValues: 3 },
      },
    );
    if (s?.kind.case !== "string") throw new Error("not string");
    expect(s.kind.value.distinctExact).toBe(false);
    expect(s.kind.value.distinctCount).toBe(7n);
    const top = s.kind.value.topValues;
    expect(top.slice(0, 2).map((v) => [v.value, v.count])).toEqual([
      ["a", 5n],
      ["b", 3n],
    ]);
    expect(top).toHaveLength(3);
  });

  it("estimates 300k distinct strings within 3% and finds the frequent ones", async () => {
    const distinct = 300_000;
    const perBatch = 50_000;
    const batches = [];
    let hotA = 0;
    let hotB = 0;
    let rows = 0;
    for (let start = 0; start < distinct; start += perBatch) {
      const values: string[] = [];
      for (let i = start; i < start + perBatch; i++) {
        values.push(`value-${i}`);
        if (i % 10 === 0) {
          values.push("hot-A");
          hotA++;
        }
        if (i % 25 === 0) {
          values.push("hot-B");
          hotB++;
        }
      }
      rows += values.length;
      batches.push(batchOf({ s: utf8(values) }));
    }
    const [s] = await computeStats(sourceOf(batches), schemaOf([["s", ColumnType.STRING]]), {
      histogramBins: 10,
    });
    if (s?.kind.case !== "string") throw new Error("not string");
    const stats = s.kind.value;
    expect(stats.distinctExact).toBe(false);
    const trueDistinct = distinct + 2;
    expect(Math.abs(Number(stats.distinctCount) - trueDistinct) / trueDistinct).toBeLessThan(0.03);
    const [first, second] = stats.topValues;
    expect(first?.value).toBe("hot-A");
    expect(second?.value).toBe("hot-B");
    // Space-Saving counts are upper bounds, off by at most rows / counters.
    expect(Number(first?.count)).toBeGreaterThanOrEqual(hotA);
    expect(Number(first?.count)).toBeLessThanOrEqual(hotA + rows / 1024);
    expect(Number(second?.count)).toBeGreaterThanOrEqual(hotB);
    expect(stats.topValues).toHaveLength(10);
    expect([stats.minLength, stats.maxLength]).toEqual([5n, 12n]);
  });
});

describe("sketches", () => {
  it("HyperLogLog counts small sets (almost) exactly and ignores repeats", () => {
    const hll = new HyperLogLog();
    for (let r = 0; r < 3; r++) for (let i = 0; i < 1000; i++) hll.addString(`k${i}`);
    expect(Math.round(hll.estimate())).toBeGreaterThanOrEqual(990);
    expect(Math.round(hll.estimate())).toBeLessThanOrEqual(1010);
  });

  it("Space-Saving keeps exact counts while under capacity", () => {
    const ss = new SpaceSaving(3);
    for (const v of ["x", "y", "x", "z", "x", "y"]) ss.add(v);
    expect(ss.entries().sort((a, b) => b.count - a.count)).toEqual([
      { value: "x", count: 3 },
      { value: "y", count: 2 },
      { value: "z", count: 1 },
    ]);
    ss.add("w"); // evicts z (count 1): w inherits 1 + 1
    expect(ss.entries().find((e) => e.value === "w")?.count).toBe(2);
    expect(ss.entries().some((e) => e.value === "z")).toBe(false);
  });
});

describe("openArrowFile", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "seam-stats-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("streams the batches of an IPC stream file, reopenable for two passes", async () => {
    const path = join(dir, "v.arrow");
    await writeFile(path, ipcStreamOf(batches));
    const source = openArrowFile(path);
    const fromFile = await computeStats(source, schema, { histogramBins: 7 });
    const inMemory = await computeStats(sourceOf(batches), schema, { histogramBins: 7 });
    expect(fromFile).toEqual(inMemory);
    let rows = 0;
    for await (const batch of source()) {
      rows += batch.numRows;
      break;
    }
    expect(rows).toBe(5);
  });

  it("handles a version with no rows (a schema-only stream)", async () => {
    const path = join(dir, "empty.arrow");
    const empty = batchOf({ n: int64([]), s: utf8([]) });
    await writeFile(path, RecordBatchStreamWriter.writeAll(new Table(empty.schema)).toUint8Array(true));
    const stats = await computeStats(
      openArrowFile(path),
      schemaOf([
        ["n", ColumnType.INT64],
        ["s", ColumnType.STRING],
      ]),
      { histogramBins: 3 },
    );
    expect(stats.map((c) => [c.name, c.count, c.nullCount, c.kind.case])).toEqual([
      ["n", 0n, 0n, undefined],
      ["s", 0n, 0n, undefined],
    ]);
  });
});
