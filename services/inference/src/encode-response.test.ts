import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { createRandom } from "@seam/kit/random";
import {
  DataType,
  type EntityFeaturesSchema,
  FeatureStatus,
  PredictResponseSchema,
  type TensorSchema,
} from "@seam/proto/seam/inference/v1/inference_pb";
import { describe, expect, it } from "vitest";
import { encodePredictResponse } from "./encode-response.js";
import { tensorToProto } from "./tensors/proto-tensors.js";
import { ELEMENT_TYPES, type TensorData } from "./tensors/tensor-data.js";
import { expectEncodesLikeToBinary, expectSameBytes, failureOf } from "./testing/expect-bytes.js";
import {
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
} from "./testing/random-values.js";

type ResponseInit = MessageInitShape<typeof PredictResponseSchema>;
type TensorInit = MessageInitShape<typeof TensorSchema>;
type EntityFeaturesInit = MessageInitShape<typeof EntityFeaturesSchema>;

function randomTensor(random: Random): TensorInit {
  const tensor: TensorInit = {};
  if (random() < 0.9) tensor.name = pick(random, STRINGS);
  if (random() < 0.9) tensor.dataType = pick(random, [0, 1, 2, 3, 4, 5, 6, 99, -1]) as DataType;
  if (random() < 0.8) tensor.shape = randomShape(random);
  // Usually the one field of a type, sometimes several or none, as a message may hold.
  const fields = random() < 0.8 ? 1 : Math.floor(random() * 4);
  for (let f = 0; f < fields; f++) {
    switch (Math.floor(random() * 7)) {
      case 0:
        tensor.floatValues = some(random, 25, () => randomFloat(random));
        break;
      case 1:
        tensor.doubleValues = some(random, 25, () => randomDouble(random));
        break;
      case 2:
        tensor.int32Values = some(random, 25, () => pick(random, INT32S));
        break;
      case 3:
        tensor.int64Values = some(random, 25, () => pick(random, INT64S));
        break;
      case 4:
        tensor.boolValues = some(random, 25, () => random() < 0.5);
        break;
      case 5:
        tensor.stringValues = some(random, 6, () => pick(random, STRINGS));
        break;
      default: {
        const bytes = randomBytes(random, 40);
        // Now and then a view into a larger buffer, as decoded requests hold.
        tensor.raw = random() < 0.3 ? Buffer.concat([Buffer.from([9]), bytes]).subarray(1) : bytes;
      }
    }
  }
  return tensor;
}

function randomEntityFeatures(random: Random): EntityFeaturesInit {
  return {
    features: some(random, 4, () => ({
      input: pick(random, STRINGS),
      feature: `view:${pick(random, STRINGS)}`,
      status: pick(random, [0, 1, 2, 3, 4]) as FeatureStatus,
      ...(random() < 0.7
        ? {
            eventTime: {
              seconds: pick(random, [0n, 1n, 1_700_000_000n, -62135596800n, 253402300799n]),
              nanos: pick(random, [0, 1, 999_999_999, 500_000_000]),
            },
          }
        : {}),
      imputed: random() < 0.3,
    })),
  };
}

function randomResponse(random: Random): ResponseInit {
  const response: ResponseInit = {};
  if (random() < 0.9) response.modelName = pick(random, STRINGS);
  if (random() < 0.9) response.modelVersion = pick(random, INT64S);
  if (random() < 0.7) response.route = pick(random, ["", "champion", "challenger", "latest", "é"]);
  if (random() < 0.7) response.requestId = pick(random, STRINGS);
  if (random() < 0.9) response.outputs = some(random, 3, () => randomTensor(random)).slice(0, 8);
  if (random() < 0.3) response.features = some(random, 3, () => randomEntityFeatures(random)).slice(0, 5);
  if (random() < 0.9) response.batchSize = pick(random, INT32S);
  if (random() < 0.9) response.queueMicros = pick(random, INT64S);
  if (random() < 0.9) response.computeMicros = pick(random, INT64S);
  return response;
}

function expected(value: ResponseInit): Uint8Array {
  return toBinary(PredictResponseSchema, create(PredictResponseSchema, value));
}

