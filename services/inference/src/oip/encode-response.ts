import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  asBool,
  asDouble,
  asInt64,
  asList,
  asMessage,
  asString,
  asUint64,
  bytesListFieldSize,
  delimitedSize,
  encodeMessage,
  type Fields,
  int64Size,
  messageFieldSize,
  type ProtoWriter,
  packedFieldSize,
  type Sizes,
  stringFieldSize,
  uint64Size,
  unknownFieldsOf,
  unknownFieldsSize,
} from "@seam/kit/wire";
import {
  InferParameterSchema,
  InferTensorContentsSchema,
  ModelInferResponse_InferOutputTensorSchema,
  ModelInferResponseSchema,
} from "@seam/proto/inference/grpc_predict_v2_pb";

// A one-row ModelInfer (Open Inference Protocol) spent about as much CPU in the generic,
// reflection-based toBinary (and the create() before it) as in the model run. This
// encoder writes the same bytes straight from what the handler returns (see
// @seam/kit/wire); its test compares it with toBinary on many generated responses.
// Field numbers follow inference/grpc_predict_v2.proto.

type ResponseInit = MessageInitShape<typeof ModelInferResponseSchema>;

// Tags: (field number << 3) | wire type (0 varint, 1 64-bit, 2 length-delimited).
const RESPONSE = {
  modelName: 0x0a, // 1
  modelVersion: 0x12, // 2
  id: 0x1a, // 3
  parameters: 0x22, // 4, map<string, InferParameter>
  outputs: 0x2a, // 5
  rawOutputContents: 0x32, // 6
} as const;
const OUTPUT = {
  name: 0x0a, // 1
  datatype: 0x12, // 2
  shape: 0x1a, // 3, packed
  parameters: 0x22, // 4, map<string, InferParameter>
  contents: 0x2a, // 5
} as const;
const CONTENTS = {
  boolContents: 0x0a, // 1, packed
  intContents: 0x12, // 2, packed
  int64Contents: 0x1a, // 3, packed
  uintContents: 0x22, // 4, packed
  uint64Contents: 0x2a, // 5, packed
  fp32Contents: 0x32, // 6, packed
  fp64Contents: 0x3a, // 7, packed
  bytesContents: 0x42, // 8
} as const;
// A map entry is a message of key = 1 and value = 2, both always written.
const ENTRY_KEY = 0x0a;
const ENTRY_VALUE = 0x12;
/** InferParameter's oneof parameter_choice: each case's tag. */
const PARAMETER_TAGS: ReadonlyMap<unknown, number> = new Map([
  ["boolParam", 0x08], // 1
  ["int64Param", 0x10], // 2
  ["stringParam", 0x1a], // 3
  ["doubleParam", 0x21], // 4, 64-bit
  ["uint64Param", 0x28], // 5
]);

type Choice = { readonly case?: unknown; readonly value?: unknown } | null | undefined;

/** Encodes a ModelInferResponse (an init object or a message) exactly like toBinary(create()). */
export function encodeModelInferResponse(response: ResponseInit): Uint8Array {
  return encodeMessage(ModelInferResponseSchema, response, { size: responseSize, write: writeResponse });
}

function responseSize(r: Fields, sizes: Sizes): number {
  let size =
    stringFieldSize(r.modelName) +
    stringFieldSize(r.modelVersion) +
    stringFieldSize(r.id) +
    parametersSize(r.parameters, sizes);
  if (r.outputs != null) {
    for (const o of asList(r.outputs)) size += messageFieldSize(outputSize(asMessage(o), sizes));
  }
  return (
    size +
    bytesListFieldSize(r.rawOutputContents) +
    unknownFieldsSize(unknownFieldsOf(r, ModelInferResponseSchema.typeName))
  );
}

function writeResponse(out: ProtoWriter, r: Fields): void {
  out.stringField(RESPONSE.modelName, r.modelName);
  out.stringField(RESPONSE.modelVersion, r.modelVersion);
  out.stringField(RESPONSE.id, r.id);
  writeParameters(out, RESPONSE.parameters, r.parameters);
  if (r.outputs != null) {
    for (const o of r.outputs as readonly Fields[]) {
      out.messageHeader(RESPONSE.outputs);
      writeOutput(out, o);
    }
  }
  out.bytesListField(RESPONSE.rawOutputContents, r.rawOutputContents);
  out.unknownFields(unknownFieldsOf(r, ModelInferResponseSchema.typeName));
}

function outputSize(o: Fields, sizes: Sizes): number {
  const slot = sizes.reserve();
  let size =
    stringFieldSize(o.name) +
    stringFieldSize(o.datatype) +
    packedFieldSize("int64", o.shape, sizes) +
    parametersSize(o.parameters, sizes);
  if (o.contents != null) size += messageFieldSize(contentsSize(asMessage(o.contents), sizes));
  return sizes.set(
    slot,
    size + unknownFieldsSize(unknownFieldsOf(o, ModelInferResponse_InferOutputTensorSchema.typeName)),
  );
}

