// Builders for small, hand-checkable Arrow data in tests of stats/, splits/ and read/.

import { create } from "@bufbuild/protobuf";
import { createRandom } from "@seam/kit/random";
import { ColumnType, type Schema, SchemaSchema } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  Bool,
  type Data,
  Float64,
  Int64,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import type { BatchSource } from "./arrow-columns.js";

/** Int64 column data; nulls allowed. */
export const int64 = (values: ReadonlyArray<bigint | null>): Data =>
  vectorFromArray([...values], new Int64()).data[0] as Data;
/** Float64 column data; nulls allowed. */
export const float64 = (values: ReadonlyArray<number | null>): Data =>
  vectorFromArray([...values], new Float64()).data[0] as Data;
/** Bool column data; nulls allowed. */
export const bool = (values: ReadonlyArray<boolean | null>): Data =>
  vectorFromArray([...values], new Bool()).data[0] as Data;
/** Utf8 column data; nulls allowed. */
export const utf8 = (values: ReadonlyArray<string | null>): Data =>
  vectorFromArray([...values], new Utf8()).data[0] as Data;
/** Timestamp(ms, UTC) column data from epoch milliseconds; nulls allowed. */
export const timestampMs = (values: ReadonlyArray<number | null>): Data =>
  vectorFromArray([...values], new TimestampMillisecond("UTC")).data[0] as Data;

/** A record batch from named column data (all of one length). */
export function batchOf(columns: Record<string, Data>): RecordBatch {
  return new RecordBatch(columns);
}

/** A re-openable source over fixed batches. */
export function sourceOf(batches: readonly RecordBatch[]): BatchSource {
  return async function* () {
    yield* batches;
  };
}

/** A proto schema from [name, type] pairs; every column nullable. */
export function schemaOf(columns: ReadonlyArray<readonly [string, ColumnType]>): Schema {
  return create(SchemaSchema, {
    columns: columns.map(([name, type]) => ({ name, type, nullable: true })),
  });
}

/** Serializes batches as one Arrow IPC stream. */
export function ipcStreamOf(batches: readonly RecordBatch[]): Uint8Array {
  return RecordBatchStreamWriter.writeAll(batches).toUint8Array(true);
}

/** Parses a complete Arrow IPC stream back into its batches. */
export function batchesOfIpc(bytes: Uint8Array): RecordBatch[] {
  return [...RecordBatchReader.from(bytes)];
}

export { ColumnType };

/** A seeded PRNG, so generated test data is the same on every run. */
export const prng = createRandom;
