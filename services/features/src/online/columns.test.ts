import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStatus } from "@seam/proto/seam/features/v1/features_pb";
import { describe, expect, it } from "vitest";
import type { Selection } from "../definitions/catalog.js";
import { ColumnsBuilder } from "./columns.js";

// Only the selected features' types matter to the builder.
function selectionOf(...types: ColumnType[]): Selection {
  const features = types.map((type, i) => ({ name: `f${i}`, type }));
  return {
    parts: [{ features, fieldNames: features.map((f) => f.name) }],
    featureNames: [],
  } as unknown as Selection;
}

describe("ColumnsBuilder", () => {
  it("turns stored text into each type's array, with the type's zero where there is no value", () => {
    const types = [
      ColumnType.INT64,
      ColumnType.FLOAT64,
      ColumnType.BOOL,
      ColumnType.STRING,
      ColumnType.TIMESTAMP,
    ];
    const builder = new ColumnsBuilder(selectionOf(...types), 3);
    const stored = ["-9007199254740993", "2.5", "1", "naïve", "1714564800000"];
    stored.forEach((text, column) => {
      builder.add(0, column, FeatureStatus.PRESENT, 1_000, text);
      builder.add(1, column, FeatureStatus.NULL_VALUE, 2_000, null);
      builder.add(2, column, FeatureStatus.NOT_FOUND, undefined, null);
    });
    const [int64, float64, bool, string, timestamp] = builder.build();
    expect(int64).toMatchObject({ type: ColumnType.INT64, int64Values: [-9007199254740993n, 0n, 0n] });
    expect(float64).toMatchObject({ doubleValues: [2.5, 0, 0] });
    expect(bool).toMatchObject({ boolValues: [true, false, false] });
    expect(string).toMatchObject({ stringValues: ["naïve", "", ""] });
    expect(timestamp).toMatchObject({ timestampMillisValues: [1714564800000, 0, 0] });
    for (const column of [int64, float64, bool, string, timestamp]) {
      expect(column?.statuses).toEqual([
        FeatureStatus.PRESENT,
        FeatureStatus.NULL_VALUE,
        FeatureStatus.NOT_FOUND,
      ]);
      expect(column?.eventTimeMillis).toEqual([1_000, 2_000, 0]);
    }
  });
});
