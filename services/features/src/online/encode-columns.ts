import type { MessageInitShape } from "@bufbuild/protobuf";
import { delimitedSize, int32Size, int64Size, type ProtoWriter, utf8Length } from "@seam/kit/wire";
import type { OnlineFeatureColumnSchema } from "@seam/proto/seam/features/v1/features_pb";

// OnlineFeatureColumn (features.proto) in the bytes toBinary writes: fields in number order,
// numeric arrays packed, strings one field each, empty arrays and a zero type left out.
// toBinary allocates per packed double (8 of the 10 features of bench:features are numbers),
// which made it most of a 100-entity columns answer's CPU.

type ColumnInit = MessageInitShape<typeof OnlineFeatureColumnSchema>;

const TAG_TYPE = 0x08; // type = 1, varint
const TAG_STATUSES = 0x12; // statuses = 2, packed
const TAG_EVENT_TIMES = 0x1a; // event_time_millis = 3, packed double
const TAG_INT64 = 0x22; // int64_values = 4, packed
const TAG_DOUBLE = 0x2a; // double_values = 5, packed
const TAG_BOOL = 0x32; // bool_values = 6, packed
const TAG_STRING = 0x3a; // string_values = 7, one field per value
const TAG_TIMESTAMP = 0x42; // timestamp_millis_values = 8, packed double

/** Bytes of one column's message body. */
export function columnSize(column: ColumnInit): number {
  let size = 0;
  if (column.type !== undefined && column.type !== 0) size += 1 + int32Size(column.type);
  size += packedSize(column.statuses, int32Size);
  size += packedDoublesSize(column.eventTimeMillis);
  size += packedSize(column.int64Values, int64Size);
  size += packedDoublesSize(column.doubleValues);
  size += packedSize(column.boolValues, () => 1);
  for (const text of column.stringValues ?? []) size += 1 + delimitedSize(utf8Length(text));
  size += packedDoublesSize(column.timestampMillisValues);
  return size;
}

/** Writes one column's message body (its size is {@link columnSize}). */
export function writeColumn(out: ProtoWriter, column: ColumnInit): void {
  if (column.type !== undefined && column.type !== 0) {
    out.byte(TAG_TYPE);
    out.int32(column.type);
  }
  writePacked(out, TAG_STATUSES, column.statuses, int32Size, (s) => out.int32(s));
  writePackedDoubles(out, TAG_EVENT_TIMES, column.eventTimeMillis);
  writePacked(out, TAG_INT64, column.int64Values, int64Size, (v) => out.int64(v));
  writePackedDoubles(out, TAG_DOUBLE, column.doubleValues);
  writePacked(
    out,
    TAG_BOOL,
    column.boolValues,
    () => 1,
    (b) => out.byte(b ? 1 : 0),
  );
  for (const text of column.stringValues ?? []) {
    out.byte(TAG_STRING);
    out.string(text);
  }
  writePackedDoubles(out, TAG_TIMESTAMP, column.timestampMillisValues);
}

function payloadSize<T>(values: readonly T[], size: (value: T) => number): number {
  let total = 0;
  for (const value of values) total += size(value);
  return total;
}

function packedSize<T>(values: readonly T[] | undefined, size: (value: T) => number): number {
  if (values === undefined || values.length === 0) return 0;
  return 1 + delimitedSize(payloadSize(values, size));
}

function packedDoublesSize(values: readonly number[] | undefined): number {
  return values === undefined || values.length === 0 ? 0 : 1 + delimitedSize(8 * values.length);
}

function writePacked<T>(
  out: ProtoWriter,
  tag: number,
  values: readonly T[] | undefined,
  size: (value: T) => number,
  write: (value: T) => void,
): void {
  if (values === undefined || values.length === 0) return;
  out.byte(tag);
  out.uint(payloadSize(values, size));
  for (const value of values) write(value);
}

function writePackedDoubles(out: ProtoWriter, tag: number, values: readonly number[] | undefined): void {
  if (values === undefined || values.length === 0) return;
  out.byte(tag);
  out.uint(8 * values.length);
  for (const value of values) out.double(value);
}
