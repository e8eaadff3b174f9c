import { create } from "@bufbuild/protobuf";
import { FailedPreconditionError, InvalidArgumentError } from "@seam/kit/errors";
import { Split, SplitSpecSchema } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { MessageHeader, MessageReader, type RecordBatch, tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { countSplits, splitOfKey } from "../splits/index.js";
import {
  batchesOfIpc,
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
} from "../stats/test-support.js";
import { type IpcChunk, planRead, readArrow, readRows, selectRows } from "./index.js";

const schema = schemaOf([
  ["id", ColumnType.INT64],
  ["name", ColumnType.STRING],
  ["score", ColumnType.FLOAT64],
  ["flag", ColumnType.BOOL],
  ["at", ColumnType.TIMESTAMP],
]);

const names = ["ann", null, "bé", "日本", "", "eve", null, "🎉", "x", "y", "z", "w"];
const makeInput = (ids: number[]) =>
  batchOf({
    id: int64(ids.map((i) => (i === 5 ? null : BigInt(i)))),
    name: utf8(ids.map((i) => names[i] ?? null)),
    score: float64(ids.map((i) => (i === 2 ? Number.NaN : i === 3 ? null : i / 4))),
    flag: bool(ids.map((i) => (i === 7 ? null : i % 2 === 0))),
    at: timestampMs(ids.map((i) => (i === 9 ? null : Date.UTC(2024, 0, 1) + i * 1000))),
  });
// 12 rows in batches of 4, 3 and 5: row i has id i (row 5's id is null).
const input = [makeInput([0, 1, 2, 3]), makeInput([4, 5, 6]), makeInput([7, 8, 9, 10, 11])];
const source = sourceOf(input);

type Row = Record<string, unknown>;
function rowsOf(batches: readonly RecordBatch[]): Row[] {
  return batches.flatMap((batch) =>
    Array.from({ length: batch.numRows }, (_, i) =>
      Object.fromEntries(batch.schema.fields.map((f, c) => [f.name, batch.getChildAt(c)?.get(i)])),
    ),
  );
}
const allRows = rowsOf(input);

async function collect(chunks: AsyncIterable<IpcChunk>): Promise<IpcChunk[]> {
  const out: IpcChunk[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

function parse(chunks: readonly IpcChunk[]): RecordBatch[] {
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.ipc.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c.ipc, at);
    at += c.ipc.byteLength;
  }
  return batchesOfIpc(bytes);
}

const spec = create(SplitSpecSchema, {
  seed: 3n,
  trainFraction: 0.5,
  validationFraction: 0.25,
  testFraction: 0.25,
});

describe("readArrow", () => {
  it("streams every row and column as one IPC stream that parses back exactly", async () => {
    const chunks = await collect(readArrow(source, schema));
    expect(chunks.map((c) => c.rows)).toEqual([12]);
    const batches = parse(chunks);
    expect(batches.map((b) => b.schema.fields.map((f) => `${f.name}:${f.type}`))[0]).toEqual([
      "id:Int64",
      "name:Utf8",
      "score:Float64",
      "flag:Bool",
      "at:Timestamp<MILLISECOND, UTC>",
    ]);
    expect(rowsOf(batches)).toEqual(allRows);
  });

  it("rebatches to batchRows with one chunk per batch; the schema comes first", async () => {
    const chunks = await collect(readArrow(source, schema, { batchRows: 5 }));
    expect(chunks.map((c) => c.rows)).toEqual([5, 5, 2]);
    const first = new MessageReader(chunks[0]?.ipc ?? new Uint8Array()).readMessage();
    expect(first?.headerType).toBe(MessageHeader.Schema);
    // A later chunk starts directly with a record batch message.
    expect(new MessageReader(chunks[1]?.ipc ?? new Uint8Array()).readMessage()?.headerType).toBe(
      MessageHeader.RecordBatch,
    );
    const batches = parse(chunks);
    expect(batches.map((b) => b.numRows)).toEqual([5, 5, 2]);
    expect(rowsOf(batches)).toEqual(allRows);
  });

  it("passes a whole input batch that is an output batch through as it is, and gathers the rest", async () => {
    const plan = planRead(schema, { batchRows: 4 });
    const out: RecordBatch[] = [];
    for await (const batch of selectRows(source, plan)) out.push(batch);
    expect(out.map((b) => b.numRows)).toEqual([4, 4, 4]);
    // Batch 1 is input batch 0 unchanged; batches 2 and 3 span inputs 1 and 2 and are copies.
    const passedOn = (b: RecordBatch | undefined, i: RecordBatch | undefined) =>
      b?.data.children.every((child, c) => child === i?.data.children[c]);
    expect(passedOn(out[0], input[0])).toBe(true);
    expect(passedOn(out[1], input[1])).toBe(false);
    expect(rowsOf(out)).toEqual(allRows);
  });

  it("reads a canonical stream in full as that very stream, byte for byte", async () => {
    const stored = ipcStreamOf([makeInput([0, 1, 2, 3]), makeInput([4, 5, 6, 7]), makeInput([8, 9, 10])]);
    const chunks = await collect(readArrow(sourceOf(batchesOfIpc(stored)), schema, { batchRows: 4 }));
    expect(chunks.map((c) => c.rows)).toEqual([4, 4, 3]);
    expect(Buffer.concat(chunks.map((c) => c.ipc))).toEqual(Buffer.from(stored));
  });

  it("reads sliced input batches (non-zero data offsets, nulls on both sides of the cut)", async () => {
    const sliced = [input[0]?.slice(1, 4), input[2]?.slice(2, 5), input[1]?.slice(1, 3)].filter(
      (b): b is RecordBatch => b !== undefined,
    );
    const batches = parse(await collect(readArrow(sourceOf(sliced), schema, { offset: 1, batchRows: 3 })));
    expect(rowsOf(batches)).toEqual([2, 3, 9, 10, 11, 5, 6].map((i) => allRows[i]));
  });

  it("projects columns in the requested order", async () => {
    const batches = parse(await collect(readArrow(source, schema, { columns: ["name", "id"] })));
    expect(batches[0]?.schema.fields.map((f) => f.name)).toEqual(["name", "id"]);
    expect(rowsOf(batches)).toEqual(allRows.map((r) => ({ name: r.name, id: r.id })));
  });

  it("refuses unknown and repeated columns, bad numbers, and a split without splits, before reading", () => {
    expect(() => readArrow(source, schema, { columns: ["id", "nope"] })).toThrow(InvalidArgumentError);
    expect(() => readArrow(source, schema, { columns: ["id", "nope"] })).toThrow(/"nope"/);
    expect(() => readArrow(source, schema, { columns: ["id", "id"] })).toThrow(/more than once/);
    expect(() => readArrow(source, schema, { offset: -1 })).toThrow(/offset/);
    expect(() => readArrow(source, schema, { batchRows: 1.5 })).toThrow(/batch_rows/);
    expect(() => readArrow(source, schema, { split: { spec: undefined, which: Split.TRAIN } })).toThrow(
      FailedPreconditionError,
    );
    expect(() =>
      readArrow(source, schema, { split: { spec: undefined, which: Split.UNSPECIFIED } }),
    ).not.toThrow();
  });

  it("applies offset and limit across batch boundaries", async () => {
    const batches = parse(await collect(readArrow(source, schema, { offset: 3, limit: 5, batchRows: 2 })));
    expect(batches.map((b) => b.numRows)).toEqual([2, 2, 1]);
    expect(rowsOf(batches)).toEqual(allRows.slice(3, 8));
  });

  it("filters by split consistently with countSplits and splitOfKey, then applies offset / limit", async () => {
    const counts = await countSplits(source, spec);
    const expected = (which: Split) => allRows.filter((_, i) => splitOfKey(spec, i) === which);
    for (const [which, count] of [
      [Split.TRAIN, counts.train],
      [Split.VALIDATION, counts.validation],
      [Split.TEST, counts.test],
    ] as const) {
      const rows = rowsOf(parse(await collect(readArrow(source, schema, { split: { spec, which } }))));
      expect(rows.length).toBe(Number(count));
      expect(rows).toEqual(expected(which));
      const windowed = parse(
        await collect(
          readArrow(source, schema, { split: { spec, which }, offset: 1, limit: 2, batchRows: 1 }),
        ),
      );
      expect(rowsOf(windowed)).toEqual(expected(which).slice(1, 3));
    }
    expect(Number(counts.train + counts.validation + counts.test)).toBe(12);
  });

  it("yields a valid stream with the schema and no batches for an empty result", async () => {
    const chunks = await collect(readArrow(source, schema, { offset: 100, columns: ["at", "flag"] }));
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.rows).toBe(0);
    const bytes = chunks[0]?.ipc ?? new Uint8Array();
    const messages = new MessageReader(bytes);
    expect(messages.readMessage()?.headerType).toBe(MessageHeader.Schema);
    expect(messages.readMessage()).toBeNull(); // then only the end-of-stream marker
    const table = tableFromIPC(bytes);
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(["at", "flag"]);
  });

  it("stops reading the source once the limit is reached", async () => {
    let opened = 0;
    let closed = false;
    const counting = async function* () {
      try {
        for (const batch of input) {
          opened++;
          yield batch;
        }
      } finally {
        closed = true;
      }
    };
    const rows = rowsOf(parse(await collect(readArrow(counting, schema, { limit: 2 }))));
    expect(rows).toEqual(allRows.slice(0, 2));
    expect(opened).toBe(1);
    expect(closed).toBe(true);
  });
});

