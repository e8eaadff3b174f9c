import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { createRandom } from "@seam/kit/random";
import {
  type InferParameterSchema,
  type InferTensorContentsSchema,
  type ModelInferResponse_InferOutputTensorSchema,
  ModelInferResponseSchema,
} from "@seam/proto/inference/grpc_predict_v2_pb";
import { describe, expect, it } from "vitest";
import type { TensorData } from "../tensors/tensor-data.js";
import { expectEncodesLikeToBinary, expectSameBytes, failureOf } from "../testing/expect-bytes.js";
import {
  DOUBLES,
  INT32S,
  INT64S,
  pick,
  type Random,
  randomBytes,
  randomDouble,
  randomFloat,
  randomShape,
  STRINGS,
  some,
} from "../testing/random-values.js";
import { encodeModelInferResponse } from "./encode-response.js";
import { tensorsToOipOutputs } from "./oip-tensors.js";

type ResponseInit = MessageInitShape<typeof ModelInferResponseSchema>;
type OutputInit = MessageInitShape<typeof ModelInferResponse_InferOutputTensorSchema>;
type ContentsInit = MessageInitShape<typeof InferTensorContentsSchema>;
type ParameterInit = MessageInitShape<typeof InferParameterSchema>;

// Integer-like keys come first in an object's key order, whatever order they were set in.
const KEYS = ["", "a", "priority", "10", "2", "é", "🙂", "content_type", "z".repeat(150)];
const UINT32S = [0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1];
const UINT64S = [0n, 1n, 128n, 2n ** 53n + 1n, 2n ** 56n - 1n, 2n ** 63n, 2n ** 64n - 1n];

function randomParameter(random: Random): ParameterInit {
  switch (Math.floor(random() * 8)) {
    case 0:
      return { parameterChoice: { case: "boolParam", value: random() < 0.5 } };
    case 1:
      return { parameterChoice: { case: "int64Param", value: pick(random, INT64S) } };
    case 2:
      return { parameterChoice: { case: "stringParam", value: pick(random, STRINGS) } };
    case 3:
      return { parameterChoice: { case: "doubleParam", value: pick(random, DOUBLES) } };
    case 4:
      return { parameterChoice: { case: "uint64Param", value: pick(random, UINT64S) } };
    case 5:
      return { parameterChoice: { case: undefined } };
    case 6:
      return {};
    default:
      // create() drops a case it does not know.
      return { parameterChoice: { case: "fp16Param", value: 1 } } as unknown as ParameterInit;
  }
}

function randomParameters(random: Random): Record<string, ParameterInit> {
  const parameters: Record<string, ParameterInit> = {};
  const count = Math.floor(random() * 4);
  for (let i = 0; i < count; i++) parameters[pick(random, KEYS)] = randomParameter(random);
  return parameters;
}

function randomContents(random: Random): ContentsInit {
  const contents: ContentsInit = {};
  const fields = random() < 0.7 ? 1 : Math.floor(random() * 4);
  for (let f = 0; f < fields; f++) {
    switch (Math.floor(random() * 8)) {
      case 0:
        contents.boolContents = some(random, 25, () => random() < 0.5);
        break;
      case 1:
        contents.intContents = some(random, 25, () => pick(random, INT32S));
        break;
      case 2:
        contents.int64Contents = some(random, 25, () => pick(random, INT64S));
        break;
      case 3:
        contents.uintContents = some(random, 25, () => pick(random, UINT32S));
        break;
      case 4:
        contents.uint64Contents = some(random, 25, () => pick(random, UINT64S));
        break;
      case 5:
        contents.fp32Contents = some(random, 25, () => randomFloat(random));
        break;
      case 6:
        contents.fp64Contents = some(random, 25, () => randomDouble(random));
        break;
      default:
        contents.bytesContents = some(random, 5, () => randomBytes(random, 12));
    }
  }
  return contents;
}

function randomOutput(random: Random): OutputInit {
  const output: OutputInit = {};
  if (random() < 0.9) output.name = pick(random, STRINGS);
  if (random() < 0.9) output.datatype = pick(random, ["FP32", "FP64", "INT32", "INT64", "BOOL", "BYTES", ""]);
  if (random() < 0.8) output.shape = randomShape(random);
  if (random() < 0.3) output.parameters = randomParameters(random);
  if (random() < 0.7) output.contents = randomContents(random);
  return output;
}

function randomResponse(random: Random): ResponseInit {
  const response: ResponseInit = {};
  if (random() < 0.9) response.modelName = pick(random, STRINGS);
  if (random() < 0.9) response.modelVersion = pick(random, ["", "1", "12", "champion"]);
  if (random() < 0.7) response.id = pick(random, STRINGS);
  if (random() < 0.3) response.parameters = randomParameters(random);
  if (random() < 0.9) response.outputs = some(random, 3, () => randomOutput(random)).slice(0, 8);
  if (random() < 0.4) {
    response.rawOutputContents = some(random, 3, () => randomBytes(random, 40)).slice(0, 8);
  }
  return response;
}

function expected(value: ResponseInit): Uint8Array {
  return toBinary(ModelInferResponseSchema, create(ModelInferResponseSchema, value));
}

