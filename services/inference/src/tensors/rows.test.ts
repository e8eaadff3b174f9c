import { fromJson, type JsonObject } from "@bufbuild/protobuf";
import { PredictRequestSchema } from "@seam/proto/seam/inference/v1/inference_pb";
import { describe, expect, it } from "vitest";
import { expectInvalid } from "../testing/expect-invalid.js";
import { type InputSpec, tensorsFromRows } from "./rows.js";

const IRIS: readonly InputSpec[] = [
  { name: "sepal_length", type: "float32", dims: [-1, 1] },
  { name: "species", type: "string", dims: [-1] },
];

describe("tensorsFromRows", () => {
  it("builds one tensor per input, in input order, batch = rows", () => {
    const rows: JsonObject[] = [
      { species: "setosa", sepal_length: 5.1 },
      { sepal_length: [4.9], species: "virginica" },
    ];
    expect(tensorsFromRows(rows, IRIS)).toEqual([
      { name: "sepal_length", type: "float32", dims: [2, 1], data: new Float32Array([5.1, 4.9]) },
      { name: "species", type: "string", dims: [2], data: ["setosa", "virginica"] },
    ]);
  });

  it("converts every element type", () => {
    const inputs: InputSpec[] = [
      { name: "f32", type: "float32", dims: [-1, 2] },
      { name: "f64", type: "float64", dims: [-1] },
      { name: "i32", type: "int32", dims: [-1, 1] },
      { name: "i64", type: "int64", dims: [-1] },
      { name: "b", type: "bool", dims: [-1, 2] },
      { name: "s", type: "string", dims: [-1, 2] },
    ];
    const rows: JsonObject[] = [
      { f32: [1.5, -2], f64: 0.1, i32: -2147483648, i64: 9007199254740991, b: [true, false], s: ["a", "b"] },
      { f32: [0, 3], f64: -1e300, i32: [2147483647], i64: -5, b: [false, true], s: ["", "日本"] },
    ];
    const [f32, f64, i32, i64, b, s] = tensorsFromRows(rows, inputs);
    expect(f32).toEqual({
      name: "f32",
      type: "float32",
      dims: [2, 2],
      data: new Float32Array([1.5, -2, 0, 3]),
    });
    expect(f64?.data).toEqual(new Float64Array([0.1, -1e300]));
    expect(f64?.dims).toEqual([2]);
    expect(i32?.data).toEqual(new Int32Array([-2147483648, 2147483647]));
    expect(i32?.dims).toEqual([2, 1]);
    expect(i64?.data).toEqual(new BigInt64Array([9007199254740991n, -5n]));
    expect(b?.data).toEqual(new Uint8Array([1, 0, 0, 1]));
    expect(s?.data).toEqual(["a", "b", "", "日本"]);
  });

  it("takes rows as protobuf-es gives google.protobuf.Struct", () => {
    const req = fromJson(PredictRequestSchema, {
      rows: [{ sepal_length: 5, species: null }, { sepal_length: null }],
    });
    const [length, species] = tensorsFromRows(req.rows, IRIS);
    expect(length?.data).toEqual(new Float32Array([5, Number.NaN]));
    expect(species?.data).toEqual(["", ""]);
  });

  it("fills missing float and string values with NaN and empty strings", () => {
    const inputs: InputSpec[] = [
      { name: "v", type: "float64", dims: [-1, 3] },
      { name: "s", type: "string", dims: [-1, 2] },
    ];
    const [v, s] = tensorsFromRows([{ v: [1, null, 3], s: [null, "x"] }, {}], inputs);
    expect(v?.data).toEqual(new Float64Array([1, Number.NaN, 3, Number.NaN, Number.NaN, Number.NaN]));
    expect(s?.data).toEqual(["", "x", "", ""]);
  });

  it("does not read Object.prototype members as values", () => {
    const [t] = tensorsFromRows([{}], [{ name: "constructor", type: "float32", dims: [-1] }]);
    expect(t?.data).toEqual(new Float32Array([Number.NaN]));
  });
});

