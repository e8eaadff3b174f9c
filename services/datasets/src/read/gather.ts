import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  type Bool,
  type Data,
  type DataType,
  type Float64,
  type Int64,
  makeData,
  type TimestampMillisecond,
  type Utf8,
} from "apache-arrow";
import { bitIsSet, int32PairsOf, nullBitmapOf } from "../stats/arrow-columns.js";

/** Some rows (indexes relative to the data's start) of one column of one input batch. */
export interface RowsOf {
  readonly data: Data;
  readonly rows: Int32Array;
}

function gatherNulls(
  parts: readonly RowsOf[],
  length: number,
): { bitmap: Uint8Array; nullCount: number } | undefined {
  if (!parts.some((p) => nullBitmapOf(p.data) !== undefined)) return undefined;
  const bitmap = new Uint8Array((length + 7) >> 3);
  let k = 0;
  let nullCount = 0;
  for (const { data, rows } of parts) {
    const nulls = nullBitmapOf(data);
    for (let j = 0; j < rows.length; j++, k++) {
      if (nulls === undefined || bitIsSet(nulls, data.offset + rows[j])) bitmap[k >> 3] |= 1 << (k & 7);
      else nullCount++;
    }
  }
  return { bitmap, nullCount };
}

function gatherWide(parts: readonly RowsOf[], length: number): ArrayBuffer {
  // 8-byte values copied as int32 pairs: no BigInt per value, and NaN payloads kept bit-exact.
  const out = new Int32Array(length * 2);
  let k = 0;
  for (const { data, rows } of parts) {
    const src = int32PairsOf(data);
    for (let j = 0; j < rows.length; j++, k += 2) {
      const r = rows[j] * 2;
      out[k] = src[r];
      out[k + 1] = src[r + 1];
    }
  }
  return out.buffer;
}

function gatherBits(parts: readonly RowsOf[], length: number): Uint8Array {
  const out = new Uint8Array((length + 7) >> 3);
  let k = 0;
  for (const { data, rows } of parts) {
    const bits = data.values as Uint8Array;
    for (let j = 0; j < rows.length; j++, k++)
      if (bitIsSet(bits, data.offset + rows[j])) out[k >> 3] |= 1 << (k & 7);
  }
  return out;
}

function gatherUtf8(parts: readonly RowsOf[], length: number): { offsets: Int32Array; bytes: Uint8Array } {
  const offsets = new Int32Array(length + 1);
  let k = 0;
  let total = 0;
  for (const { data, rows } of parts) {
    const src = data.valueOffsets as Int32Array;
    for (let j = 0; j < rows.length; j++) {
      const r = rows[j];
      total += src[r + 1] - src[r];
      offsets[++k] = total;
    }
  }
  const bytes = new Uint8Array(total);
  k = 0;
  for (const { data, rows } of parts) {
    const src = data.valueOffsets as Int32Array;
    const values = data.values as Uint8Array;
    for (let j = 0; j < rows.length; j++, k++) {
      const r = rows[j];
      bytes.set(values.subarray(src[r], src[r + 1]), offsets[k]);
    }
  }
  return { offsets, bytes };
}

/**
 * Copies the selected rows of several inputs, in order, into new contiguous column data of
 * `type` (the canonical Arrow type of `columnType`). arrow-js has no filter/concat kernels,
 * and copying also releases the input batches as soon as their rows are taken.
 */
export function gatherColumn(
  columnType: ColumnType,
  type: DataType,
  parts: readonly RowsOf[],
  length: number,
): Data {
  const nulls = gatherNulls(parts, length);
  const validity = nulls === undefined ? {} : { nullBitmap: nulls.bitmap, nullCount: nulls.nullCount };
  switch (columnType) {
    case ColumnType.INT64:
      return makeData({
        type: type as Int64,
        length,
        data: new BigInt64Array(gatherWide(parts, length)),
        ...validity,
      });
    case ColumnType.TIMESTAMP:
      return makeData({
        type: type as TimestampMillisecond,
        length,
        data: new BigInt64Array(gatherWide(parts, length)),
        ...validity,
      });
    case ColumnType.FLOAT64:
      return makeData({
        type: type as Float64,
        length,
        data: new Float64Array(gatherWide(parts, length)),
        ...validity,
      });
    case ColumnType.BOOL:
      return makeData({ type: type as Bool, length, data: gatherBits(parts, length), ...validity });
    case ColumnType.STRING: {
      const { offsets, bytes } = gatherUtf8(parts, length);
      return makeData({ type: type as Utf8, length, valueOffsets: offsets, data: bytes, ...validity });
    }
    case ColumnType.UNSPECIFIED:
      throw new TypeError("column of unspecified type");
  }
}
