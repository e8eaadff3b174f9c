import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { InvalidArgumentError, ResourceExhaustedError } from "@seam/kit/errors";
import {
  ColumnType,
  type Schema,
  SchemaSchema,
  SourceFormat,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  Field as ArrowField,
  Table as ArrowTable,
  Int32,
  List,
  RecordBatchStreamWriter,
  type Table,
  tableFromArrays,
  tableFromIPC,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { convertText } from "./convert-text.js";
import { type IngestOptions, type IngestResult, ingest } from "./index.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "seam-ingest-test-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function* chunksOf(
  data: string | Uint8Array,
  size = Number.POSITIVE_INFINITY,
): AsyncGenerator<Uint8Array> {
  const buf = typeof data === "string" ? Buffer.from(data) : Buffer.from(data);
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

function schema(...columns: Array<[string, ColumnType, boolean?]>): Schema {
  return create(SchemaSchema, {
    columns: columns.map(([name, type, nullable]) => ({ name, type, nullable: nullable ?? false })),
  });
}

const csv = (options: Partial<IngestOptions> = {}): IngestOptions => ({
  format: SourceFormat.CSV,
  maxSourceBytes: 1 << 30,
  tmpDir: tmp,
  ...options,
});

async function run(data: string | Uint8Array, options: Partial<IngestOptions> = {}, chunk?: number) {
  return ingest(chunksOf(data, chunk), csv(options));
}

async function table(result: IngestResult): Promise<Table> {
  return tableFromIPC(await readFile(result.arrowPath));
}

async function rows(result: IngestResult): Promise<Array<Record<string, unknown>>> {
  return (await table(result)).toArray().map((r) => ({ ...r.toJSON() }));
}

const columnsOf = (result: IngestResult) => result.schema.columns.map((c) => [c.name, c.type, c.nullable]);

/** Expects `promise` to fail with InvalidArgumentError `message` and tmpDir to be empty. */
async function expectRefused(promise: Promise<unknown>, message: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidArgumentError);
  expect((err as Error).message).toBe(message);
  expect(await readdir(tmp)).toEqual([]);
}

describe("CSV parsing", () => {
  it("handles embedded delimiters, doubled quotes, newlines in quotes and CRLF", async () => {
    const data = 'id,text\r\n1,"a,b"\r\n2,"say ""hi"""\r\n3,"two\r\nlines"\r\n4,plain\r\n5,""\r\n6,\r\n';
    const result = await run(data);
    expect(await rows(result)).toEqual([
      { id: 1n, text: "a,b" },
      { id: 2n, text: 'say "hi"' },
      { id: 3n, text: "two\r\nlines" },
      { id: 4n, text: "plain" },
      { id: 5n, text: "" },
      { id: 6n, text: null },
    ]);
    expect(columnsOf(result)).toEqual([
      ["id", ColumnType.INT64, false],
      ["text", ColumnType.STRING, true],
    ]);
    expect(result.sourceBytes).toBe(Buffer.byteLength(data));
    await result.cleanup();
    expect(await readdir(tmp)).toEqual([]);
  });

  it("counts lines inside quoted fields in error positions", async () => {
    await expectRefused(run('a,b\n1,"x\ny\nz"\n2,3,4\n'), "line 5: 3 fields, the header has 2");
  });

  it("uses the delimiter option", async () => {
    const semi = await run('a;b\n1;"x;y"\n', { delimiter: ";" });
    expect(await rows(semi)).toEqual([{ a: 1n, b: "x;y" }]);
    const tab = await run("a\tb\n1\tx,y\n", { delimiter: "\t" });
    expect(await rows(tab)).toEqual([{ a: 1n, b: "x,y" }]);
    await expect(run("a\n1\n", { delimiter: "ab" })).rejects.toThrow(
      'delimiter "ab": must be one ASCII character other than a quote or line break',
    );
  });

  it("drops a byte order mark and accepts a last line without newline", async () => {
    const result = await run("\uFEFFa,b\n1,2");
    expect(columnsOf(result).map((c) => c[0])).toEqual(["a", "b"]);
    expect(await rows(result)).toEqual([{ a: 1n, b: 2n }]);
  });
});

describe("schema inference", () => {
  it("infers every type and nullability", async () => {
    const data = [
      "i,f,b,s,t,d,n,mixed,nan",
      "1,1.5,true,x,2024-05-01T12:00:00Z,2024-05-01,,1,NaN",
      "-2,2,FALSE,,2024-05-01T12:00:00+02:00,2024-05-02,,true,1",
    ].join("\n");
    const result = await run(data);
    expect(columnsOf(result)).toEqual([
      ["i", ColumnType.INT64, false],
      ["f", ColumnType.FLOAT64, false],
      ["b", ColumnType.BOOL, false],
      ["s", ColumnType.STRING, true],
      ["t", ColumnType.TIMESTAMP, false],
      ["d", ColumnType.TIMESTAMP, false],
      ["n", ColumnType.STRING, true],
      ["mixed", ColumnType.STRING, false],
      ["nan", ColumnType.STRING, false],
    ]);
    const t = await table(result);
    expect(String(t.schema.fields[4]?.type)).toBe("Timestamp<MILLISECOND, UTC>");
    expect(await rows(result)).toEqual([
      {
        i: 1n,
        f: 1.5,
        b: true,
        s: "x",
        t: Date.parse("2024-05-01T12:00:00Z"),
        d: Date.parse("2024-05-01"),
        n: null,
        mixed: "1",
        nan: "NaN",
      },
      {
        i: -2n,
        f: 2,
        b: false,
        s: null,
        t: Date.parse("2024-05-01T10:00:00Z"),
        d: Date.parse("2024-05-02"),
        n: null,
        mixed: "true",
        nan: "1",
      },
    ]);
  });

  it("widens a column when a later value contradicts the first window", async () => {
    const lines = ["n,late_float,late_string,late_value"];
    for (let i = 0; i < 3000; i++) lines.push(`${i},${i},${i},`);
    lines.push("3000,0.5,abc,7");
    const data = `${lines.join("\n")}\n`;
    // A small window forces the speculative path; ingest() uses 4 MiB.
    const arrowPath = join(tmp, "out.arrow");
    const result = await convertText(chunksOf(data, 1000), {
      format: "csv",
      delimiter: 44,
      explicit: undefined,
      batchRows: 1024,
      arrowPath,
      replay: () => chunksOf(data, 777),
      windowBytes: 2000,
    });
    expect(result.columns).toEqual([
      { name: "n", type: ColumnType.INT64, nullable: false },
      { name: "late_float", type: ColumnType.FLOAT64, nullable: false },
      { name: "late_string", type: ColumnType.STRING, nullable: false },
      { name: "late_value", type: ColumnType.INT64, nullable: true },
    ]);
    expect(result.rowCount).toBe(3001);
    const t = tableFromIPC(await readFile(arrowPath));
    expect(t.get(3000)?.toJSON()).toEqual({ n: 3000n, late_float: 0.5, late_string: "abc", late_value: 7n });
    expect(t.get(5)?.toJSON()).toEqual({ n: 5n, late_float: 5, late_string: "5", late_value: null });
  });

  it("widens late in a real upload (beyond the 4 MiB window), with the same bytes as an explicit schema", async () => {
    const lines = ["id,v"];
    for (let i = 0; i < 400_000; i++) lines.push(`${i},${i % 1000}`);
    lines.push("400000,1.25");
    const data = `${lines.join("\n")}\n`;
    const inferred = await run(data, {}, 65536);
    expect(columnsOf(inferred)).toEqual([
      ["id", ColumnType.INT64, false],
      ["v", ColumnType.FLOAT64, false],
    ]);
    expect(inferred.rowCount).toBe(400_001);
    expect(await readdir(tmp)).toHaveLength(1); // the spool is gone, the output stays
    const explicit = await run(data, { schema: schema(["id", ColumnType.INT64], ["v", ColumnType.FLOAT64]) });
    expect(inferred.sha256).toBe(explicit.sha256);
  });

  it("rewrites the schema for a null after the window, to the bytes an explicit schema gives", async () => {
    const lines = ["id,v"];
    for (let i = 0; i < 400_000; i++) lines.push(`${i},${i}`);
    lines.push("400000,");
    const data = `${lines.join("\n")}\n`;
    const inferred = await run(data);
    expect(columnsOf(inferred)).toEqual([
      ["id", ColumnType.INT64, false],
      ["v", ColumnType.INT64, true],
    ]);
    const explicit = await run(data, {
      schema: schema(["id", ColumnType.INT64], ["v", ColumnType.INT64, true]),
    });
    expect(inferred.sha256).toBe(explicit.sha256);
    expect(inferred.byteSize).toBe(explicit.byteSize);
  });

  it("allows a header-only CSV: every column a nullable string, no rows", async () => {
    const result = await run("a,b\n");
    expect(result.rowCount).toBe(0);
    expect(columnsOf(result)).toEqual([
      ["a", ColumnType.STRING, true],
      ["b", ColumnType.STRING, true],
    ]);
    expect((await table(result)).numRows).toBe(0);
  });

  it("makes an integer beyond int64 a float column", async () => {
    const result = await run("v\n1\n99999999999999999999\n");
    expect(columnsOf(result)).toEqual([["v", ColumnType.FLOAT64, false]]);
  });
});

describe("explicit schema", () => {
  const s = schema(
    ["id", ColumnType.INT64],
    ["age", ColumnType.FLOAT64, true],
    ["ok", ColumnType.BOOL, true],
  );

  it("converts to the given types", async () => {
    const result = await run("id,age,ok\n1,2,\n", { schema: s });
    expect(columnsOf(result)).toEqual([
      ["id", ColumnType.INT64, false],
      ["age", ColumnType.FLOAT64, true],
      ["ok", ColumnType.BOOL, true],
    ]);
    expect(await rows(result)).toEqual([{ id: 1n, age: 2, ok: null }]);
  });

  it("refuses values that do not parse, with line and column", async () => {
    await expectRefused(
      run("id,age,ok\n1,2,true\n2,abc,false\n", { schema: s }),
      'line 3, column "age": "abc" is not a float64',
    );
    await expectRefused(
      run("id,age,ok\n1.5,2,true\n", { schema: s }),
      'line 2, column "id": "1.5" is not an int64',
    );
    await expectRefused(
      run("id,age,ok\n1,2,yes\n", { schema: s }),
      'line 2, column "ok": "yes" is not a bool',
    );
    await expectRefused(
      run("id,age,ok\n1,NaN,true\n", { schema: s }),
      'line 2, column "age": "NaN" is not a float64',
    );
    await expectRefused(
      run("t\n2024-05-01T12:00:00\n", { schema: schema(["t", ColumnType.TIMESTAMP]) }),
      'line 2, column "t": "2024-05-01T12:00:00" is not a timestamp',
    );
  });

  it("refuses int64 overflow", async () => {
    await expectRefused(
      run("id,age,ok\n9223372036854775808,1,true\n", { schema: s }),
      'line 2, column "id": "9223372036854775808" overflows int64',
    );
  });

  it("refuses a null in a non-nullable column", async () => {
    await expectRefused(
      run("id,age,ok\n,1,true\n", { schema: s }),
      'line 2, column "id": null in a non-nullable column',
    );
  });

  it("says exactly how the header differs", async () => {
    await expectRefused(
      run("id,agee,ok,extra\n", { schema: s }),
      'line 1: the columns do not match the schema: missing "age"; unexpected "agee", "extra"',
    );
    await expectRefused(
      run("age,id,ok\n", { schema: s }),
      "line 1: the columns do not match the schema: columns out of order: found age, id, ok; the schema has id, age, ok",
    );
  });

  it("refuses an invalid schema", async () => {
    await expectRefused(
      run("a\n1\n", { schema: schema(["a", ColumnType.INT64], ["a", ColumnType.STRING]) }),
      'schema: duplicate column name "a" (columns 1 and 2)',
    );
    await expectRefused(
      run("a\n1\n", { schema: schema(["a", ColumnType.UNSPECIFIED]) }),
      'schema: column "a" has no type',
    );
  });
});

describe("refusals leave nothing behind", () => {
  it("refuses malformed CSV", async () => {
    await expectRefused(run('a,b\n1,"open\n2,3\n'), "line 2: unterminated quoted field");
    await expectRefused(run("a,b,c,d,e\n1,2,3,4\n"), "line 2: 4 fields, the header has 5");
    await expectRefused(run(""), "the upload is empty");
    await expectRefused(run("\uFEFF"), "the upload has no header row");
    await expectRefused(run("a,,b\n"), "line 1: column 2 has an empty name");
    await expectRefused(run("a,b,a\n1,2,3\n"), 'line 1: duplicate column name "a" (columns 1 and 3)');
    await expectRefused(run('a,b\n"x"y,1\n'), 'line 2, column "a": unexpected text after a closing quote');
    await expectRefused(
      run(Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0x0a])),
      'line 2, column "a": not valid UTF-8',
    );
  });

  it("refuses malformed NDJSON", async () => {
    const nd = (data: string, options: Partial<IngestOptions> = {}) =>
      run(data, { format: SourceFormat.NDJSON, ...options });
    await expectRefused(nd('{"a":1}\n[1,2]\n'), "line 2: not a JSON object");
    await expectRefused(
      nd('{"a":1}\n{"a":{"b":1}}\n'),
      'line 2, column "a": nested objects and arrays are not supported',
    );
    await expectRefused(nd('{"a":1,"a":2}\n'), 'line 1: duplicate key "a"');
    await expectRefused(nd('{"a":1,}\n'), 'line 1: invalid JSON (unexpected "}" at character 8)');
    await expectRefused(nd("\n\n"), "the upload has no JSON object with a key to infer columns from");
    await expectRefused(
      nd('{"a":1}\n{"a":2,"b":3}\n', { schema: schema(["a", ColumnType.INT64]) }),
      'line 2: unknown column "b"',
    );
    await expectRefused(
      nd('{"a":1}\n{}\n', { schema: schema(["a", ColumnType.INT64]) }),
      'line 2, column "a": null in a non-nullable column',
    );
  });

  it("refuses an upload over the size limit", async () => {
    const err = await run("a,b\n1,2\n3,4\n", { maxSourceBytes: 8 }, 4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect((err as Error).message).toBe("the upload exceeds the limit of 8 bytes");
    expect(await readdir(tmp)).toEqual([]);
  });

  it("stops on abort midway and removes the temp files", async () => {
    const controller = new AbortController();
    let sent = 0;
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield Buffer.from("a,b\n");
      for (;;) {
        yield Buffer.from("1,2\n".repeat(10_000));
        if (++sent === 50) controller.abort(new Error("client went away"));
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    const err = await ingest(slow(), csv({ signal: controller.signal })).catch((e: unknown) => e);
    expect((err as Error).message).toBe("client went away");
    expect(await readdir(tmp)).toEqual([]);
  });

  it("stops on abort while waiting for a chunk", async () => {
    const controller = new AbortController();
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield Buffer.from("a,b\n1,2\n");
      await new Promise(() => undefined);
    }
    setTimeout(() => controller.abort(), 50);
    await expect(ingest(stalled(), csv({ signal: controller.signal }))).rejects.toThrow(/abort/i);
    expect(await readdir(tmp)).toEqual([]);
  });
});

