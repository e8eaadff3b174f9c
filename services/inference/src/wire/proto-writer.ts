/**
 * What the hand-written response encoders (Predict, ModelInfer) share: checked reads of
 * fields, their encoded sizes, and a writer that fills one buffer of the exact size.
 *
 * An encoder works in two passes over the value a handler returned (an init object or a
 * message). The sizing pass checks every field and computes sizes, noting the size of each
 * nested message and packed varint list in {@link Sizes} in the order it meets them; the
 * writing pass writes, taking those sizes back in the same order for the length prefixes.
 * A field holding anything but what the encoder expects (a number where an int64 goes, a
 * typed array for a repeated field, ...) makes the sizing pass throw {@link Unsupported},
 * and the encoder hands the value to protobuf-es instead, which converts, encodes or
 * refuses it as it always does. Field numbers here are all below 16: every tag is one byte.
 *
 * Field rules follow protobuf-es' create() and toBinary(): fields in field-number order,
 * then the unknown fields of a decoded message; a singular field that is undefined or null
 * is unset, as is a proto3 scalar holding its zero value; a message field that is set is
 * written even when empty; map entries are written key then value, both always, in the
 * order of the object's keys; repeated numeric fields are packed, strings and bytes not.
 */

/** Thrown by the sizing pass for a value the hand-written encoder leaves to protobuf-es. */
export class Unsupported extends Error {}

function unsupported(what: string): never {
  throw new Unsupported(what);
}

/** An init object or a message: named fields. */
export type Fields = Readonly<Record<string, unknown>>;

/** An unknown field as protobuf-es keeps it on a message decoded from bytes. */
interface UnknownField {
  readonly no: number;
  readonly wireType: number;
  readonly data: Uint8Array;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const FLOAT32_MAX = 3.4028234663852886e38;
/** Longest string the writer copies code by code (see ProtoWriter.string). */
const SHORT_STRING = 64;

// Checked reads of one value as protobuf-es takes it. Callers treat an undefined or null
// singular field as unset before reading; an element of a repeated field has no such
// default (protobuf-es refuses a missing one), nor does a oneof's value.

/** A message: an object (an init object or a message). */
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

export function asString(value: unknown): string {
  if (typeof value !== "string") unsupported("string");
  return value;
}

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

export function asUint64(value: unknown): bigint {
  if (typeof value !== "bigint" || value < 0n || value > UINT64_MAX) unsupported("uint64");
  return value;
}

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

export function unknownFieldsSize(fields: readonly UnknownField[] | undefined): number {
  if (fields === undefined) return 0;
  let size = 0;
  for (const f of fields) size += uintSize(((f.no << 3) | f.wireType) >>> 0) + f.data.byteLength;
  return size;
}

/** Bytes of the varint of a non-negative integer below 2^53. */
function uintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 4;
  for (n = Math.floor(n / 0x10000000); n > 0; n = Math.floor(n / 128)) size++;
  return size;
}

/** Negative int32 values are sign-extended to 64 bits: always 10 bytes. */
function int32Size(n: number): number {
  return n < 0 ? 10 : uintSize(n);
}

export function int64Size(n: bigint): number {
  return n < 0n ? 10 : uint64Size(n);
}

export function uint64Size(n: bigint): number {
  if (n <= MAX_SAFE) return uintSize(Number(n));
  let size = 1;
  for (; n >= 0x80n; n >>= 7n) size++;
  return size;
}

/** Length prefix and payload of a length-delimited value (without its tag). */
export function delimitedSize(length: number): number {
  return uintSize(length) + length;
}

function utf8Length(s: string): number {
  return s.length === 0 ? 0 : Buffer.byteLength(s, "utf8");
}

/**
 * Sizes of nested messages and packed varint lists in the order the sizing pass met them
 * (a message's before what it holds), taken back in that order by the writing pass.
 */
export class Sizes {
  readonly #sizes: number[] = [];
  #next = 0;

  /** Reserves the next slot, before sizing what it covers; fill it with {@link set}. */
  reserve(): number {
    return this.#sizes.push(0) - 1;
  }

  set(slot: number, size: number): number {
    this.#sizes[slot] = size;
    return size;
  }

  /** The next size, in the order the slots were reserved. */
  take(): number {
    return this.#sizes[this.#next++] as number;
  }
}

// Sizes of whole fields (tag included; 0 when the field is unset), checking the value.

export function stringFieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const s = asString(value);
  return s.length === 0 ? 0 : 1 + delimitedSize(utf8Length(s));
}

export function int32FieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const n = asInt32(value);
  return n === 0 ? 0 : 1 + int32Size(n);
}

export function int64FieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const n = asInt64(value);
  return n === 0n ? 0 : 1 + int64Size(n);
}

export function boolFieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  return asBool(value) ? 2 : 0;
}

export function bytesFieldSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const b = asBytes(value);
  return b.byteLength === 0 ? 0 : 1 + delimitedSize(b.byteLength);
}

/** A message field (set when defined) whose payload size is `payload`. */
export function messageFieldSize(payload: number): number {
  return 1 + delimitedSize(payload);
}

/** Kinds of packed repeated fields. */
export type Packed = "float" | "double" | "bool" | "int32" | "uint32" | "int64" | "uint64";

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

/**
 * A buffer of a size known in advance, written front to back. Its field methods write what
 * the sizing pass checked, and skip what it found unset.
 */
export class ProtoWriter {
  readonly #buf: Buffer;
  readonly #sizes: Sizes;
  #pos = 0;

  constructor(size: number, sizes: Sizes) {
    this.#buf = Buffer.allocUnsafe(size);
    this.#sizes = sizes;
  }