describe("encodeModelInferResponse", () => {
  it("writes exactly the bytes toBinary writes, for init objects and for messages", () => {
    const random = createRandom(5);
    const inits = Array.from({ length: 500 }, () => randomResponse(random));
    expectEncodesLikeToBinary(ModelInferResponseSchema, encodeModelInferResponse, inits);
  });

  it("encodes an empty response as no bytes", () => {
    expect(encodeModelInferResponse({})).toEqual(new Uint8Array());
    expect(encodeModelInferResponse(create(ModelInferResponseSchema))).toEqual(new Uint8Array());
  });

  it("writes empty contents, empty parameters and zero parameter values", () => {
    const init: ResponseInit = {
      parameters: { "": {}, a: { parameterChoice: { case: "boolParam", value: false } } },
      outputs: [
        {},
        { contents: {} },
        {
          parameters: { n: { parameterChoice: { case: "int64Param", value: 0n } } },
          contents: { bytesContents: [] },
        },
      ],
      rawOutputContents: [new Uint8Array(), new Uint8Array([1])],
    };
    expectSameBytes(encodeModelInferResponse(init), expected(init));
  });

  it("encodes what the service returns for every element type, typed and raw", () => {
    const samples: TensorData[] = [
      { name: "b", type: "bool", dims: [2], data: new Uint8Array([1, 0]) },
      { name: "i32", type: "int32", dims: [2], data: new Int32Array([-2147483648, 7]) },
      { name: "i64", type: "int64", dims: [2], data: new BigInt64Array([-(2n ** 63n), 9007199254740993n]) },
      { name: "f32", type: "float32", dims: [2, 2], data: new Float32Array([0, -1.5, Number.NaN, -0]) },
      { name: "f64", type: "float64", dims: [1, 2], data: new Float64Array([0.1, Number.NEGATIVE_INFINITY]) },
      { name: "s", type: "string", dims: [2], data: ["héllo", ""] },
    ];
    for (const raw of [false, true]) {
      const { outputs, rawOutputContents } = tensorsToOipOutputs(samples, raw);
      const init: ResponseInit = {
        modelName: "mlp",
        modelVersion: "3",
        id: "r-1",
        outputs,
        rawOutputContents,
      };
      expectSameBytes(encodeModelInferResponse(init), expected(init));
    }
  });

  it("keeps the unknown fields of decoded messages, at every level", () => {
    // Field 15 (varint 5) and field 100 (bytes "ab") after each message's own fields.
    const unknown = [0x78, 0x05, 0xa2, 0x06, 0x02, 0x61, 0x62];
    const parameter = [0x08, 0x01, ...unknown];
    const entry = [0x0a, 0x01, 0x6b, 0x12, parameter.length, ...parameter];
    const contents = [0x32, 0x04, 0x00, 0x00, 0x80, 0x3f, ...unknown];
    const output = [
      0x0a,
      0x01,
      0x79,
      0x22,
      entry.length,
      ...entry,
      0x2a,
      contents.length,
      ...contents,
      ...unknown,
    ];
    const bytes = new Uint8Array([
      0x0a,
      0x01,
      0x6d,
      0x22,
      entry.length,
      ...entry,
      0x2a,
      output.length,
      ...output,
      ...unknown,
    ]);
    const message = fromBinary(ModelInferResponseSchema, bytes);
    expect(message.$unknown).toHaveLength(2);
    expect(toBinary(ModelInferResponseSchema, message)).toEqual(bytes);
    expectSameBytes(encodeModelInferResponse(message), bytes);
    const init: ResponseInit = { modelName: "m", parameters: message.parameters, outputs: message.outputs };
    expectSameBytes(encodeModelInferResponse(init), expected(init));
  });

  it("leaves values it does not take to protobuf-es, with the same bytes or the same error", () => {
    const unusual = [
      { parameters: { a: { parameterChoice: { case: "int64Param", value: 5 } } } },
      { parameters: { a: { parameterChoice: { case: "uint64Param", value: "18446744073709551615" } } } },
      { parameters: { a: { parameterChoice: { case: "boolParam", value: 1 } } } },
      { parameters: { a: { parameterChoice: { case: "stringParam" } } } },
      { outputs: [{ shape: [1, 20] }] },
      { outputs: [{ contents: { fp32Contents: new Float32Array([1.5]) } }] },
      { outputs: [{ contents: { bytesContents: [[1, 2]] } }] },
      { rawOutputContents: [[1, 2, 3]] },
      { outputs: [null], modelName: null },
    ] as unknown as ResponseInit[];
    for (const init of unusual) expectSameBytes(encodeModelInferResponse(init), expected(init));
    const invalid = [
      { outputs: [{ contents: { uintContents: [-1] } }] },
      { outputs: [{ contents: { uint64Contents: [-1n] } }] },
      { outputs: [{ contents: { intContents: [2 ** 31] } }] },
      { outputs: [{ contents: { fp32Contents: [-1e39] } }] },
      { parameters: { a: { parameterChoice: { case: "uint64Param", value: 2n ** 64n } } } },
    ] as unknown as ResponseInit[];
    for (const init of invalid) {
      const refusal = failureOf(() => expected(init));
      expect(refusal).toBeInstanceOf(Error);
      expect(failureOf(() => encodeModelInferResponse(init))).toEqual(refusal);
    }
  });
});