describe("determinism", () => {
  const csvData =
    'id,name,score,ok,at\n1,"Ann, ""A""",1.5,true,2024-05-01\n2,,2,false,2024-05-01T00:00:00Z\n3,Bob,,TRUE,2024-05-02T10:00:00+01:00\n';
  const ndjson = [
    '{"id":1,"name":"Ann, \\"A\\"","score":1.5,"ok":true,"at":"2024-05-01"}',
    '{"id":2,"name":null,"score":2,"ok":false,"at":"2024-05-01T00:00:00Z"}',
    '{"at":"2024-05-02T10:00:00+01:00","ok":true,"id":3,"name":"Bob"}',
  ].join("\n");

  it("gives the same bytes for the same data as CSV and as NDJSON", async () => {
    const a = await run(csvData);
    const b = await run(ndjson, { format: SourceFormat.NDJSON });
    expect(columnsOf(b)).toEqual(columnsOf(a));
    expect(b.sha256).toBe(a.sha256);
    expect(await rows(b)).toEqual(await rows(a));
  });

  it("gives the same bytes however the upload is chunked", async () => {
    const whole = await run(csvData);
    for (const size of [1, 2, 3, 7, 16]) {
      expect((await run(csvData, {}, size)).sha256).toBe(whole.sha256);
      expect((await run(ndjson, { format: SourceFormat.NDJSON }, size)).sha256).toBe(whole.sha256);
    }
  });

  it("cuts record batches at batchRows", async () => {
    const lines = ["v"];
    for (let i = 0; i < 10; i++) lines.push(String(i));
    const result = await run(lines.join("\n"), { batchRows: 4 });
    expect((await table(result)).batches.map((b) => b.numRows)).toEqual([4, 4, 2]);
  });
});

