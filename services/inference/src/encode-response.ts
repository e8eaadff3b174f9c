import type { MessageInitShape } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import {
  asList,
  asMessage,
  boolFieldSize,
  bytesFieldSize,
  encodeMessage,
  type Fields,
  int32FieldSize,
  int64FieldSize,
  messageFieldSize,
  type ProtoWriter,
  packedFieldSize,
  type Sizes,
  stringFieldSize,
  stringsFieldSize,
  unknownFieldsOf,
  unknownFieldsSize,
} from "@seam/kit/wire";
import {
  EntityFeaturesSchema,
  PredictResponseSchema,
  TensorSchema,
  UsedFeatureSchema,
} from "@seam/proto/seam/inference/v1/inference_pb";

// A one-row Predict spent about as much CPU in the generic, reflection-based toBinary (and
// the create() before it) as in the model run. This encoder writes the same bytes straight
// from what the handler returns (see @seam/kit/wire); its test compares it with
// toBinary on many generated responses. Field numbers follow seam/inference/v1/inference.proto.

type ResponseInit = MessageInitShape<typeof PredictResponseSchema>;

// Tags: (field number << 3) | wire type (0 varint, 1 64-bit, 2 length-delimited, 5 32-bit).
const RESPONSE = {
  modelName: 0x0a, // 1
  modelVersion: 0x10, // 2
  route: 0x1a, // 3
  requestId: 0x22, // 4
  outputs: 0x2a, // 5
  features: 0x32, // 6
  batchSize: 0x38, // 7
  queueMicros: 0x40, // 8
  computeMicros: 0x48, // 9
} as const;
const TENSOR = {
  name: 0x0a, // 1
  dataType: 0x10, // 2
  shape: 0x1a, // 3, packed
  floatValues: 0x22, // 4, packed
  doubleValues: 0x2a, // 5, packed
  int32Values: 0x32, // 6, packed
  int64Values: 0x3a, // 7, packed
  boolValues: 0x42, // 8, packed
  stringValues: 0x4a, // 9
  raw: 0x52, // 10
} as const;
const ENTITY_FEATURES_FEATURES = 0x0a; // EntityFeatures.features = 1
const USED = {
  input: 0x0a, // 1
  feature: 0x12, // 2
  status: 0x18, // 3
  eventTime: 0x22, // 4
  imputed: 0x28, // 5
} as const;
const TIMESTAMP = { seconds: 0x08, nanos: 0x10 } as const;

/** Encodes a PredictResponse (an init object or a message) exactly like toBinary(create()). */
export function encodePredictResponse(response: ResponseInit): Uint8Array {
  return encodeMessage(PredictResponseSchema, response, { size: responseSize, write: writeResponse });
}

function responseSize(r: Fields, sizes: Sizes): number {
  let size =
    stringFieldSize(r.modelName) +
    int64FieldSize(r.modelVersion) +
    stringFieldSize(r.route) +
    stringFieldSize(r.requestId);
  if (r.outputs != null) {
    for (const t of asList(r.outputs)) size += messageFieldSize(tensorSize(asMessage(t), sizes));
  }
  if (r.features != null) {
    for (const f of asList(r.features)) size += messageFieldSize(entityFeaturesSize(asMessage(f), sizes));
  }
  return (
    size +
    int32FieldSize(r.batchSize) +
    int64FieldSize(r.queueMicros) +
    int64FieldSize(r.computeMicros) +
    unknownFieldsSize(unknownFieldsOf(r, PredictResponseSchema.typeName))
  );
}

function writeResponse(out: ProtoWriter, r: Fields): void {
  out.stringField(RESPONSE.modelName, r.modelName);
  out.int64Field(RESPONSE.modelVersion, r.modelVersion);
  out.stringField(RESPONSE.route, r.route);
  out.stringField(RESPONSE.requestId, r.requestId);
  if (r.outputs != null) {
    for (const t of r.outputs as readonly Fields[]) {
      out.messageHeader(RESPONSE.outputs);
      writeTensor(out, t);
    }
  }
  if (r.features != null) {
    for (const f of r.features as readonly Fields[]) {
      out.messageHeader(RESPONSE.features);
      writeEntityFeatures(out, f);
    }
  }
  out.int32Field(RESPONSE.batchSize, r.batchSize);
  out.int64Field(RESPONSE.queueMicros, r.queueMicros);
  out.int64Field(RESPONSE.computeMicros, r.computeMicros);
  out.unknownFields(unknownFieldsOf(r, PredictResponseSchema.typeName));
}