describe("readRows", () => {
  it("converts values to Struct-safe JSON", async () => {
    const big = batchOf({
      n: int64([2n ** 53n, -(2n ** 53n), 2n ** 53n + 1n, -(2n ** 63n), null]),
      f: float64([1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, null]),
      t: timestampMs([Date.UTC(2024, 4, 1, 12), -1, 0, 8.64e15 + 1, null]),
      b: bool([true, false, null, true, false]),
      s: utf8(["é", "", null, "🎉", 'a"b']),
    });
    const { rows, schema: out } = await readRows(
      sourceOf([big]),
      schemaOf([
        ["n", ColumnType.INT64],
        ["f", ColumnType.FLOAT64],
        ["t", ColumnType.TIMESTAMP],
        ["b", ColumnType.BOOL],
        ["s", ColumnType.STRING],
      ]),
    );
    expect(out.columns.map((c) => c.name)).toEqual(["n", "f", "t", "b", "s"]);
    expect(rows).toEqual([
      { n: 9007199254740992, f: 1.5, t: "2024-05-01T12:00:00.000Z", b: true, s: "é" },
      { n: -9007199254740992, f: "NaN", t: "1969-12-31T23:59:59.999Z", b: false, s: "" },
      { n: "9007199254740993", f: "Infinity", t: "1970-01-01T00:00:00.000Z", b: null, s: null },
      { n: "-9223372036854775808", f: "-Infinity", t: "8640000000000001", b: true, s: "🎉" },
      { n: null, f: null, t: null, b: false, s: 'a"b' },
    ]);
    expect(JSON.parse(JSON.stringify(rows))).toEqual(rows);
  });

  it("returns the selected rows and columns in order, after split, offset and limit", async () => {
    const { rows, schema: out } = await readRows(source, schema, {
      columns: ["flag", "id"],
      split: { spec, which: Split.TRAIN },
      offset: 1,
      limit: 3,
    });
    expect(out.columns.map((c) => [c.name, c.type])).toEqual([
      ["flag", ColumnType.BOOL],
      ["id", ColumnType.INT64],
    ]);
    const train = allRows.filter((_, i) => splitOfKey(spec, i) === Split.TRAIN).slice(1, 4);
    expect(rows).toEqual(train.map((r) => ({ flag: r.flag, id: r.id === null ? null : Number(r.id) })));
    expect(Object.keys(rows[0] ?? {})).toEqual(["flag", "id"]);
  });

  it("defaults to 100 rows and refuses more than 1000", async () => {
    const many = sourceOf([batchOf({ id: int64(Array.from({ length: 250 }, (_, i) => BigInt(i))) })]);
    const idSchema = schemaOf([["id", ColumnType.INT64]]);
    expect((await readRows(many, idSchema)).rows).toHaveLength(100);
    expect((await readRows(many, idSchema, { limit: 1000 })).rows).toHaveLength(250);
    await expect(readRows(many, idSchema, { limit: 1001 })).rejects.toThrow(InvalidArgumentError);
  });
});
