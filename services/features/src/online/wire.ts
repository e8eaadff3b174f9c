// The protobuf wire format pieces the hand-written GetOnlineFeatures encoders share:
// varint and length sizes, and a fixed-size writer filled front to back after a sizing pass.

/** A length prefix plus `length` bytes. */
export function lengthDelimitedSize(length: number): number {
  return uintSize(length) + length;
}

/** Bytes of a non-negative varint. */
export function uintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Negative int32 and int64 values are sign-extended to 64 bits: always 10 bytes. */
export function int32Size(n: number): number {
  return n < 0 ? 10 : uintSize(n);
}

/** Bytes of an int64 varint. */
export function int64Size(n: bigint): number {
  if (n < 0n) return 10;
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? uintSize(Number(n)) : bigVarintSize(n);
}

function bigVarintSize(n: bigint): number {
  let size = 1;
  while (n >= 0x80n) {
    n >>= 7n;
    size++;
  }
  return size;
}

/** A fixed-size buffer written front to back; its size comes from the sizing pass. */
export class Writer {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  uint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  int32(n: number): void {
    if (n < 0) this.int64(BigInt(n));
    else this.uint(n);
  }

  int64(n: bigint): void {
    if (n >= 0n && n <= BigInt(Number.MAX_SAFE_INTEGER)) {
      this.uint(Number(n));
      return;
    }
    let u = BigInt.asUintN(64, n);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  double(n: number): void {
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  string(s: string): void {
    const length = Buffer.byteLength(s);
    this.uint(length);
    this.buf.write(s, this.pos, "utf8");
    this.pos += length;
  }

  finish(): Uint8Array {
    if (this.pos !== this.buf.length) throw new Error(`encoded ${this.pos} bytes, sized ${this.buf.length}`);
    // A view, not a copy (small Buffers share a pooled ArrayBuffer; the offset says where).
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }
}
