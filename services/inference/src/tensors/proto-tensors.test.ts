import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { DataType, type Tensor, TensorSchema } from "@seam/proto/seam/inference/v1/inference_pb";
import { describe, expect, it } from "vitest";
import { expectInvalid } from "../testing/expect-invalid.js";
import {
  dataTypeOf,
  elementTypeOf,
  fromLittleEndian,
  tensorFromProto,
  tensorToProto,
  toLittleEndian,
} from "./proto-tensors.js";
import { ELEMENT_TYPES, type TensorData } from "./tensor-data.js";

/** One tensor of each type, shape [2,3], with edge values. */
const SAMPLES: readonly TensorData[] = [
  {
    name: "f32",
    type: "float32",
    dims: [2, 3],
    data: new Float32Array([0, -1.5, 3.25, Number.NaN, 1e30, -0]),
  },
  {
    name: "f64",
    type: "float64",
    dims: [2, 3],
    data: new Float64Array([0.1, -2.5, Number.MAX_VALUE, Number.NaN, Number.NEGATIVE_INFINITY, 5e-324]),
  },
  { name: "i32", type: "int32", dims: [2, 3], data: new Int32Array([0, 1, -1, 2147483647, -2147483648, 42]) },
  {
    name: "i64",
    type: "int64",
    dims: [2, 3],
    data: new BigInt64Array([0n, 9007199254740993n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 7n]),
  },
  { name: "b", type: "bool", dims: [2, 3], data: new Uint8Array([1, 0, 0, 1, 1, 0]) },
  { name: "s", type: "string", dims: [2, 3], data: ["a", "", "héllo", "日本", "x y", "\u0000"] },
];

function floatTensor(init: MessageInitShape<typeof TensorSchema>): Tensor {
  return create(TensorSchema, { name: "x", dataType: DataType.FLOAT32, shape: [2n, 4n], ...init });
}

describe("dataTypeOf / elementTypeOf", () => {
  it("map every element type both ways", () => {
    for (const type of ELEMENT_TYPES) expect(elementTypeOf(dataTypeOf(type))).toBe(type);
    expect(dataTypeOf("float32")).toBe(DataType.FLOAT32);
    expect(dataTypeOf("string")).toBe(DataType.STRING);
  });
  it("refuses DATA_TYPE_UNSPECIFIED and unknown numbers, naming the tensor", () => {
    expectInvalid(
      () => elementTypeOf(DataType.UNSPECIFIED, 'input "x"'),
      'input "x"',
      "DATA_TYPE_UNSPECIFIED",
    );
    expectInvalid(() => elementTypeOf(99 as DataType, 'input "x"'), 'input "x"', "99", "DATA_TYPE_FLOAT32");
  });
});

