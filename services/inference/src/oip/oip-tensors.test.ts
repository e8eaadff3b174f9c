import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  type ModelInferRequest,
  ModelInferRequest_InferInputTensorSchema,
  ModelInferRequestSchema,
  ModelInferResponseSchema,
} from "@seam/proto/inference/grpc_predict_v2_pb";
import { describe, expect, it } from "vitest";
import { ELEMENT_TYPES, type TensorData } from "../tensors/tensor-data.js";
import { expectInvalid } from "../testing/expect-invalid.js";
import { elementTypeOfOip, oipDatatypeOf, oipInputsToTensors, tensorsToOipOutputs } from "./oip-tensors.js";

/** One tensor of each type, shape [3,2], with edge values. */
const SAMPLES: readonly TensorData[] = [
  { name: "b", type: "bool", dims: [3, 2], data: new Uint8Array([1, 0, 0, 1, 1, 1]) },
  { name: "i32", type: "int32", dims: [3, 2], data: new Int32Array([0, -1, 2147483647, -2147483648, 5, 6]) },
  {
    name: "i64",
    type: "int64",
    dims: [3, 2],
    data: new BigInt64Array([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n, 6n]),
  },
  {
    name: "f32",
    type: "float32",
    dims: [3, 2],
    data: new Float32Array([0, -0.5, 1e-40, Number.NaN, 3e38, 7]),
  },
  { name: "f64", type: "float64", dims: [3, 2], data: new Float64Array([0.1, -0, 1e308, Number.NaN, 2, 3]) },
  { name: "s", type: "string", dims: [3, 2], data: ["", "a", "héllo", "日本語", "tab\t", "x".repeat(300)] },
];

type InputInit = MessageInitShape<typeof ModelInferRequest_InferInputTensorSchema>;

function request(inputs: InputInit[], raw: Uint8Array[] = []): ModelInferRequest {
  return create(ModelInferRequestSchema, {
    inputs: inputs.map((i) => create(ModelInferRequest_InferInputTensorSchema, i)),
    rawInputContents: raw,
  });
}

const FP32_X: InputInit = { name: "x", datatype: "FP32", shape: [2n, 4n] };

/** Response outputs turned into a request's inputs, through the wire like a real client. */
function echo(tensors: TensorData[], raw: boolean): ModelInferRequest {
  const { outputs, rawOutputContents } = tensorsToOipOutputs(tensors, raw);
  const response = fromBinary(
    ModelInferResponseSchema,
    toBinary(ModelInferResponseSchema, create(ModelInferResponseSchema, { outputs, rawOutputContents })),
  );
  return create(ModelInferRequestSchema, {
    inputs: response.outputs.map((o) =>
      create(ModelInferRequest_InferInputTensorSchema, {
        name: o.name,
        datatype: o.datatype,
        shape: o.shape,
        ...(o.contents ? { contents: o.contents } : {}),
      }),
    ),
    rawInputContents: response.rawOutputContents,
  });
}

describe("oipDatatypeOf / elementTypeOfOip", () => {
  it("map every element type both ways", () => {
    for (const type of ELEMENT_TYPES) expect(elementTypeOfOip(oipDatatypeOf(type))).toBe(type);
    expect(oipDatatypeOf("float32")).toBe("FP32");
    expect(oipDatatypeOf("string")).toBe("BYTES");
  });
  it("refuses datatypes this server does not support, saying which it does", () => {
    for (const datatype of ["INT8", "INT16", "UINT8", "UINT16", "UINT32", "UINT64", "FP16"]) {
      expectInvalid(
        () => elementTypeOfOip(datatype, 'input "x"'),
        `input "x": datatype "${datatype}" is not supported by this server`,
        "supported: BOOL, INT32, INT64, FP32, FP64, BYTES",
      );
    }
    expectInvalid(
      () => elementTypeOfOip("fp32", 'input "x"'),
      'input "x"',
      "not an Open Inference Protocol datatype",
    );
  });
});