describe("Arrow IPC input", () => {
  it("round-trips the canonical stream to the same bytes, re-batched", async () => {
    const lines = ["id,name,score,at"];
    for (let i = 0; i < 100; i++) lines.push(`${i},n${i},${i % 3 === 0 ? "" : i / 4},2024-05-01`);
    const fromCsv = await run(lines.join("\n"), { batchRows: 7 });
    const bytes = await readFile(fromCsv.arrowPath);
    const again = await run(bytes, { format: SourceFormat.ARROW_IPC, batchRows: 7 }, 100);
    expect(again.sha256).toBe(fromCsv.sha256);
    expect(columnsOf(again)).toEqual(columnsOf(fromCsv));
    const rebatched = await run(bytes, { format: SourceFormat.ARROW_IPC, batchRows: 64 });
    expect((await table(rebatched)).batches.map((b) => b.numRows)).toEqual([64, 36]);
  });

  it("converts narrower types and nulls", async () => {
    const source = tableFromArrays({
      small: Int32Array.from([1, -2, 3]),
      single: Float32Array.from([0.5, 1.5, 2.5]),
      text: ["a", null, "c"],
    });
    const bytes = RecordBatchStreamWriter.writeAll(source).toUint8Array(true);
    const result = await run(bytes, { format: SourceFormat.ARROW_IPC });
    expect(columnsOf(result)).toEqual([
      ["small", ColumnType.INT64, false],
      ["single", ColumnType.FLOAT64, false],
      ["text", ColumnType.STRING, true],
    ]);
    expect(await rows(result)).toEqual([
      { small: 1n, single: 0.5, text: "a" },
      { small: -2n, single: 1.5, text: null },
      { small: 3n, single: 2.5, text: "c" },
    ]);
    // Same data as CSV gives the same version.
    const same = await run("small,single,text\n1,0.5,a\n-2,1.5,\n3,2.5,c\n");
    expect(same.sha256).toBe(result.sha256);
  });

  it("refuses unsupported Arrow types, naming the column", async () => {
    const source = new ArrowTable({
      ok: vectorFromArray(["x"], new Utf8()),
      tags: vectorFromArray([[1, 2]], new List(new ArrowField("item", new Int32(), true))),
    });
    const bytes = RecordBatchStreamWriter.writeAll(source).toUint8Array(true);
    await expectRefused(
      run(bytes, { format: SourceFormat.ARROW_IPC }),
      'column "tags": Arrow type List<Int32> is not supported (use int64, float64, bool, utf8 or timestamp)',
    );
  });

  it("refuses bytes that are not an Arrow stream", async () => {
    const err = await run("a,b\n1,2\n", { format: SourceFormat.ARROW_IPC }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(await readdir(tmp)).toEqual([]);
  });
});
