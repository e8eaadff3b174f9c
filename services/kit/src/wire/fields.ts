import {
  delimitedSize,
  int32Size,
  int64Size,
  type Packed,
  type Sizes,
  type UnknownField,
  uint64Size,
  uintSize,
  utf8Length,
} from "./proto-writer.js";

// Checked reads of fields as protobuf-es takes them, and the encoded sizes of whole fields.
//
// An encoder works in two passes over the value a handler returned (an init object or a
// message). The sizing pass checks every field and computes sizes, noting the size of each
// nested message and packed varint list in Sizes in the order it meets them; the writing
// pass (a ProtoWriter) writes, taking those sizes back in the same order for the length
// prefixes. A field holding anything but what the encoder expects (a number where an int64
// goes, a typed array for a repeated field, ...) makes the sizing pass throw Unsupported,
// and the encoder hands the value to protobuf-es instead, which converts, encodes or
// refuses it as it always does.
//
// Field rules follow protobuf-es' create() and toBinary(): fields in field-number order,
// then the unknown fields of a decoded message; a singular field that is undefined or null
// is unset, as is a proto3 scalar holding its zero value; a message field that is set is
// written even when empty; map entries are written key then value, both always, in the
// order of the object's keys; repeated numeric fields are packed, strings and bytes not.
//
// Callers treat an undefined or null singular field as unset before reading; an element of
// a repeated field has no such default (protobuf-es refuses a missing one), nor does a
// oneof's value.

/** Thrown by a sizing pass for a value the hand-written encoder leaves to protobuf-es. */
export class Unsupported extends Error {}

function unsupported(what: string): never {
  throw new Unsupported(what);
}

/** An init object or a message: named fields. */
export type Fields = Readonly<Record<string, unknown>>;

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const FLOAT32_MAX = 3.4028234663852886e38;

/** A message: an object (an init object or a message); else throws {@link Unsupported}. */
export function asMessage(value: unknown): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    unsupported("message");
  }
  return value as Fields;
}

/** A repeated field: an array (typed arrays and other iterables go to protobuf-es). */
export function asList(value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) unsupported("list");
  return value;
}

/** A string; else throws {@link Unsupported}. */
export function asString(value: unknown): string {
  if (typeof value !== "string") unsupported("string");
  return value;
}

/** A boolean; else throws {@link Unsupported}. */
export function asBool(value: unknown): boolean {
  if (typeof value !== "boolean") unsupported("bool");
  return value;
}

/** An int32 or an enum: an integer in range (protobuf-es refuses anything else). */
function asInt32(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    unsupported("int32");
  }
  return value;
}

function asUint32(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    unsupported("uint32");
  }
  return value;
}

/** An int64 as a bigint in range (numbers and strings, which protobuf-es converts, go to it). */
export function asInt64(value: unknown): bigint {
  if (typeof value !== "bigint" || value < INT64_MIN || value > INT64_MAX) unsupported("int64");
  return value;
}

/** A uint64 as a bigint in range; else throws {@link Unsupported}. */
export function asUint64(value: unknown): bigint {
  if (typeof value !== "bigint" || value < 0n || value > UINT64_MAX) unsupported("uint64");
  return value;
}

/** A double: any number; else throws {@link Unsupported}. */
export function asDouble(value: unknown): number {
  if (typeof value !== "number") unsupported("double");
  return value;
}

/** A float: protobuf-es refuses finite numbers beyond float32's range (±Infinity and NaN pass). */
function asFloat(value: unknown): number {
  if (
    typeof value !== "number" ||
    (value > FLOAT32_MAX && value !== Number.POSITIVE_INFINITY) ||
    (value < -FLOAT32_MAX && value !== Number.NEGATIVE_INFINITY)
  ) {
    unsupported("float");
  }
  return value;
}

function asBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) unsupported("bytes");
  return value;
}

/**
 * The unknown fields protobuf-es writes after a message's own: those of a message of
 * exactly this type (create() keeps such a message as it is, and builds a new message,
 * without them, from anything else).
 */
export function unknownFieldsOf(value: Fields, typeName: string): readonly UnknownField[] | undefined {
  if (value.$typeName !== typeName || value.$unknown === undefined) return undefined;
  const unknown = asList(value.$unknown) as readonly UnknownField[];
  return unknown.length === 0 ? undefined : unknown;
}

/** Bytes of the unknown fields {@link unknownFieldsOf} returned. */
export function unknownFieldsSize(fields: readonly UnknownField[] | undefined): number {
  if (fields === undefined) return 0;
  let size = 0;
  for (const f of fields) size += uintSize(((f.no << 3) | f.wireType) >>> 0) + f.data.byteLength;
  return size;
}

// Sizes of whole fields (tag included; 0 when the field is unset), checking the value.

/** A string field; 0 when unset or empty. */
export function stringFieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const s = asString(value);
  return s.length === 0 ? 0 : 1 + delimitedSize(utf8Length(s));
}

/** An int32 or enum field; 0 when unset or zero. */
export function int32FieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const n = asInt32(value);
  return n === 0 ? 0 : 1 + int32Size(n);
}

/** An int64 field; 0 when unset or zero. */
export function int64FieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const n = asInt64(value);
  return n === 0n ? 0 : 1 + int64Size(n);
}

/** A bool field; 0 when unset or false. */
export function boolFieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  return asBool(value) ? 2 : 0;
}

/** A bytes field; 0 when unset or empty. */
export function bytesFieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const b = asBytes(value);
  return b.byteLength === 0 ? 0 : 1 + delimitedSize(b.byteLength);
}

/** A message field (set when defined) whose payload size is `payload`. */
export function messageFieldSize(payload: number): number {
  return 1 + delimitedSize(payload);
}

/** A packed repeated field; varint kinds note their payload size in `sizes`. */
export function packedFieldSize(kind: Packed, value: unknown, sizes: Sizes): number {
  if (value === undefined || value === null) return 0;
  const list = asList(value);
  const n = list.length;
  if (n === 0) return 0;
  let payload = 0;
  switch (kind) {
    case "float":
      for (let i = 0; i < n; i++) asFloat(list[i]);
      payload = 4 * n;
      break;
    case "double":
      for (let i = 0; i < n; i++) asDouble(list[i]);
      payload = 8 * n;
      break;
    case "bool":
      for (let i = 0; i < n; i++) asBool(list[i]);
      payload = n;
      break;
    case "int32":
      for (let i = 0; i < n; i++) payload += int32Size(asInt32(list[i]));
      sizes.set(sizes.reserve(), payload);
      break;
    case "uint32":
      for (let i = 0; i < n; i++) payload += uintSize(asUint32(list[i]));
      sizes.set(sizes.reserve(), payload);
      break;
    case "int64":
      for (let i = 0; i < n; i++) payload += int64Size(asInt64(list[i]));
      sizes.set(sizes.reserve(), payload);
      break;
    case "uint64":
      for (let i = 0; i < n; i++) payload += uint64Size(asUint64(list[i]));
      sizes.set(sizes.reserve(), payload);
      break;
  }
  return 1 + delimitedSize(payload);
}

/** A repeated string field: one tag per element, empty strings included. */
export function stringsFieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const list = asList(value);
  let size = 0;
  for (let i = 0; i < list.length; i++) size += 1 + delimitedSize(utf8Length(asString(list[i])));
  return size;
}

/** A repeated bytes field: one tag per element, empty ones included. */
export function bytesListFieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const list = asList(value);
  let size = 0;
  for (let i = 0; i < list.length; i++) size += 1 + delimitedSize(asBytes(list[i]).byteLength);
  return size;
}