describe("tensorsToOipOutputs / oipInputsToTensors", () => {
  for (const raw of [false, true]) {
    it(`round-trips every type ${raw ? "raw" : "in contents"}`, () => {
      expect(oipInputsToTensors(echo([...SAMPLES], raw))).toEqual(SAMPLES);
    });
  }

  it("puts contents in the field of each datatype, or everything raw", () => {
    const typed = tensorsToOipOutputs([...SAMPLES], false);
    expect(typed.rawOutputContents).toEqual([]);
    expect(typed.outputs.map((o) => o.datatype)).toEqual(["BOOL", "INT32", "INT64", "FP32", "FP64", "BYTES"]);
    expect(typed.outputs[0]?.contents?.boolContents).toEqual([true, false, false, true, true, true]);
    expect(typed.outputs[5]?.contents?.bytesContents?.[2]).toEqual(new TextEncoder().encode("héllo"));
    const raw = tensorsToOipOutputs([...SAMPLES], true);
    expect(raw.outputs.every((o) => o.contents === undefined)).toBe(true);
    expect(raw.rawOutputContents.map((b) => b.length)).toEqual([
      6,
      24,
      48,
      24,
      48,
      4 * 6 + 0 + 1 + 6 + 9 + 4 + 300,
    ]);
  });

  it("writes raw BYTES as 4-byte little-endian length prefixes and UTF-8", () => {
    const { rawOutputContents } = tensorsToOipOutputs(
      [{ name: "s", type: "string", dims: [2], data: ["ab", "é"] }],
      true,
    );
    expect([...(rawOutputContents[0] ?? [])]).toEqual([2, 0, 0, 0, 97, 98, 2, 0, 0, 0, 0xc3, 0xa9]);
  });

  it("reads raw inputs from unaligned views", () => {
    const buf = new Uint8Array(17);
    new DataView(buf.buffer).setFloat64(1, 1.25, true);
    new DataView(buf.buffer).setFloat64(9, -2, true);
    const [t] = oipInputsToTensors(
      request([{ name: "x", datatype: "FP64", shape: [2n] }], [buf.subarray(1)]),
    );
    expect(t?.data).toEqual(new Float64Array([1.25, -2]));
  });

  it("accepts empty tensors without contents", () => {
    const [t] = oipInputsToTensors(request([{ name: "x", datatype: "INT32", shape: [0n, 3n] }]));
    expect(t).toEqual({ name: "x", type: "int32", dims: [0, 3], data: new Int32Array(0) });
  });
});

