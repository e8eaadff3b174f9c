import { InvalidArgumentError } from "@seam/kit/errors";
import { describe, expect, it } from "vitest";
import type { NumericTransform } from "../model/trained-model.js";
import {
  type ColumnData,
  encodeTargets,
  fitClasses,
  fitPreprocessing,
  prepareData,
  transform,
} from "./data.js";

const all = (n: number) => Array.from({ length: n }, (_, i) => i);
const f32 = Math.fround;

describe("fitPreprocessing", () => {
  it("fills missing numbers with the training mean, then standardizes the filled values", () => {
    const column: ColumnData = { name: "x", kind: "numeric", values: [1, null, 3, Number.NaN, 5, 1000] };
    const [t] = fitPreprocessing([column], [0, 1, 2, 3, 4]).features as [NumericTransform];
    // Row 5 is not a training row. Filled: 1, 3, 3, 3, 5.
    expect(t).toEqual({ kind: "numeric", name: "x", fill: 3, mean: 3, std: Math.sqrt(8 / 5) });
  });

  it("fills with zero when asked", () => {
    const column: ColumnData = { name: "x", kind: "numeric", values: [1, null, 3, Number.NaN, 5] };
    const [t] = fitPreprocessing([column], all(5), { missing: "zero" }).features as [NumericTransform];
    const filled = [1, 0, 3, 0, 5];
    const mean = 9 / 5;
    expect(t.fill).toBe(0);
    expect(t.mean).toBeCloseTo(mean, 12);
    expect(t.std).toBeCloseTo(Math.sqrt(filled.reduce((s, v) => s + (v - mean) ** 2, 0) / 5), 12);
  });

  it("gives a constant column std 1 and an all-missing one fill 0", () => {
    const constant: ColumnData = { name: "c", kind: "numeric", values: [0.1, 0.1, 0.1, 0.1] };
    const empty: ColumnData = { name: "e", kind: "numeric", values: [null, null, null, null] };
    const p = fitPreprocessing([constant, empty], all(4));
    expect(p.features).toEqual([
      { kind: "numeric", name: "c", fill: expect.closeTo(0.1, 12), mean: expect.closeTo(0.1, 12), std: 1 },
      { kind: "numeric", name: "e", fill: 0, mean: 0, std: 1 },
    ]);
    expect([...transform(p, [constant, empty], [0, 1])]).toEqual([0, 0, 0, 0]);
  });

  it("orders the vocabulary by frequency, then value, caps it, and ignores null and empty", () => {
    const column: ColumnData = {
      name: "color",
      kind: "categorical",
      values: ["b", "a", "b", "d", null, "a", "b", "", "c", ""],
    };
    expect(fitPreprocessing([column], all(10)).features[0]).toEqual({
      kind: "categorical",
      name: "color",
      vocabulary: ["b", "a", "c", "d"],
    });
    expect(fitPreprocessing([column], all(10), { maxCategories: 2 }).features[0]).toMatchObject({
      vocabulary: ["b", "a"],
    });
  });

  it("refuses wrong value types, infinite training values and repeated columns", () => {
    const asText = { name: "x", kind: "numeric", values: ["1"] } as unknown as ColumnData;
    expect(() => fitPreprocessing([asText], [0])).toThrow(InvalidArgumentError);
    const infinite: ColumnData = { name: "x", kind: "numeric", values: [1, Number.POSITIVE_INFINITY] };
    expect(() => fitPreprocessing([infinite], [0, 1])).toThrow(/"x" holds Infinity/);
    expect(fitPreprocessing([infinite], [0]).features).toHaveLength(1); // only training rows are read
    const a: ColumnData = { name: "a", kind: "numeric", values: [1] };
    expect(() => fitPreprocessing([a, a], [0])).toThrow(/given twice/);
  });
});

describe("transform", () => {
  const x: ColumnData = { name: "x", kind: "numeric", values: [1, 2, 4, null, Number.NaN, 0.3] };
  const color: ColumnData = {
    name: "color",
    kind: "categorical",
    values: ["red", "blue", "red", null, "green", ""],
  };
  const p = fitPreprocessing([x, color], [0, 1, 2]);

  it("encodes rows as the model contract says: standardized numbers, one-hot plus an unknown slot", () => {
    const t = p.features[0] as NumericTransform;
    expect(p.features[1]).toMatchObject({ vocabulary: ["red", "blue"] });
    const z = (v: number) => f32(f32(f32(v) - f32(t.mean)) / f32(t.std));
    // prettier-ignore
    expect([...transform(p, [x, color], all(6))]).toEqual([
      z(1),
      1,
      0,
      0,
      z(2),
      0,
      1,
      0,
      z(4),
      1,
      0,
      0,
      z(t.fill),
      0,
      0,
      1, // missing number → fill; null → unknown
      z(t.fill),
      0,
      0,
      1, // NaN → fill; unseen "green" → unknown
      z(0.3),
      0,
      0,
      1, // "" → unknown
    ]);
    expect(z(t.fill)).toBe(0);
  });

  it("finds columns by name, whatever their order", () => {
    expect(transform(p, [color, x], [0, 1])).toEqual(transform(p, [x, color], [0, 1]));
  });

  it("refuses a missing column or one of the other kind", () => {
    expect(() => transform(p, [x], [0])).toThrow(/"color" is missing/);
    const wrongKind: ColumnData = { name: "color", kind: "numeric", values: [1] };
    expect(() => transform(p, [x, wrongKind], [0])).toThrow(InvalidArgumentError);
  });
});