function tensorSize(t: Fields, sizes: Sizes): number {
  const slot = sizes.reserve();
  return sizes.set(
    slot,
    stringFieldSize(t.name) +
      int32FieldSize(t.dataType) +
      packedFieldSize("int64", t.shape, sizes) +
      packedFieldSize("float", t.floatValues, sizes) +
      packedFieldSize("double", t.doubleValues, sizes) +
      packedFieldSize("int32", t.int32Values, sizes) +
      packedFieldSize("int64", t.int64Values, sizes) +
      packedFieldSize("bool", t.boolValues, sizes) +
      stringsFieldSize(t.stringValues) +
      bytesFieldSize(t.raw) +
      unknownFieldsSize(unknownFieldsOf(t, TensorSchema.typeName)),
  );
}

function writeTensor(out: ProtoWriter, t: Fields): void {
  out.stringField(TENSOR.name, t.name);
  out.int32Field(TENSOR.dataType, t.dataType);
  out.packedField(TENSOR.shape, "int64", t.shape);
  out.packedField(TENSOR.floatValues, "float", t.floatValues);
  out.packedField(TENSOR.doubleValues, "double", t.doubleValues);
  out.packedField(TENSOR.int32Values, "int32", t.int32Values);
  out.packedField(TENSOR.int64Values, "int64", t.int64Values);
  out.packedField(TENSOR.boolValues, "bool", t.boolValues);
  out.stringsField(TENSOR.stringValues, t.stringValues);
  out.bytesField(TENSOR.raw, t.raw);
  out.unknownFields(unknownFieldsOf(t, TensorSchema.typeName));
}

function entityFeaturesSize(e: Fields, sizes: Sizes): number {
  const slot = sizes.reserve();
  let size = 0;
  if (e.features != null) {
    for (const u of asList(e.features)) size += messageFieldSize(usedFeatureSize(asMessage(u), sizes));
  }
  return sizes.set(slot, size + unknownFieldsSize(unknownFieldsOf(e, EntityFeaturesSchema.typeName)));
}

function writeEntityFeatures(out: ProtoWriter, e: Fields): void {
  if (e.features != null) {
    for (const u of e.features as readonly Fields[]) {
      out.messageHeader(ENTITY_FEATURES_FEATURES);
      writeUsedFeature(out, u);
    }
  }
  out.unknownFields(unknownFieldsOf(e, EntityFeaturesSchema.typeName));
}

function usedFeatureSize(u: Fields, sizes: Sizes): number {
  const slot = sizes.reserve();
  let size = stringFieldSize(u.input) + stringFieldSize(u.feature) + int32FieldSize(u.status);
  if (u.eventTime != null) size += messageFieldSize(timestampSize(asMessage(u.eventTime), sizes));
  return sizes.set(
    slot,
    size + boolFieldSize(u.imputed) + unknownFieldsSize(unknownFieldsOf(u, UsedFeatureSchema.typeName)),
  );
}

function writeUsedFeature(out: ProtoWriter, u: Fields): void {
  out.stringField(USED.input, u.input);
  out.stringField(USED.feature, u.feature);
  out.int32Field(USED.status, u.status);
  if (u.eventTime != null) {
    out.messageHeader(USED.eventTime);
    writeTimestamp(out, u.eventTime as Fields);
  }
  out.boolField(USED.imputed, u.imputed);
  out.unknownFields(unknownFieldsOf(u, UsedFeatureSchema.typeName));
}

function timestampSize(t: Fields, sizes: Sizes): number {
  const slot = sizes.reserve();
  return sizes.set(
    slot,
    int64FieldSize(t.seconds) +
      int32FieldSize(t.nanos) +
      unknownFieldsSize(unknownFieldsOf(t, TimestampSchema.typeName)),
  );
}

function writeTimestamp(out: ProtoWriter, t: Fields): void {
  out.int64Field(TIMESTAMP.seconds, t.seconds);
  out.int32Field(TIMESTAMP.nanos, t.nanos);
  out.unknownFields(unknownFieldsOf(t, TimestampSchema.typeName));
}
