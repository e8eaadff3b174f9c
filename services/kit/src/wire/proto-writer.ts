// The protobuf wire format as the hand-written response encoders write it: varint and
// length sizes, the sizes a sizing pass notes for the writing pass, and a writer that
// fills one buffer of the exact size front to back. Every tag these encoders write is a
// field number below 16: one byte.

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Longest string the writer copies code by code (see ProtoWriter.string). */
const SHORT_STRING = 64;

/** An unknown field as protobuf-es keeps it on a message decoded from bytes. */
export interface UnknownField {
  readonly no: number;
  readonly wireType: number;
  readonly data: Uint8Array;
}

/** Kinds of packed repeated fields. */
export type Packed = "float" | "double" | "bool" | "int32" | "uint32" | "int64" | "uint64";

/** Bytes of the varint of a non-negative integer below 2^53. */
export function uintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 4;
  for (n = Math.floor(n / 0x10000000); n > 0; n = Math.floor(n / 128)) size++;
  return size;
}

/** Bytes of an int32 (or enum) varint: a negative one is sign-extended to 64 bits, 10 bytes. */
export function int32Size(n: number): number {
  return n < 0 ? 10 : uintSize(n);
}

/** Bytes of an int64 varint: a negative one takes 10 bytes. */
export function int64Size(n: bigint): number {
  return n < 0n ? 10 : uint64Size(n);
}

/** Bytes of a uint64 varint. */
export function uint64Size(n: bigint): number {
  if (n <= MAX_SAFE) return uintSize(Number(n));
  let size = 1;
  for (; n >= 0x80n; n >>= 7n) size++;
  return size;
}

/** Length prefix and payload of a length-delimited value of `length` bytes (without its tag). */
export function delimitedSize(length: number): number {
  return uintSize(length) + length;
}

/** UTF-8 bytes of a string as the writer writes it (unpaired surrogates as U+FFFD). */
export function utf8Length(s: string): number {
  return s.length === 0 ? 0 : Buffer.byteLength(s, "utf8");
}

/**
 * Sizes of nested messages and packed varint lists in the order a sizing pass met them
 * (a message's before what it holds), taken back in that order by the writing pass.
 */
export class Sizes {
  readonly #sizes: number[] = [];
  #next = 0;

  /** Reserves the next slot, before sizing what it covers; fill it with {@link set}. */
  reserve(): number {
    return this.#sizes.push(0) - 1;
  }

  /** Fills a reserved slot; returns `size`. */
  set(slot: number, size: number): number {
    this.#sizes[slot] = size;
    return size;
  }

  /** The next size, in the order the slots were reserved. */
  take(): number {
    return this.#sizes[this.#next++] as number;
  }
}

/**
 * A buffer of a size known in advance (from a sizing pass), written front to back with no
 * allocation per value; {@link finish} checks that exactly that many bytes were written.
 *
 * The primitives (`byte`, `uint`, `int32`, `int64`, `uint64`, `double`, `string`, `bytes`)
 * write one value, the caller writing tags and length prefixes. The field methods write a
 * whole field as protobuf-es' toBinary does, skipping what is unset (an undefined or zero
 * proto3 scalar), and trust the values a sizing pass checked (see the `*FieldSize`
 * functions); nested messages and packed varint lists take their length prefixes from
 * the {@link Sizes} given, which a writer that uses neither can do without.
 */
export class ProtoWriter {
  readonly #buf: Buffer;
  readonly #sizes: Sizes | undefined;
  #pos = 0;

  constructor(size: number, sizes?: Sizes) {
    this.#buf = Buffer.allocUnsafe(size);
    this.#sizes = sizes;
  }

  /** A tag, or any other value below 256. */
  byte(b: number): void {
    this.#buf[this.#pos++] = b;
  }

  /** The varint of a non-negative integer below 2^53 (a length, a uint32). */
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

  /** Eight bytes, little-endian. */
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
    this.uint(this.#noted());
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

  /** A packed repeated field of `kind`, unless empty. */
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
        this.uint(this.#noted());
        for (let i = 0; i < n; i++) this.int32(list[i] as number);
        return;
      }
      case "uint32": {
        const list = value as readonly number[];
        this.uint(this.#noted());
        for (let i = 0; i < n; i++) this.uint(list[i] as number);
        return;
      }
      case "int64": {
        const list = value as readonly bigint[];
        this.uint(this.#noted());
        for (let i = 0; i < n; i++) this.int64(list[i] as bigint);
        return;
      }
      case "uint64": {
        const list = value as readonly bigint[];
        this.uint(this.#noted());
        for (let i = 0; i < n; i++) this.uint64(list[i] as bigint);
        return;
      }
    }
  }

  /** A repeated string field: one tag per element, empty strings included. */
  stringsField(tag: number, value: unknown): void {
    if (!Array.isArray(value)) return;
    for (const s of value as readonly string[]) {
      this.byte(tag);
      this.string(s);
    }
  }

  /** A repeated bytes field: one tag per element, empty ones included. */
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

  /** The bytes written: a view of the buffer, not a copy. Throws unless it is full. */
  finish(): Uint8Array {
    if (this.#pos !== this.#buf.length)
      throw new Error(`encoded ${this.#pos} bytes, sized ${this.#buf.length}`);
    // Small Buffers share a pooled ArrayBuffer; the offset says where this one is.
    return new Uint8Array(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
  }

  #noted(): number {
    if (this.#sizes === undefined) throw new Error("ProtoWriter: no Sizes given for a nested length");
    return this.#sizes.take();
  }
}