describe("tensorToProto / tensorFromProto", () => {
  for (const raw of [false, true]) {
    for (const sample of SAMPLES) {
      it(`round-trips ${sample.type} ${raw ? "raw" : "typed"}`, () => {
        const proto = create(TensorSchema, tensorToProto(sample, raw));
        expect(proto.name).toBe(sample.name);
        expect(proto.dataType).toBe(dataTypeOf(sample.type));
        expect(proto.shape).toEqual([2n, 3n]);
        expect(proto.raw.length > 0).toBe(raw && sample.type !== "string");
        // Through the wire too, so raw bytes arrive as a view into a larger buffer.
        const decoded = tensorFromProto(fromBinaryViaWire(proto));
        expect(decoded).toEqual(sample);
      });
    }
  }

  it("puts typed values in the field of the data type", () => {
    const [f32, , , i64, b, s] = SAMPLES as [
      TensorData,
      TensorData,
      TensorData,
      TensorData,
      TensorData,
      TensorData,
    ];
    const proto = (t: TensorData, raw: boolean) => create(TensorSchema, tensorToProto(t, raw));
    expect(proto(f32, false).floatValues).toHaveLength(6);
    expect(proto(i64, false).int64Values[1]).toBe(9007199254740993n);
    expect(proto(b, false).boolValues).toEqual([true, false, false, true, true, false]);
    expect(proto(s, true).stringValues).toEqual(s.data);
    expect(proto(s, true).raw).toHaveLength(0);
  });

  it("writes raw little-endian", () => {
    const t: TensorData = { name: "x", type: "int32", dims: [2], data: new Int32Array([1, -2]) };
    expect([...(tensorToProto(t, true).raw ?? [])]).toEqual([1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
  });

  it("accepts scalars and empty tensors", () => {
    expect(tensorFromProto(floatTensor({ shape: [], floatValues: [2] })).data).toEqual(new Float32Array([2]));
    const empty = tensorFromProto(floatTensor({ shape: [0n, 4n] }));
    expect(empty.dims).toEqual([0, 4]);
    expect(empty.data).toEqual(new Float32Array(0));
  });

  it("reads unaligned raw bytes", () => {
    const buf = new Uint8Array(33);
    buf.set(toLittleEndian("float32", new Float32Array([1, 2, 3, 4, 5, 6, 7, 8])), 1);
    const t = tensorFromProto(floatTensor({ raw: buf.subarray(1) }));
    expect(t.data).toEqual(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
  });

  it("reads any nonzero raw bool byte as true", () => {
    expect(fromLittleEndian("bool", new Uint8Array([0, 1, 2, 255]))).toEqual(new Uint8Array([0, 1, 1, 1]));
  });
});

describe("tensorFromProto refuses", () => {
  it("a value count that does not match the shape", () => {
    expectInvalid(
      () => tensorFromProto(floatTensor({ floatValues: [1, 2, 3, 4, 5, 6, 7] })),
      'input "x": 7 float_values for shape [2,4] (8 elements)',
    );
    expectInvalid(
      () => tensorFromProto(floatTensor({})),
      'input "x": 0 float_values for shape [2,4] (8 elements)',
    );
  });

  it("raw of the wrong length", () => {
    expectInvalid(
      () => tensorFromProto(floatTensor({ raw: new Uint8Array(30) })),
      'input "x": raw has 30 bytes for shape [2,4] (8 float32 elements of 4 bytes = 32 bytes)',
    );
    const i64 = create(TensorSchema, {
      name: "n",
      dataType: DataType.INT64,
      shape: [3n],
      raw: new Uint8Array(12),
    });
    expectInvalid(() => tensorFromProto(i64), 'input "n": raw has 12 bytes', "= 24 bytes");
  });

  it("both the typed field and raw", () => {
    expectInvalid(
      () => tensorFromProto(floatTensor({ floatValues: [1, 2, 3, 4, 5, 6, 7, 8], raw: new Uint8Array(32) })),
      'input "x": both float_values and raw are set',
    );
  });

  it("values in a field that does not match data_type", () => {
    expectInvalid(
      () => tensorFromProto(floatTensor({ int32Values: [1, 2, 3, 4, 5, 6, 7, 8] })),
      'input "x": data_type DATA_TYPE_FLOAT32 takes float_values or raw, got 8 int32_values',
    );
    const s = create(TensorSchema, { name: "s", dataType: DataType.STRING, shape: [1n], boolValues: [true] });
    expectInvalid(() => tensorFromProto(s), 'input "s"', "takes string_values, got 1 bool_values");
  });

  it("raw for strings", () => {
    const s = create(TensorSchema, {
      name: "s",
      dataType: DataType.STRING,
      shape: [1n],
      raw: new Uint8Array(1),
    });
    expectInvalid(() => tensorFromProto(s), 'input "s": raw is not allowed for data_type DATA_TYPE_STRING');
  });

  it("DATA_TYPE_UNSPECIFIED", () => {
    expectInvalid(
      () => tensorFromProto(floatTensor({ dataType: DataType.UNSPECIFIED })),
      'input "x": DATA_TYPE_UNSPECIFIED',
    );
  });

  it("negative and absurd dimensions", () => {
    expectInvalid(
      () => tensorFromProto(floatTensor({ shape: [-1n, 4n] })),
      'input "x": dimension 0 of shape [-1,4] is -1',
    );
    expectInvalid(() => tensorFromProto(floatTensor({ shape: [2n ** 60n] })), 'input "x": dimension 0');
  });
});

/** Serializes and parses, like a real request. */
function fromBinaryViaWire(t: Tensor): Tensor {
  return fromBinary(TensorSchema, toBinary(TensorSchema, t));
}
