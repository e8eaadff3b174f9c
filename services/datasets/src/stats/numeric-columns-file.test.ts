import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataLossError } from "@seam/kit/errors";
import { Dictionary, Int32, RecordBatch, Utf8, vectorFromArray } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StatsCollector } from "./compute-stats.js";
import { readNumericColumns, type StoredNumericBatch, UnsupportedLayout } from "./numeric-columns-file.js";
import { StreamStats } from "./stream-stats.js";
import {
  batchesOfIpc,
  batchOf,
  bool,
  ColumnType,
  float64,
  int64,
  ipcStreamOf,
  prng,
  schemaOf,
  timestampMs,
  utf8,
} from "./test-support.js";

const TWO_32 = 4294967296;

/** A stored column's values as numbers or null, as the reader hands them out. */
function valuesOf(batch: StoredNumericBatch, column: number): Array<number | null> {
  const c = batch.columns[column];
  if (c === undefined) throw new Error(`no column ${column}`);
  return Array.from({ length: batch.length }, (_, i) => {
    if (c.validity !== undefined && ((c.validity[i >> 3] as number) >> (i & 7)) % 2 === 0) return null;
    return c.values instanceof Float64Array
      ? (c.values[i] as number)
      : (c.values[2 * i + 1] as number) * TWO_32 + ((c.values[2 * i] as number) >>> 0);
  });
}

async function readAll(path: string, wanted: Parameters<typeof readNumericColumns>[1]) {
  const out: Array<{ length: number; columns: Array<Array<number | null>> }> = [];
  for await (const batch of readNumericColumns(path, wanted)) {
    out.push({ length: batch.length, columns: batch.columns.map((_, i) => valuesOf(batch, i)) });
  }
  return out;
}

/** Random batches with every canonical column type, numbers between strings and bools. */
function mixedBatches(count: number, seed: number): RecordBatch[] {
  const rand = prng(seed);
  return Array.from({ length: count }, (_, k) => {
    const rows = 1 + Math.floor(rand() * 300) + k;
    const pick = <T>(make: () => T): Array<T | null> =>
      Array.from({ length: rows }, () => (rand() < 0.1 ? null : make()));
    return batchOf({
      s: utf8(pick(() => `v${Math.floor(rand() * 50)}`)),
      n: int64(pick(() => BigInt(Math.floor((rand() - 0.5) * 2 ** 60)))),
      b: bool(pick(() => rand() < 0.5)),
      x: float64(pick(() => (rand() - 0.5) * 1e6)),
      t: timestampMs(pick(() => Math.floor(rand() * 1e12))),
      dense: float64(Array.from({ length: rows }, () => rand())),
    });
  });
}

const MIXED_SCHEMA = schemaOf([
  ["s", ColumnType.STRING],
  ["n", ColumnType.INT64],
  ["b", ColumnType.BOOL],
  ["x", ColumnType.FLOAT64],
  ["t", ColumnType.TIMESTAMP],
  ["dense", ColumnType.FLOAT64],
]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "seam-numeric-columns-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readNumericColumns", () => {
  it("reads exactly the values and nulls apache-arrow reads, batch by batch, skipping other columns", async () => {
    const batches = mixedBatches(7, 11);
    const path = join(dir, "mixed.arrow");
    await writeFile(path, ipcStreamOf(batches));
    const wanted = [
      { name: "dense", type: ColumnType.FLOAT64 },
      { name: "n", type: ColumnType.INT64 },
      { name: "x", type: ColumnType.FLOAT64 },
    ] as const;
    const read = await readAll(path, wanted);
    const expected = batchesOfIpc(ipcStreamOf(batches)).map((batch) => ({
      length: batch.numRows,
      columns: wanted.map(({ name }) =>
        Array.from(batch.getChild(name) ?? [], (v) => (v === null ? null : Number(v))),
      ),
    }));
    expect(read).toEqual(expected);
    // Nulls were really there to be read, in both kinds of column.
    expect(read.some((b) => b.columns[1]?.includes(null))).toBe(true);
    expect(read.some((b) => b.columns[2]?.includes(null))).toBe(true);
  });

  it("reads a schema-only stream as no batches", async () => {
    const path = join(dir, "no-rows.arrow");
    const schemaOnly = batchOf({ n: int64([]) });
    await writeFile(path, ipcStreamOf([schemaOnly]));
    expect(await readAll(path, [{ name: "n", type: ColumnType.INT64 }])).toEqual([
      { length: 0, columns: [[]] },
    ]);
  });

  it("refuses a missing or non-numeric column, and a truncated file, as data loss", async () => {
    const path = join(dir, "small.arrow");
    const bytes = ipcStreamOf(mixedBatches(2, 3));
    await writeFile(path, bytes);
    await expect(readAll(path, [{ name: "nope", type: ColumnType.INT64 }])).rejects.toThrow(DataLossError);
    await expect(readAll(path, [{ name: "s", type: ColumnType.FLOAT64 }])).rejects.toThrow(
      /stored column "s" is Utf8/,
    );
    await expect(readAll(path, [{ name: "x", type: ColumnType.INT64 }])).rejects.toThrow(DataLossError);
    const truncated = join(dir, "truncated.arrow");
    await writeFile(truncated, bytes.subarray(0, bytes.length - 300));
    await expect(readAll(truncated, [{ name: "x", type: ColumnType.FLOAT64 }])).rejects.toThrow(
      /ends inside a message/,
    );
  });

  it("leaves a dictionary-encoded file to apache-arrow (UnsupportedLayout)", async () => {
    const path = join(dir, "dictionary.arrow");
    const codes = vectorFromArray(["a", "b", "a"], new Dictionary(new Utf8(), new Int32()));
    const batch = new RecordBatch({ d: codes.data[0], x: float64([1, 2, 3]) } as never);
    await writeFile(path, ipcStreamOf([batch]));
    await expect(readAll(path, [{ name: "x", type: ColumnType.FLOAT64 }])).rejects.toThrow(UnsupportedLayout);
  });
});

