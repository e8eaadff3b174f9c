import { ColumnType, SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { describe, expect, it } from "vitest";
import { UsageError } from "../args.js";
import {
  parseColumnList,
  parseDatasetRef,
  parseDelimiter,
  parseFormat,
  parseRowLimit,
  parseSchema,
  parseSplit,
} from "./dataset-args.js";

describe("parseSchema", () => {
  it("reads col:type with ? for nullable, aliases and colons in names", () => {
    expect(parseSchema("id:int64,score:float?, name : string ,ok:Boolean,at:timestamp?,a:b:str")).toEqual([
      { name: "id", type: ColumnType.INT64, nullable: false },
      { name: "score", type: ColumnType.FLOAT64, nullable: true },
      { name: "name", type: ColumnType.STRING, nullable: false },
      { name: "ok", type: ColumnType.BOOL, nullable: false },
      { name: "at", type: ColumnType.TIMESTAMP, nullable: true },
      { name: "a:b", type: ColumnType.STRING, nullable: false },
    ]);
  });

  it("refuses missing types, unknown types and duplicate columns", () => {
    expect(() => parseSchema("id")).toThrow(/"id" is not col:type/);
    expect(() => parseSchema("id:")).toThrow(UsageError);
    expect(() => parseSchema(":int64")).toThrow(UsageError);
    expect(() => parseSchema("id:int64,")).toThrow(UsageError);
    expect(() => parseSchema("id:decimal")).toThrow(/unknown type "decimal" of column "id"/);
    expect(() => parseSchema("id:int64?,id:string")).toThrow(/"id" appears twice/);
  });
});

describe("parseSplit", () => {
  it("reads seed:train/val/test with an optional key column", () => {
    expect(parseSplit("42:0.8/0.1/0.1")).toEqual({
      seed: 42n,
      trainFraction: 0.8,
      validationFraction: 0.1,
      testFraction: 0.1,
      keyColumn: "",
    });
    expect(parseSplit("18446744073709551615:0.7/0.3/0:user:id")).toEqual({
      seed: 18446744073709551615n,
      trainFraction: 0.7,
      validationFraction: 0.3,
      testFraction: 0,
      keyColumn: "user:id",
    });
  });

  it("turns percentages adding up to 100 into fractions", () => {
    const split = parseSplit("7:80/10/10:user_id");
    expect([split.trainFraction, split.validationFraction, split.testFraction]).toEqual([0.8, 0.1, 0.1]);
    expect(split.keyColumn).toBe("user_id");
  });

  it("refuses bad seeds, share lists and sums", () => {
    for (const bad of [
      "",
      "42",
      "x:0.8/0.1/0.1",
      "-1:0.8/0.1/0.1",
      "18446744073709551616:0.8/0.1/0.1",
      "42:0.8/0.2",
      "42:0.8/0.1/0.1/0",
      "42:0.8/-0.1/0.3",
      "42:a/b/c",
      "42:0.8/0.1/0.1:",
    ]) {
      expect(() => parseSplit(bad), bad).toThrow(/--split takes seed:train\/val\/test/);
    }
    expect(() => parseSplit("42:0.8/0.1/0.2")).toThrow(/add up to 1.1/);
    expect(() => parseSplit("42:80/10/20")).toThrow(/add up to 110/);
  });
});

describe("format, delimiter, references, columns and row limits", () => {
  it("takes the format from --format or the file's extension", () => {
    expect(parseFormat(undefined, "data/iris.CSV")).toBe(SourceFormat.CSV);
    expect(parseFormat(undefined, "x.tsv")).toBe(SourceFormat.CSV);
    expect(parseFormat(undefined, "x.jsonl")).toBe(SourceFormat.NDJSON);
    expect(parseFormat(undefined, "x.ndjson")).toBe(SourceFormat.NDJSON);
    expect(parseFormat(undefined, "x.arrow")).toBe(SourceFormat.ARROW_IPC);
    expect(parseFormat("arrow", "x.bin")).toBe(SourceFormat.ARROW_IPC);
    expect(() => parseFormat(undefined, "x.bin")).toThrow(/pass --format/);
    expect(() => parseFormat("parquet", "x.csv")).toThrow(/--format must be csv, ndjson or arrow/);
  });

  it("reads one-character delimiters, tab by name, and a tab for .tsv by default", () => {
    expect(parseDelimiter(undefined, "x.csv")).toBe("");
    expect(parseDelimiter(undefined, "x.tsv")).toBe("\t");
    expect(parseDelimiter(";", "x.csv")).toBe(";");
    expect(parseDelimiter("\\t", "x.csv")).toBe("\t");
    expect(parseDelimiter("tab", "x.csv")).toBe("\t");
    expect(parseDelimiter("§", "x.csv")).toBe("§");
    for (const bad of ["", ";;", '"', "\n"])
      expect(() => parseDelimiter(bad, "x.csv"), bad).toThrow(UsageError);
  });

  it("splits name@id references; a bare name means the latest version", () => {
    expect(parseDatasetRef("iris", "show")).toEqual({ dataset: "iris", version: "" });
    expect(parseDatasetRef("iris@abc", "show")).toEqual({ dataset: "iris", version: "abc" });
    expect(() => parseDatasetRef(undefined, "head")).toThrow(/head needs a dataset/);
    expect(() => parseDatasetRef("iris@", "show")).toThrow(UsageError);
    expect(() => parseDatasetRef("@abc", "show")).toThrow(UsageError);
  });

  it("reads column lists and row limits", () => {
    expect(parseColumnList(undefined)).toEqual([]);
    expect(parseColumnList("a, b")).toEqual(["a", "b"]);
    expect(() => parseColumnList("a,,b")).toThrow(UsageError);
    expect(parseRowLimit(undefined, 10, 1000)).toBe(10);
    expect(parseRowLimit("1000", 10, 1000)).toBe(1000);
    for (const bad of ["0", "1001", "-1", "2.5", "x"])
      expect(() => parseRowLimit(bad, 10, 1000), bad).toThrow(/-n/);
  });
});