function writeOutput(out: ProtoWriter, o: Fields): void {
  out.stringField(OUTPUT.name, o.name);
  out.stringField(OUTPUT.datatype, o.datatype);
  out.packedField(OUTPUT.shape, "int64", o.shape);
  writeParameters(out, OUTPUT.parameters, o.parameters);
  if (o.contents != null) {
    out.messageHeader(OUTPUT.contents);
    writeContents(out, o.contents as Fields);
  }
  out.unknownFields(unknownFieldsOf(o, ModelInferResponse_InferOutputTensorSchema.typeName));
}

function contentsSize(c: Fields, sizes: Sizes): number {
  const slot = sizes.reserve();
  return sizes.set(
    slot,
    packedFieldSize("bool", c.boolContents, sizes) +
      packedFieldSize("int32", c.intContents, sizes) +
      packedFieldSize("int64", c.int64Contents, sizes) +
      packedFieldSize("uint32", c.uintContents, sizes) +
      packedFieldSize("uint64", c.uint64Contents, sizes) +
      packedFieldSize("float", c.fp32Contents, sizes) +
      packedFieldSize("double", c.fp64Contents, sizes) +
      bytesListFieldSize(c.bytesContents) +
      unknownFieldsSize(unknownFieldsOf(c, InferTensorContentsSchema.typeName)),
  );
}

function writeContents(out: ProtoWriter, c: Fields): void {
  out.packedField(CONTENTS.boolContents, "bool", c.boolContents);
  out.packedField(CONTENTS.intContents, "int32", c.intContents);
  out.packedField(CONTENTS.int64Contents, "int64", c.int64Contents);
  out.packedField(CONTENTS.uintContents, "uint32", c.uintContents);
  out.packedField(CONTENTS.uint64Contents, "uint64", c.uint64Contents);
  out.packedField(CONTENTS.fp32Contents, "float", c.fp32Contents);
  out.packedField(CONTENTS.fp64Contents, "double", c.fp64Contents);
  out.bytesListField(CONTENTS.bytesContents, c.bytesContents);
  out.unknownFields(unknownFieldsOf(c, InferTensorContentsSchema.typeName));
}

/** A map<string, InferParameter> field: one entry per key, in the object's key order. */
function parametersSize(value: unknown, sizes: Sizes): number {
  if (value == null) return 0;
  const map = asMessage(value);
  let size = 0;
  for (const key in map) {
    if (!Object.hasOwn(map, key)) continue;
    const slot = sizes.reserve();
    const entry =
      1 + delimitedSize(Buffer.byteLength(key, "utf8")) + messageFieldSize(parameterSize(map[key], sizes));
    size += messageFieldSize(sizes.set(slot, entry));
  }
  return size;
}

function writeParameters(out: ProtoWriter, tag: number, value: unknown): void {
  if (value == null) return;
  const map = value as Fields;
  for (const key in map) {
    if (!Object.hasOwn(map, key)) continue;
    out.messageHeader(tag);
    out.byte(ENTRY_KEY);
    out.string(key);
    out.messageHeader(ENTRY_VALUE);
    writeParameter(out, map[key] as Fields);
  }
}

function parameterSize(value: unknown, sizes: Sizes): number {
  const p = asMessage(value);
  const slot = sizes.reserve();
  let size = unknownFieldsSize(unknownFieldsOf(p, InferParameterSchema.typeName));
  const choice = p.parameterChoice as Choice;
  // create() drops a case it does not know, as it does an undefined one.
  if (choice != null && PARAMETER_TAGS.has(choice.case)) {
    const v = choice.value;
    switch (choice.case) {
      case "boolParam":
        asBool(v);
        size += 2;
        break;
      case "int64Param":
        size += 1 + int64Size(asInt64(v));
        break;
      case "stringParam":
        size += 1 + delimitedSize(Buffer.byteLength(asString(v), "utf8"));
        break;
      case "doubleParam":
        asDouble(v);
        size += 9;
        break;
      case "uint64Param":
        size += 1 + uint64Size(asUint64(v));
        break;
    }
  }
  return sizes.set(slot, size);
}

function writeParameter(out: ProtoWriter, p: Fields): void {
  const choice = p.parameterChoice as Choice;
  if (choice != null && PARAMETER_TAGS.has(choice.case)) {
    const v = choice.value;
    out.byte(PARAMETER_TAGS.get(choice.case) as number);
    switch (choice.case) {
      case "boolParam":
        out.byte(v === true ? 1 : 0);
        break;
      case "int64Param":
        out.int64(v as bigint);
        break;
      case "stringParam":
        out.string(v as string);
        break;
      case "doubleParam":
        out.double(v as number);
        break;
      case "uint64Param":
        out.uint64(v as bigint);
        break;
    }
  }
  out.unknownFields(unknownFieldsOf(p, InferParameterSchema.typeName));
}