describe("tensorsFromRows refuses", () => {
  it("an empty rows list", () => {
    expectInvalid(() => tensorsFromRows([], IRIS), "no rows");
  });

  it("keys that are not inputs", () => {
    expectInvalid(
      () => tensorsFromRows([{ sepal_length: 1 }, {}, { foo: 1 }], IRIS),
      'row 2: "foo" is not an input of the model (inputs: sepal_length, species)',
    );
  });

  it("values of the wrong kind", () => {
    expectInvalid(
      () => tensorsFromRows([{}, {}, {}, { sepal_length: "abc" }], IRIS),
      'row 3, input "sepal_length": "abc" is not a number',
    );
    expectInvalid(() => tensorsFromRows([{ species: 3 }], IRIS), 'row 0, input "species": 3 is not a string');
    expectInvalid(
      () => tensorsFromRows([{ b: 1 }], [{ name: "b", type: "bool", dims: [-1] }]),
      'row 0, input "b": 1 is not a boolean',
    );
    expectInvalid(
      () => tensorsFromRows([{ sepal_length: { a: 1 } }], IRIS),
      'row 0, input "sepal_length": {"a":1} is not a number',
    );
    expectInvalid(
      () => tensorsFromRows([{ v: [1, "x"] }], [{ name: "v", type: "float32", dims: [-1, 2] }]),
      'row 0, input "v", element 1: "x" is not a number',
    );
  });

  it("ints that are not integers or out of range", () => {
    const i32: InputSpec[] = [{ name: "n", type: "int32", dims: [-1] }];
    expectInvalid(() => tensorsFromRows([{ n: 1.5 }], i32), 'row 0, input "n": 1.5 is not an int32');
    expectInvalid(
      () => tensorsFromRows([{ n: 2 ** 31 }], i32),
      'row 0, input "n": 2147483648 is not an int32',
    );
    const i64: InputSpec[] = [{ name: "n", type: "int64", dims: [-1] }];
    expectInvalid(() => tensorsFromRows([{ n: 0.5 }], i64), 'row 0, input "n": 0.5 is not an integer');
    expectInvalid(
      () => tensorsFromRows([{ n: 2 ** 60 }], i64),
      'row 0, input "n"',
      "send larger int64 values",
    );
  });

  it("float32 values beyond its range", () => {
    expectInvalid(
      () => tensorsFromRows([{ sepal_length: 1e39 }], IRIS),
      'row 0, input "sepal_length": 1e+39',
    );
  });

  it("missing int and bool values", () => {
    const inputs: InputSpec[] = [
      { name: "x", type: "int64", dims: [-1] },
      { name: "b", type: "bool", dims: [-1, 2] },
    ];
    expectInvalid(() => tensorsFromRows([{ b: [true, true] }], inputs), 'row 0 lacks input "x"');
    expectInvalid(
      () => tensorsFromRows([{ x: 1, b: [true, true] }, { x: null }], inputs),
      'row 1, input "x": null',
    );
    expectInvalid(
      () => tensorsFromRows([{ x: 1, b: [true, null] }], inputs),
      'row 0, input "b", element 1: null is not allowed',
    );
  });

  it("arrays of the wrong length and scalars for wide inputs", () => {
    const inputs: InputSpec[] = [{ name: "v", type: "float32", dims: [-1, 3] }];
    expectInvalid(
      () => tensorsFromRows([{ v: [1, 2] }], inputs),
      'row 0, input "v": 2 values for shape [-1,3] (3 per row)',
    );
    expectInvalid(
      () => tensorsFromRows([{ v: 1 }], inputs),
      'row 0, input "v": 1 is not an array of 3 values',
    );
    expectInvalid(
      () => tensorsFromRows([{ sepal_length: [1, 2] }], IRIS),
      'row 0, input "sepal_length": 2 values',
    );
  });

  it("inputs whose shape rows cannot fill", () => {
    for (const dims of [[-1, -1], [-1, 3, 4], [], [-1, 0]]) {
      expectInvalid(
        () => tensorsFromRows([{}], [{ name: "img", type: "float32", dims }]),
        `input "img" has shape [${dims.join(",")}]`,
        "send inputs as tensors",
      );
    }
  });
});
