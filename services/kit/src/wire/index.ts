/**
 * Protobuf wire writing for hand-written response encoders that must write exactly the
 * bytes protobuf-es' toBinary writes, faster: size everything first, then fill one buffer.
 */

export { encodeMessage, type MessageEncoder } from "./encode.js";
export {
  asBool,
  asDouble,
  asInt64,
  asList,
  asMessage,
  asString,
  asUint64,
  boolFieldSize,
  bytesFieldSize,
  bytesListFieldSize,
  type Fields,
  int32FieldSize,
  int64FieldSize,
  messageFieldSize,
  packedFieldSize,
  stringFieldSize,
  stringsFieldSize,
  Unsupported,
  unknownFieldsOf,
  unknownFieldsSize,
} from "./fields.js";
export {
  delimitedSize,
  int32Size,
  int64Size,
  type Packed,
  ProtoWriter,
  Sizes,
  type UnknownField,
  uint64Size,
  utf8Length,
} from "./proto-writer.js";
