import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { delimitedSize, int32Size, int64Size, ProtoWriter, utf8Length } from "@seam/kit/wire";
import type {
  FeatureValueSchema,
  GetOnlineFeaturesResponseSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import { columnSize, writeColumn } from "./encode-columns.js";

// GetOnlineFeatures answers 100 entities × 10 features with 1000 OnlineFeatureValue messages,
// each nesting a FeatureValue and a Timestamp: ~3000 messages. The generic toBinary walks
// each through reflection and was most of the method's CPU (bench:features); protobuf-es'
// BinaryWriter alone still spends most of its time forking and joining nested messages.
// This encoder sizes every nested message first, then writes the bytes into one buffer.
// Field numbers follow features.proto; the test compares its output with toBinary's.

type ResponseInit = MessageInitShape<typeof GetOnlineFeaturesResponseSchema>;
type FeatureValueInit = MessageInitShape<typeof FeatureValueSchema>;
type TimestampInit = Partial<Pick<Timestamp, "seconds" | "nanos">>;

// Tags: (field number << 3) | wire type (0 varint, 1 64-bit, 2 length-delimited).
const TAG_NAMES = 0x0a; // GetOnlineFeaturesResponse.feature_names = 1
const TAG_ROWS = 0x12; // GetOnlineFeaturesResponse.rows = 2
const TAG_COLUMNS = 0x1a; // GetOnlineFeaturesResponse.columns = 3
const TAG_ROW_VALUES = 0x0a; // OnlineFeatureRow.values = 1
const TAG_VALUE = 0x0a; // OnlineFeatureValue.value = 1
const TAG_STATUS = 0x10; // OnlineFeatureValue.status = 2
const TAG_EVENT_TIME = 0x1a; // OnlineFeatureValue.event_time = 3
const TAG_INT64 = 0x08; // FeatureValue.int64_value = 1
const TAG_DOUBLE = 0x11; // FeatureValue.double_value = 2
const TAG_BOOL = 0x18; // FeatureValue.bool_value = 3
const TAG_STRING = 0x22; // FeatureValue.string_value = 4
const TAG_TIMESTAMP = 0x2a; // FeatureValue.timestamp_value = 5
const TAG_SECONDS = 0x08; // Timestamp.seconds = 1
const TAG_NANOS = 0x10; // Timestamp.nanos = 2

/**
 * Encodes a GetOnlineFeaturesResponse (as the handler returns it) exactly like toBinary:
 * feature names, rows (rows layout) and columns (columns layout).
 */
export function encodeOnlineFeaturesResponse(response: ResponseInit): Uint8Array {
  const names = response.featureNames ?? [];
  const columns = response.columns ?? [];
  const rows = response.rows ?? [];
  // Pass 1: sizes. Per value: its FeatureValue, its event time and itself; per row: itself.
  const valueCount = rows.reduce((n, row) => n + (row.values?.length ?? 0), 0);
  const featureSizes = new Int32Array(valueCount);
  const timeSizes = new Int32Array(valueCount);
  const valueSizes = new Int32Array(valueCount);
  const rowSizes = new Int32Array(rows.length);
  let total = 0;
  for (const name of names) total += 1 + delimitedSize(utf8Length(name));
  let v = 0;
  rows.forEach((row, r) => {
    let rowSize = 0;
    for (const value of row.values ?? []) {
      let size = 0;
      if (value.value !== undefined) {
        featureSizes[v] = featureValueSize(value.value);
        size += 1 + delimitedSize(featureSizes[v] as number);
      }
      if (value.status !== undefined && value.status !== 0) size += 1 + int32Size(value.status);
      if (value.eventTime !== undefined) {
        timeSizes[v] = timestampSize(value.eventTime);
        size += 1 + delimitedSize(timeSizes[v] as number);
      }
      valueSizes[v++] = size;
      rowSize += 1 + delimitedSize(size);
    }
    rowSizes[r] = rowSize;
    total += 1 + delimitedSize(rowSize);
  });
  const columnSizes = columns.map(columnSize);
  for (const size of columnSizes) total += 1 + delimitedSize(size);

  // Pass 2: bytes.
  const out = new ProtoWriter(total);
  for (const name of names) {
    out.byte(TAG_NAMES);
    out.string(name);
  }
  v = 0;
  rows.forEach((row, r) => {
    out.byte(TAG_ROWS);
    out.uint(rowSizes[r] as number);
    for (const value of row.values ?? []) {
      out.byte(TAG_ROW_VALUES);
      out.uint(valueSizes[v] as number);
      if (value.value !== undefined) {
        out.byte(TAG_VALUE);
        out.uint(featureSizes[v] as number);
        writeFeatureValue(out, value.value);
      }
      if (value.status !== undefined && value.status !== 0) {
        out.byte(TAG_STATUS);
        out.int32(value.status);
      }
      if (value.eventTime !== undefined) {
        out.byte(TAG_EVENT_TIME);
        out.uint(timeSizes[v] as number);
        writeTimestamp(out, value.eventTime);
      }
      v++;
    }
  });
  columns.forEach((column, c) => {
    out.byte(TAG_COLUMNS);
    out.uint(columnSizes[c] as number);
    writeColumn(out, column);
  });
  return out.finish();
}

function featureValueSize(value: FeatureValueInit): number {
  const kind = value.kind;
  switch (kind?.case) {
    case "int64Value":
      return 1 + int64Size(kind.value);
    case "doubleValue":
      return 9;
    case "boolValue":
      return 2;
    case "stringValue":
      return 1 + delimitedSize(utf8Length(kind.value));
    case "timestampValue":
      return 1 + delimitedSize(timestampSize(kind.value));
    case undefined:
      return 0;
  }
}

function writeFeatureValue(out: ProtoWriter, value: FeatureValueInit): void {
  const kind = value.kind;
  switch (kind?.case) {
    case "int64Value":
      out.byte(TAG_INT64);
      out.int64(kind.value);
      break;
    case "doubleValue":
      out.byte(TAG_DOUBLE);
      out.double(kind.value);
      break;
    case "boolValue":
      out.byte(TAG_BOOL);
      out.byte(kind.value ? 1 : 0);
      break;
    case "stringValue":
      out.byte(TAG_STRING);
      out.string(kind.value);
      break;
    case "timestampValue":
      out.byte(TAG_TIMESTAMP);
      out.uint(timestampSize(kind.value));
      writeTimestamp(out, kind.value);
      break;
    case undefined:
      break;
  }
}

function timestampSize(timestamp: TimestampInit): number {
  let size = 0;
  if (timestamp.seconds !== undefined && timestamp.seconds !== 0n) size += 1 + int64Size(timestamp.seconds);
  if (timestamp.nanos !== undefined && timestamp.nanos !== 0) size += 1 + int32Size(timestamp.nanos);
  return size;
}

function writeTimestamp(out: ProtoWriter, timestamp: TimestampInit): void {
  if (timestamp.seconds !== undefined && timestamp.seconds !== 0n) {
    out.byte(TAG_SECONDS);
    out.int64(timestamp.seconds);
  }
  if (timestamp.nanos !== undefined && timestamp.nanos !== 0) {
    out.byte(TAG_NANOS);
    out.int32(timestamp.nanos);
  }
}
