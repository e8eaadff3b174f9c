import { isUtf8 } from "node:buffer";
import { InvalidArgumentError } from "@seam/kit/errors";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { type Data, type DataType, makeData } from "apache-arrow";

const MAX_TEXT_BYTES = 2 ** 31 - 1;

/**
 * Accumulates one column of one record batch in preallocated typed arrays and hands
 * them to Arrow as-is (makeData), which is several times faster than Arrow's Builders.
 * One class for every type keeps the hot call sites monomorphic. Buffers are reused
 * across batches: the IPC writer copies each batch out before the next one starts.
 */
export class ColumnBuilder {
  length = 0;
  nullCount = 0;
  private readonly validity: Uint8Array;
  private readonly int64s: BigInt64Array;
  private readonly words: Uint32Array;
  private readonly floats: Float64Array;
  private readonly bits: Uint8Array;
  private readonly offsets: Int32Array;
  private bytes: Uint8Array;
  private bytesUsed = 0;

  constructor(
    readonly type: ColumnType,
    readonly capacity: number,
  ) {
    const bitmapBytes = (capacity + 7) >> 3;
    this.validity = new Uint8Array(bitmapBytes);
    const wide = type === ColumnType.INT64 || type === ColumnType.TIMESTAMP;
    this.int64s = new BigInt64Array(wide ? capacity : 0);
    this.words = new Uint32Array(this.int64s.buffer);
    this.floats = new Float64Array(type === ColumnType.FLOAT64 ? capacity : 0);
    this.bits = new Uint8Array(type === ColumnType.BOOL ? bitmapBytes : 0);
    this.offsets = new Int32Array(type === ColumnType.STRING ? capacity + 1 : 0);
    this.bytes = new Uint8Array(type === ColumnType.STRING ? 1 << 16 : 0);
  }

  appendNull(): void {
    const i = this.length++;
    this.nullCount++;
    switch (this.type) {
      case ColumnType.INT64:
      case ColumnType.TIMESTAMP:
        // Null slots hold zeros so the output bytes depend on the data only.
        this.words[2 * i] = 0;
        this.words[2 * i + 1] = 0;
        break;
      case ColumnType.FLOAT64:
        this.floats[i] = 0;
        break;
      case ColumnType.STRING:
        this.offsets[i + 1] = this.bytesUsed;
        break;
      case ColumnType.BOOL:
      case ColumnType.UNSPECIFIED:
        break;
    }
  }

  /** Appends an int64 or timestamp given as little-endian 32-bit words. */
  appendWords(lo: number, hi: number): void {
    const i = this.length++;
    this.words[2 * i] = lo;
    this.words[2 * i + 1] = hi;
    (this.validity[i >> 3] as number) |= 1 << (i & 7);
  }

  appendFloat(value: number): void {
    const i = this.length++;
    this.floats[i] = value;
    (this.validity[i >> 3] as number) |= 1 << (i & 7);
  }

  appendBool(value: boolean): void {
    const i = this.length++;
    if (value) (this.bits[i >> 3] as number) |= 1 << (i & 7);
    (this.validity[i >> 3] as number) |= 1 << (i & 7);
  }

  /** Appends UTF-8 text copied from `buf[start, end)`. */
  appendBytes(buf: Uint8Array, start: number, end: number): void {
    const i = this.length++;
    const len = end - start;
    const at = this.bytesUsed;
    if (at + len > this.bytes.length) this.grow(at + len);
    if (len < 16) {
      // A loop beats TypedArray.set's call overhead on short values.
      const bytes = this.bytes;
      for (let k = 0; k < len; k++) bytes[at + k] = buf[start + k] as number;
    } else {
      this.bytes.set(buf.subarray(start, end), at);
    }
    this.bytesUsed = at + len;
    this.offsets[i + 1] = this.bytesUsed;
    (this.validity[i >> 3] as number) |= 1 << (i & 7);
  }

  private grow(needed: number): void {
    if (needed > MAX_TEXT_BYTES) {
      throw new InvalidArgumentError("a record batch holds more than 2 GiB of text in one column");
    }
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const bytes = new Uint8Array(Math.min(size, MAX_TEXT_BYTES));
    bytes.set(this.bytes.subarray(0, this.bytesUsed));
    this.bytes = bytes;
  }

  /** Index of the first value that is not valid UTF-8, or -1. */
  firstInvalidUtf8(): number {
    if (this.type !== ColumnType.STRING || isUtf8(this.bytes.subarray(0, this.bytesUsed))) return -1;
    for (let i = 0; i < this.length; i++) {
      const value = this.bytes.subarray(this.offsets[i] as number, this.offsets[i + 1] as number);
      if (!isUtf8(value)) return i;
    }
    return -1;
  }

  /** The batch as Arrow Data of `type` (the matching Arrow type), with exact-length buffers. */
  toData(type: DataType): Data {
    const length = this.length;
    const nullCount = this.nullCount;
    const bitmapBytes = (length + 7) >> 3;
    // Without nulls Arrow writes an empty validity buffer; with nulls, exactly the used bytes.
    const nulls = nullCount > 0 ? { nullBitmap: this.validity.subarray(0, bitmapBytes) } : {};
    switch (this.type) {
      case ColumnType.INT64:
      case ColumnType.TIMESTAMP:
        return makeData({
          type,
          length,
          nullCount,
          ...nulls,
          data: this.int64s.subarray(0, length),
        } as never);
      case ColumnType.FLOAT64:
        return makeData({
          type,
          length,
          nullCount,
          ...nulls,
          data: this.floats.subarray(0, length),
        } as never);
      case ColumnType.BOOL:
        return makeData({
          type,
          length,
          nullCount,
          ...nulls,
          data: this.bits.subarray(0, bitmapBytes),
        } as never);
      case ColumnType.STRING:
      case ColumnType.UNSPECIFIED:
        return makeData({
          type,
          length,
          nullCount,
          ...nulls,
          valueOffsets: this.offsets.subarray(0, length + 1),
          data: this.bytes.subarray(0, this.bytesUsed),
        } as never);
    }
  }

  /** Empties the builder for the next batch (after its Data has been written). */
  reset(): void {
    const bitmapBytes = (this.length + 7) >> 3;
    this.validity.fill(0, 0, bitmapBytes);
    this.bits.fill(0, 0, Math.min(bitmapBytes, this.bits.length));
    this.length = 0;
    this.nullCount = 0;
    this.bytesUsed = 0;
  }
}