describe("encodePredictResponse", () => {
  it("writes exactly the bytes toBinary writes, for init objects and for messages", () => {
    const random = createRandom(11);
    const inits = Array.from({ length: 500 }, () => randomResponse(random));
    expectEncodesLikeToBinary(PredictResponseSchema, encodePredictResponse, inits);
  });

  it("encodes an empty response as no bytes", () => {
    expect(encodePredictResponse({})).toEqual(new Uint8Array());
    expect(encodePredictResponse(create(PredictResponseSchema))).toEqual(new Uint8Array());
  });

  it("writes empty messages and empty strings in lists", () => {
    const init: ResponseInit = {
      outputs: [{}, { stringValues: ["", ""] }],
      features: [{}, { features: [{}, { eventTime: {} }] }],
    };
    expectSameBytes(encodePredictResponse(init), expected(init));
  });

  it("encodes what the service returns for every element type, typed and raw", () => {
    const samples: TensorData[] = [
      { name: "f32", type: "float32", dims: [2, 2], data: new Float32Array([0, -1.5, Number.NaN, -0]) },
      { name: "f64", type: "float64", dims: [1, 2], data: new Float64Array([0.1, Number.NEGATIVE_INFINITY]) },
      { name: "i32", type: "int32", dims: [2], data: new Int32Array([-2147483648, 7]) },
      { name: "i64", type: "int64", dims: [2], data: new BigInt64Array([-(2n ** 63n), 9007199254740993n]) },
      { name: "b", type: "bool", dims: [3], data: new Uint8Array([1, 0, 1]) },
      { name: "s", type: "string", dims: [2], data: ["héllo", ""] },
    ];
    expect(samples.map((t) => t.type)).toEqual(ELEMENT_TYPES);
    // NaN as ONNX Runtime computes it on x86 (sign bit set), through the service's conversion.
    const nan = new Float32Array([0]);
    new Uint32Array(nan.buffer)[0] = 0xffc00000;
    samples.push({ name: "nan", type: "float32", dims: [1], data: nan });
    for (const raw of [false, true]) {
      const init: ResponseInit = {
        modelName: "mlp",
        modelVersion: 3n,
        route: "champion",
        requestId: "r-1",
        outputs: samples.map((t) => tensorToProto(t, raw)),
        features: [],
        batchSize: 1,
        queueMicros: 12n,
        computeMicros: 40n,
      };
      expectSameBytes(encodePredictResponse(init), expected(init));
    }
  });

  it("keeps the unknown fields of decoded messages, at every level", () => {
    // Field 15 (varint 5) and field 100 (bytes "ab") after each message's own fields.
    const unknown = [0x78, 0x05, 0xa2, 0x06, 0x02, 0x61, 0x62];
    const tensor = [0x0a, 0x01, 0x79, ...unknown];
    const timestamp = [0x08, 0x01, ...unknown];
    const used = [0x0a, 0x01, 0x78, 0x22, timestamp.length, ...timestamp, ...unknown];
    const entity = [0x0a, used.length, ...used, ...unknown];
    const bytes = new Uint8Array([
      0x0a,
      0x03,
      0x6d,
      0x6c,
      0x70,
      0x2a,
      tensor.length,
      ...tensor,
      0x32,
      entity.length,
      ...entity,
      ...unknown,
    ]);
    const message = fromBinary(PredictResponseSchema, bytes);
    expect(message.$unknown).toHaveLength(2);
    expect(toBinary(PredictResponseSchema, message)).toEqual(bytes);
    expectSameBytes(encodePredictResponse(message), bytes);
    // An init object holding decoded messages: create() keeps those (and their unknown fields).
    const init: ResponseInit = { modelName: "mlp", outputs: message.outputs, features: message.features };
    expectSameBytes(encodePredictResponse(init), expected(init));
  });

  it("leaves values it does not take to protobuf-es, with the same bytes or the same error", () => {
    const unusual = [
      { modelVersion: 3 },
      { modelVersion: "9007199254740993" },
      { queueMicros: -7 },
      { outputs: [{ floatValues: new Float32Array([1.5, 2]) }] },
      { outputs: [{ raw: [1, 2, 3] }] },
      { outputs: [{ shape: [1, 20] }] },
      { outputs: [{ boolValues: [1, 0] }] },
      { features: [{ features: [{ eventTime: { seconds: 5 } }] }] },
      { modelName: null, outputs: null, batchSize: undefined },
      { outputs: [null] },
    ] as unknown as ResponseInit[];
    for (const init of unusual) expectSameBytes(encodePredictResponse(init), expected(init));
    const invalid = [
      { batchSize: 1.5 },
      { batchSize: 2 ** 31 },
      { modelVersion: 2n ** 63n },
      { outputs: [{ floatValues: [1e39] }] },
    ] as unknown as ResponseInit[];
    for (const init of invalid) {
      const refusal = failureOf(() => expected(init));
      expect(refusal).toBeInstanceOf(Error);
      expect(failureOf(() => encodePredictResponse(init))).toEqual(refusal);
    }
  });

  it("decodes to the message it was given", () => {
    const init: ResponseInit = {
      modelName: "m",
      features: [
        {
          features: [
            { input: "x", feature: "v:x", status: FeatureStatus.NOT_FOUND, imputed: true },
            {
              input: "y",
              feature: "v:y",
              status: FeatureStatus.PRESENT,
              eventTime: { seconds: 1n, nanos: 2 },
            },
          ],
        },
      ],
      outputs: [{ name: "y", dataType: DataType.FLOAT32, shape: [1n, 1n], floatValues: [0.5] }],
    };
    const decoded = fromBinary(PredictResponseSchema, encodePredictResponse(init));
    expect(decoded).toEqual(create(PredictResponseSchema, init));
  });
});