describe("labels", () => {
  it("orders classes numerically when all are numbers, else by code units", () => {
    expect(fitClasses("multiclass", "y", ["10", "9", "2", "9"], all(4))).toEqual(["2", "9", "10"]);
    expect(fitClasses("multiclass", "y", ["b", "B", "a", null], all(4))).toEqual(["B", "a", "b"]);
    expect(fitClasses("binary", "y", ["true", "false"], all(2))).toEqual(["false", "true"]);
  });

  it("needs exactly 2 classes for binary and 2 or more for multiclass, naming the label column", () => {
    expect(() => fitClasses("binary", "species", ["a", "b", "c"], all(3))).toThrow(
      /binary classification needs exactly 2 classes in label column "species"; its training rows have 3 \("a", "b", "c"\)/,
    );
    expect(() => fitClasses("multiclass", "species", ["a", "a", null], all(3))).toThrow(
      /label column "species"/,
    );
  });

  it("encodes targets: class index, one-hot, value", () => {
    expect([...encodeTargets("binary", ["b", "a", "b"], [0, 1, 2], ["a", "b"])]).toEqual([1, 0, 1]);
    expect([...encodeTargets("multiclass", ["c", "a"], [0, 1], ["a", "b", "c"])]).toEqual([0, 0, 1, 1, 0, 0]);
    expect([...encodeTargets("regression", [1.5, -2], [1, 0], [])]).toEqual([-2, 1.5]);
  });
});

describe("prepareData", () => {
  const columns: ColumnData[] = [
    { name: "x", kind: "numeric", values: [0, 1, 2, 3, 4, 5, 6, 7] },
    { name: "c", kind: "categorical", values: ["u", "v", "u", "v", "w", "u", "v", "u"] },
  ];

  it("drops rows without a label, and validation or test rows of a class training never saw", () => {
    const prepared = prepareData("binary", {
      columns,
      labelColumn: "label",
      labels: ["no", "yes", null, "yes", "no", "maybe", "yes", null],
      splits: { train: [0, 1, 2, 3], validation: [4, 5], test: [6, 7] },
    });
    expect(prepared.classes).toEqual(["no", "yes"]);
    expect([...prepared.train.rows]).toEqual([0, 1, 3]);
    expect([...prepared.train.y]).toEqual([0, 1, 1]);
    expect([...prepared.validation.rows]).toEqual([4]);
    expect([...prepared.test.rows]).toEqual([6]);
    expect(prepared.droppedRows).toBe(3); // rows 2 and 7 (no label), 5 (unseen "maybe")
    // Fitted on training rows 0, 1, 3 only: "w" (validation) is unknown, mean of x is 4/3.
    expect(prepared.preprocessing.features[0]).toMatchObject({ mean: 4 / 3 });
    expect(prepared.preprocessing.features[1]).toMatchObject({ vocabulary: ["v", "u"] });
    expect(prepared.inputWidth).toBe(4);
    expect([...prepared.validation.x.subarray(1)]).toEqual([0, 0, 1]);
  });

  it("refuses a label that is also an input, rows outside the data and text regression labels", () => {
    const splits = { train: [0, 1], validation: [], test: [] };
    expect(() => prepareData("regression", { columns, labelColumn: "x", labels: [1, 2], splits })).toThrow(
      /cannot be an input column/,
    );
    const labels = Array.from({ length: 8 }, () => 1);
    expect(() =>
      prepareData("regression", { columns, labelColumn: "y", labels, splits: { ...splits, test: [8] } }),
    ).toThrow(/test row 8 is outside the data/);
    const text = ["1", "2", "3", "4", "5", "6", "7", "8"];
    expect(() => prepareData("regression", { columns, labelColumn: "y", labels: text, splits })).toThrow(
      /must be a finite number/,
    );
  });
});
