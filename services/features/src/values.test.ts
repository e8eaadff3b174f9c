import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureValueSchema } from "@seam/proto/seam/features/v1/features_pb";
import { describe, expect, it } from "vitest";
import { decodeFeatureValue, encodeArrowValue, encodeFeatureValue } from "./values.js";

const v = (kind: Parameters<typeof create<typeof FeatureValueSchema>>[1]) => create(FeatureValueSchema, kind);

describe("feature values", () => {
  it.each([
    [ColumnType.INT64, v({ kind: { case: "int64Value", value: -9007199254740993n } })],
    [ColumnType.FLOAT64, v({ kind: { case: "doubleValue", value: 0.1 } })],
    [ColumnType.BOOL, v({ kind: { case: "boolValue", value: false } })],
    [ColumnType.STRING, v({ kind: { case: "stringValue", value: "" } })],
    [ColumnType.TIMESTAMP, v({ kind: { case: "timestampValue", value: timestampFromMs(1714564800123) } })],
  ])("round-trips a %s value through the online text form exactly", (type, value) => {
    const text = encodeFeatureValue(type, value, "x");
    expect(text).not.toBeNull();
    expect(create(FeatureValueSchema, decodeFeatureValue(type, text as string))).toEqual(value);
  });

  it("encodes Arrow values like pushed values", () => {
    expect(encodeArrowValue(ColumnType.INT64, 5n)).toBe(
      encodeFeatureValue(ColumnType.INT64, v({ kind: { case: "int64Value", value: 5n } }), "x"),
    );
    expect(encodeArrowValue(ColumnType.BOOL, true)).toBe("1");
    expect(encodeArrowValue(ColumnType.TIMESTAMP, 1714564800123)).toBe("1714564800123");
    expect(encodeArrowValue(ColumnType.STRING, null)).toBeNull();
  });

  it("accepts an int64 for a float64 feature, and null for any, but refuses other mismatches", () => {
    expect(encodeFeatureValue(ColumnType.FLOAT64, v({ kind: { case: "int64Value", value: 3n } }), "x")).toBe(
      "3",
    );
    expect(encodeFeatureValue(ColumnType.STRING, v({}), "x")).toBeNull();
    expect(encodeFeatureValue(ColumnType.STRING, undefined, "x")).toBeNull();
    expect(() =>
      encodeFeatureValue(ColumnType.INT64, v({ kind: { case: "doubleValue", value: 1.5 } }), "row 3"),
    ).toThrow("row 3: a float64 value does not fit an int64 feature");
    expect(() =>
      encodeFeatureValue(
        ColumnType.FLOAT64,
        v({ kind: { case: "doubleValue", value: Number.NaN } }),
        "row 3",
      ),
    ).toThrow("not a finite float64");
  });
});
