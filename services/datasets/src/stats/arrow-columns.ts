import { DataLossError } from "@seam/kit/errors";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  type Data,
  type DataType,
  type Float64,
  type Int64,
  type RecordBatch,
  type TimestampMillisecond,
  TimeUnit,
  Type,
} from "apache-arrow";

/** A source of record batches that can be opened more than once (each call starts over). */
export type BatchSource = () => AsyncIterable<RecordBatch>;

/** Whether stored Arrow data of `type` is what a schema column of type `expected` is stored as. */
export function matchesColumnType(type: DataType, expected: ColumnType): boolean {
  switch (expected) {
    case ColumnType.INT64:
      return type.typeId === Type.Int && (type as Int64).bitWidth === 64 && (type as Int64).isSigned;
    case ColumnType.FLOAT64:
      return type.typeId === Type.Float && (type as Float64).precision === 2;
    case ColumnType.BOOL:
      return type.typeId === Type.Bool;
    case ColumnType.STRING:
      return type.typeId === Type.Utf8;
    case ColumnType.TIMESTAMP:
      return type.typeId === Type.Timestamp && (type as TimestampMillisecond).unit === TimeUnit.MILLISECOND;
    case ColumnType.UNSPECIFIED:
      return false;
  }
}

/**
 * The Data of the column `name` in `batch`, checked against the column type the version's
 * schema records. A mismatch means stored data and metadata disagree: DataLossError.
 */
export function columnData(batch: RecordBatch, name: string, expected: ColumnType): Data {
  const index = batch.schema.fields.findIndex((f) => f.name === name);
  const data = index < 0 ? undefined : batch.data.children[index];
  if (data === undefined) throw new DataLossError(`stored data has no column "${name}"`);
  if (!matchesColumnType(data.type, expected)) {
    throw new DataLossError(
      `stored column "${name}" is ${String(data.type)}, expected ${ColumnType[expected]}`,
    );
  }
  return data;
}

/** The validity bitmap when the data has nulls (bit data.offset + i), else undefined. */
export function nullBitmapOf(data: Data): Uint8Array | undefined {
  return data.nullCount > 0 && data.nullBitmap !== undefined && data.nullBitmap.length > 0
    ? data.nullBitmap
    : undefined;
}

/** Whether bit `bit` of a bitmap is set. */
export function bitIsSet(bitmap: Uint8Array, bit: number): boolean {
  return ((bitmap[bit >> 3] >> (bit & 7)) & 1) === 1;
}

/**
 * An 8-byte-per-value column (int64, float64, timestamp) as little-endian int32 pairs, so
 * hot loops read halves without allocating a BigInt per value. Values are relative to the
 * data's own start (arrow-js slices fixed-width buffers, unlike bitmaps).
 */
export function int32PairsOf(data: Data): Int32Array {
  const values = data.values as BigInt64Array | Float64Array;
  return new Int32Array(values.buffer, values.byteOffset, data.length * 2);
}