describe("oipInputsToTensors refuses", () => {
  it("unsupported datatypes", () => {
    expectInvalid(
      () =>
        oipInputsToTensors(
          request([{ name: "x", datatype: "UINT8", shape: [1n], contents: { uintContents: [1] } }]),
        ),
      'input "x": datatype "UINT8" is not supported by this server',
    );
  });

  it("contents in a field that does not match the datatype", () => {
    expectInvalid(
      () =>
        oipInputsToTensors(request([{ ...FP32_X, contents: { fp64Contents: [1, 2, 3, 4, 5, 6, 7, 8] } }])),
      'input "x": datatype FP32 takes fp32_contents, got 8 fp64_contents',
    );
    const cases: [
      string,
      MessageInitShape<typeof ModelInferRequest_InferInputTensorSchema>["contents"],
      string,
    ][] = [
      ["INT32", { int64Contents: [1n] }, "INT32 takes int_contents, got 1 int64_contents"],
      ["INT64", { intContents: [1] }, "INT64 takes int64_contents, got 1 int_contents"],
      ["FP64", { fp32Contents: [1] }, "FP64 takes fp64_contents, got 1 fp32_contents"],
      ["BOOL", { intContents: [1] }, "BOOL takes bool_contents, got 1 int_contents"],
      ["BYTES", { uintContents: [1] }, "BYTES takes bytes_contents, got 1 uint_contents"],
    ];
    for (const [datatype, contents, message] of cases) {
      expectInvalid(
        () =>
          oipInputsToTensors(
            request([{ name: "y", datatype, shape: [1n], ...(contents ? { contents } : {}) }]),
          ),
        `input "y": datatype ${message}`,
      );
    }
  });

  it("an element count that does not match the shape", () => {
    expectInvalid(
      () => oipInputsToTensors(request([{ ...FP32_X, contents: { fp32Contents: [1, 2, 3, 4, 5, 6, 7] } }])),
      'input "x": 7 fp32_contents for shape [2,4] (8 elements)',
    );
    expectInvalid(() => oipInputsToTensors(request([FP32_X])), 'input "x": 0 fp32_contents for shape [2,4]');
  });

  it("negative dimensions", () => {
    expectInvalid(
      () => oipInputsToTensors(request([{ ...FP32_X, shape: [-1n, 4n] }])),
      'input "x": dimension 0 of shape [-1,4] is -1',
    );
  });

  it("a mix of contents and raw_input_contents", () => {
    const y: InputInit = { name: "y", datatype: "FP32", shape: [1n], contents: { fp32Contents: [1] } };
    expectInvalid(
      () => oipInputsToTensors(request([FP32_X, y], [new Uint8Array(32), new Uint8Array(4)])),
      'input "y": has fp32_contents but the request carries raw_input_contents',
    );
  });

  it("a raw_input_contents count that does not match the inputs", () => {
    expectInvalid(
      () => oipInputsToTensors(request([FP32_X, { ...FP32_X, name: "y" }], [new Uint8Array(32)])),
      "raw_input_contents has 1 entries for 2 inputs",
    );
  });

  it("raw bytes of the wrong length", () => {
    expectInvalid(
      () => oipInputsToTensors(request([FP32_X], [new Uint8Array(31)])),
      'input "x": raw_input_contents[0] has 31 bytes for shape [2,4] (8 FP32 elements of 4 bytes = 32 bytes)',
    );
  });

  it("malformed raw BYTES", () => {
    const s = (n: number): InputInit => ({ name: "s", datatype: "BYTES", shape: [BigInt(n)] });
    const one = new Uint8Array([1, 0, 0, 0, 97]);
    expectInvalid(
      () => oipInputsToTensors(request([s(2)], [one])),
      'input "s": raw_input_contents[0] holds 1 BYTES elements for shape [2] (2 elements)',
    );
    expectInvalid(
      () => oipInputsToTensors(request([s(1)], [new Uint8Array([...one, 0])])),
      'input "s": raw_input_contents[0] has 1 bytes after the 1 BYTES elements',
    );
    expectInvalid(
      () => oipInputsToTensors(request([s(1)], [new Uint8Array([5, 0, 0, 0, 97])])),
      'input "s": raw_input_contents[0] ends inside BYTES element 0 (length prefix 5, 1 bytes left)',
    );
    expectInvalid(
      () => oipInputsToTensors(request([s(2)], [new Uint8Array([...one, 1, 0])])),
      'input "s": raw_input_contents[0] ends inside the 4-byte length prefix of BYTES element 1',
    );
  });

  it("BYTES that are not UTF-8", () => {
    const bad = new Uint8Array([0xff, 0xfe]);
    expectInvalid(
      () =>
        oipInputsToTensors(
          request([
            {
              name: "s",
              datatype: "BYTES",
              shape: [2n],
              contents: { bytesContents: [new Uint8Array(0), bad] },
            },
          ]),
        ),
      'input "s": BYTES element 1 is not valid UTF-8',
    );
    expectInvalid(
      () =>
        oipInputsToTensors(
          request([{ name: "s", datatype: "BYTES", shape: [1n] }], [new Uint8Array([2, 0, 0, 0, ...bad])]),
        ),
      'input "s": BYTES element 0 is not valid UTF-8',
    );
  });
});