  /** A tag, or any other value below 128. */
  byte(b: number): void {
    this.#buf[this.#pos++] = b;
  }

  uint(n: number): void {
    while (n >= 0x80) {
      this.#buf[this.#pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.#buf[this.#pos++] = n;
  }

  int32(n: number): void {
    if (n < 0) this.uint64(BigInt.asUintN(64, BigInt(n)));
    else this.uint(n);
  }

  int64(n: bigint): void {
    this.uint64(n < 0n ? BigInt.asUintN(64, n) : n);
  }

  uint64(n: bigint): void {
    if (n <= MAX_SAFE) {
      this.uint(Number(n));
      return;
    }
    for (; n >= 0x80n; n >>= 7n) this.#buf[this.#pos++] = Number(n & 0x7fn) | 0x80;
    this.#buf[this.#pos++] = Number(n);
  }

  double(n: number): void {
    this.#buf.writeDoubleLE(n, this.#pos);
    this.#pos += 8;
  }

  /** Length prefix and UTF-8 bytes (unpaired surrogates as U+FFFD, as TextEncoder writes them). */
  string(s: string): void {
    const length = utf8Length(s);
    this.uint(length);
    // As many bytes as UTF-16 units only when all are ASCII. For short strings (names,
    // ids) copying the codes is several times cheaper than a call into Buffer.write.
    if (length === s.length && length <= SHORT_STRING) {
      for (let i = 0; i < length; i++) this.#buf[this.#pos + i] = s.charCodeAt(i);
    } else if (length > 0) {
      this.#buf.write(s, this.#pos, length, "utf8");
    }
    this.#pos += length;
  }

  /** Length prefix and bytes. */
  bytes(b: Uint8Array): void {
    this.uint(b.byteLength);
    this.#buf.set(b, this.#pos);
    this.#pos += b.byteLength;
  }

  /** The tag and length prefix of a set message field; the caller writes its fields next. */
  messageHeader(tag: number): void {
    this.#buf[this.#pos++] = tag;
    this.uint(this.#sizes.take());
  }

  stringField(tag: number, value: unknown): void {
    if (typeof value === "string" && value.length > 0) {
      this.byte(tag);
      this.string(value);
    }
  }

  int32Field(tag: number, value: unknown): void {
    if (typeof value === "number" && value !== 0) {
      this.byte(tag);
      this.int32(value);
    }
  }

  int64Field(tag: number, value: unknown): void {
    if (typeof value === "bigint" && value !== 0n) {
      this.byte(tag);
      this.int64(value);
    }
  }

  boolField(tag: number, value: unknown): void {
    if (value === true) {
      this.byte(tag);
      this.byte(1);
    }
  }

  bytesField(tag: number, value: unknown): void {
    if (value instanceof Uint8Array && value.byteLength > 0) {
      this.byte(tag);
      this.bytes(value);
    }
  }

  packedField(tag: number, kind: Packed, value: unknown): void {
    if (!Array.isArray(value) || value.length === 0) return;
    const n = value.length;
    this.byte(tag);
    switch (kind) {
      case "float": {
        const list = value as readonly number[];
        this.uint(4 * n);
        for (let i = 0; i < n; i++) {
          this.#buf.writeFloatLE(list[i] as number, this.#pos);
          this.#pos += 4;
        }
        return;
      }
      case "double": {
        const list = value as readonly number[];
        this.uint(8 * n);
        for (let i = 0; i < n; i++) {
          this.#buf.writeDoubleLE(list[i] as number, this.#pos);
          this.#pos += 8;
        }
        return;
      }
      case "bool": {
        const list = value as readonly boolean[];
        this.uint(n);
        for (let i = 0; i < n; i++) this.#buf[this.#pos++] = list[i] ? 1 : 0;
        return;
      }
      case "int32": {
        const list = value as readonly number[];
        this.uint(this.#sizes.take());
        for (let i = 0; i < n; i++) this.int32(list[i] as number);
        return;
      }
      case "uint32": {
        const list = value as readonly number[];
        this.uint(this.#sizes.take());
        for (let i = 0; i < n; i++) this.uint(list[i] as number);
        return;
      }
      case "int64": {
        const list = value as readonly bigint[];
        this.uint(this.#sizes.take());
        for (let i = 0; i < n; i++) this.int64(list[i] as bigint);
        return;
      }
      case "uint64": {
        const list = value as readonly bigint[];
        this.uint(this.#sizes.take());
        for (let i = 0; i < n; i++) this.uint64(list[i] as bigint);
        return;
      }
    }
  }

  stringsField(tag: number, value: unknown): void {
    if (!Array.isArray(value)) return;
    for (const s of value as readonly string[]) {
      this.byte(tag);
      this.string(s);
    }
  }

  bytesListField(tag: number, value: unknown): void {
    if (!Array.isArray(value)) return;
    for (const b of value as readonly Uint8Array[]) {
      this.byte(tag);
      this.bytes(b);
    }
  }

  /** Unknown fields as protobuf-es writes them: the tag, then the field's bytes as kept. */
  unknownFields(fields: readonly UnknownField[] | undefined): void {
    if (fields === undefined) return;
    for (const f of fields) {
      this.uint(((f.no << 3) | f.wireType) >>> 0);
      this.#buf.set(f.data, this.#pos);
      this.#pos += f.data.byteLength;
    }
  }

  finish(): Uint8Array {
    if (this.#pos !== this.#buf.length)
      throw new Error(`encoded ${this.#pos} bytes, sized ${this.#buf.length}`);
    // A view, not a copy (small Buffers share a pooled ArrayBuffer; the offset says where).
    return new Uint8Array(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
  }
}
