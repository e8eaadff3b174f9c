import type { MessageInitShape } from "@bufbuild/protobuf";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createRandom as prng } from "@seam/kit/random";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  FeatureStatus,
  GetOnlineFeaturesResponseSchema,
  type OnlineFeatureValueSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import { describe, expect, it } from "vitest";
import { encodeOnlineFeaturesResponse } from "./encode-response.js";

function randomValue(random: () => number): MessageInitShape<typeof OnlineFeatureValueSchema> {
  const pick = Math.floor(random() * 9);
  const eventTime = timestampFromMs(Math.floor((random() - 0.3) * 4e12));
  switch (pick) {
    case 0:
      return { status: FeatureStatus.NOT_FOUND };
    case 1:
      return { status: FeatureStatus.NULL_VALUE, eventTime };
    case 2:
      return {
        value: {
          kind: { case: "int64Value", value: BigInt(Math.floor((random() - 0.5) * 2 ** 53)) * 1024n },
        },
        status: FeatureStatus.PRESENT,
        eventTime,
      };
    case 3:
      return {
        value: { kind: { case: "doubleValue", value: random() < 0.2 ? 0 : (random() - 0.5) * 1e6 } },
        status: FeatureStatus.OUTSIDE_MAX_AGE,
        eventTime,
      };
    case 4:
      return {
        value: { kind: { case: "boolValue", value: random() < 0.5 } },
        status: FeatureStatus.PRESENT,
        eventTime,
      };
    case 5:
      return {
        value: { kind: { case: "stringValue", value: random() < 0.2 ? "" : `é${random()}🙂` } },
        status: FeatureStatus.PRESENT,
        eventTime,
      };
    case 6:
      return {
        value: { kind: { case: "timestampValue", value: timestampFromMs(Math.floor(random() * 1e12)) } },
        status: FeatureStatus.PRESENT,
        eventTime,
      };
    case 7:
      return {
        value: { kind: { case: "int64Value", value: 0n } },
        status: FeatureStatus.PRESENT,
        eventTime: timestampFromMs(0),
      };
    default:
      return { value: {}, status: FeatureStatus.PRESENT, eventTime: timestampFromMs(-1) };
  }
}

describe("encodeOnlineFeaturesResponse", () => {
  it("writes exactly the bytes toBinary writes, for init objects and for messages", () => {
    const random = prng(7);
    for (let round = 0; round < 200; round++) {
      const features = Math.floor(random() * 6);
      const init = {
        featureNames: Array.from({ length: features }, (_, i) => `view:f${i}`),
        rows: Array.from({ length: Math.floor(random() * 5) }, () => ({
          values: Array.from({ length: features }, () => randomValue(random)),
        })),
      };
      const expected = toBinary(
        GetOnlineFeaturesResponseSchema,
        create(GetOnlineFeaturesResponseSchema, init),
      );
      expect(encodeOnlineFeaturesResponse(init)).toEqual(expected);
      expect(encodeOnlineFeaturesResponse(create(GetOnlineFeaturesResponseSchema, init))).toEqual(expected);
    }
  });

  it("encodes an empty response as no bytes", () => {
    expect(encodeOnlineFeaturesResponse({})).toEqual(new Uint8Array());
  });
});

function randomColumn(random: () => number, entities: number) {
  const type = 1 + Math.floor(random() * 5);
  const statuses = Array.from({ length: entities }, () => Math.floor(random() * 5));
  const eventTimeMillis = Array.from({ length: entities }, () =>
    random() < 0.2 ? 0 : Math.floor((random() - 0.3) * 4e12),
  );
  const column = { type, statuses, eventTimeMillis };
  switch (type) {
    case ColumnType.INT64:
      return {
        ...column,
        int64Values: Array.from({ length: entities }, () =>
          random() < 0.2 ? 0n : BigInt(Math.floor((random() - 0.5) * 2 ** 53)) * 1024n,
        ),
      };
    case ColumnType.FLOAT64:
      return {
        ...column,
        doubleValues: Array.from({ length: entities }, () =>
          random() < 0.1 ? Number.NaN : random() < 0.2 ? -0 : (random() - 0.5) * 1e6,
        ),
      };
    case ColumnType.BOOL:
      return { ...column, boolValues: Array.from({ length: entities }, () => random() < 0.5) };
    case ColumnType.STRING:
      return {
        ...column,
        stringValues: Array.from({ length: entities }, () =>
          random() < 0.2 ? "" : `é${random()}🙂`.repeat(3),
        ),
      };
    default:
      return {
        ...column,
        timestampMillisValues: Array.from({ length: entities }, () => Math.floor(random() * 1e12)),
      };
  }
}

describe("encodeOnlineFeaturesResponse, columns layout", () => {
  it("writes exactly the bytes toBinary writes, for every column type", () => {
    const random = prng(11);
    for (let round = 0; round < 200; round++) {
      const features = Math.floor(random() * 6);
      const entities = Math.floor(random() * 40);
      const init = {
        featureNames: Array.from({ length: features }, (_, i) => `view:f${i}`),
        columns: Array.from({ length: features }, () => randomColumn(random, entities)),
      };
      const expected = toBinary(
        GetOnlineFeaturesResponseSchema,
        create(GetOnlineFeaturesResponseSchema, init),
      );
      expect(encodeOnlineFeaturesResponse(init)).toEqual(expected);
      expect(encodeOnlineFeaturesResponse(create(GetOnlineFeaturesResponseSchema, init))).toEqual(expected);
    }
  });

  it("encodes a column of a thousand entities (multi-byte lengths) like toBinary", () => {
    const random = prng(3);
    const init = { featureNames: ["v:a"], columns: [randomColumn(random, 1000), randomColumn(random, 1000)] };
    expect(encodeOnlineFeaturesResponse(init)).toEqual(
      toBinary(GetOnlineFeaturesResponseSchema, create(GetOnlineFeaturesResponseSchema, init)),
    );
  });
});