describe("the histogram pass over a file", () => {
  it("counts what addToHistogram counts on the same batches", async () => {
    const batches = mixedBatches(9, 5);
    const path = join(dir, "v.arrow");
    await writeFile(path, ipcStreamOf(batches));
    const fromFile = new StatsCollector(MIXED_SCHEMA, { histogramBins: 17 });
    const fromBatches = new StatsCollector(MIXED_SCHEMA, { histogramBins: 17 });
    for (const batch of batches) {
      fromFile.add(batch);
      fromBatches.add(batch);
    }
    await fromFile.addFileToHistogram(path);
    for (const batch of batches) fromBatches.addToHistogram(batch);
    const stats = fromFile.result();
    expect(stats).toEqual(fromBatches.result());
    const n = stats.find((c) => c.name === "n")?.kind;
    expect(n?.case === "numeric" && n.value.histogram?.counts.reduce((a, b) => a + b, 0n)).toBe(
      stats.find((c) => c.name === "n")?.count,
    );
  });

  it("clears its counts when the file turns out unreadable part-way, so pass 2 can start over", async () => {
    // A batch of the file's one column, then a batch with two: the reader counts the first,
    // then gives up on the second.
    const first = batchOf({ x: float64([1, 2, 3, 10]) });
    const wider = ipcStreamOf([batchOf({ x: float64([5, 6]), y: float64([7, 8]) })]);
    const schemaMessageBytes = (bytes: Uint8Array) =>
      8 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(4, true);
    const stream = ipcStreamOf([first]);
    const path = join(dir, "two-layouts.arrow");
    await writeFile(
      path,
      Buffer.concat([stream.subarray(0, stream.length - 8), wider.subarray(schemaMessageBytes(wider))]),
    );
    const schema = schemaOf([["x", ColumnType.FLOAT64]]);
    const collector = new StatsCollector(schema, { histogramBins: 3 });
    const reference = new StatsCollector(schema, { histogramBins: 3 });
    collector.add(first);
    reference.add(first);
    await expect(collector.addFileToHistogram(path)).rejects.toThrow(UnsupportedLayout);
    collector.addToHistogram(first);
    reference.addToHistogram(first);
    expect(collector.result()).toEqual(reference.result());
  });

  it("falls back to apache-arrow for a layout it leaves alone, with the same statistics", async () => {
    const path = join(dir, "dictionary.arrow");
    const codes = vectorFromArray(["a", "b", "a", "c"], new Dictionary(new Utf8(), new Int32()));
    const batch = new RecordBatch({ d: codes.data[0], x: float64([1, 2, 3, 10]) } as never);
    await writeFile(path, ipcStreamOf([batch]));
    const schema = schemaOf([["x", ColumnType.FLOAT64]]);
    const stream = new StreamStats({ histogramBins: 3 });
    const bytes = ipcStreamOf([batch]);
    const schemaMessageLength = 8 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(4, true);
    stream.start(schema, bytes.subarray(0, schemaMessageLength), path);
    stream.add(bytes.subarray(schemaMessageLength));
    const stats = await stream.finish(path, schema);
    const x = stats[0]?.kind;
    expect(x?.case === "numeric" && x.value.histogram?.counts).toEqual([3n, 0n, 1n]);
  });
});
