import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@seam/kit/errors";
import { ColumnType, type Schema } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { Data, RecordBatch } from "apache-arrow";
import type { BatchSource } from "../stats/arrow-columns.js";
import { bitIsSet, nullBitmapOf } from "../stats/arrow-columns.js";
import { planRead, type ReadOptions, selectRows } from "./select-rows.js";

/** Rows returned when the caller asks for 0 (ReadDatasetRowsRequest.limit). */
export const DEFAULT_ROWS_LIMIT = 100;
/** Most rows one ReadDatasetRows call may return. */
export const MAX_ROWS_LIMIT = 1000;

const MAX_EXACT_INT = 2n ** 53n;
// Date supports ±8.64e15 ms (±273,790 years); beyond that there is no ISO 8601 form.
const MAX_DATE_MS = 8_640_000_000_000_000n;

/** JSON rows plus the schema of the returned columns (a ReadDatasetRowsResponse's content). */
export interface RowsResult {
  readonly rows: JsonObject[];
  readonly schema: Schema;
}

/**
 * One cell as a JSON value that survives google.protobuf.Struct: null for nulls; int64 as
 * a number when |v| ≤ 2^53, else a decimal string (doubles would silently round); float64
 * as a number, except NaN / ±Infinity, which Struct cannot hold, as the strings "NaN",
 * "Infinity", "-Infinity" (proto3 JSON's spelling; null would be confused with a null);
 * timestamps as ISO 8601 UTC with milliseconds ("2024-05-01T12:00:00.000Z"), or the
 * epoch-millisecond decimal string when outside the range a date-time can express.
 */
function cell(type: ColumnType, data: Data, i: number, text: Buffer | undefined): JsonValue {
  const nulls = nullBitmapOf(data);
  if (nulls !== undefined && !bitIsSet(nulls, data.offset + i)) return null;
  switch (type) {
    case ColumnType.INT64: {
      const v = (data.values as BigInt64Array)[i];
      return v <= MAX_EXACT_INT && v >= -MAX_EXACT_INT ? Number(v) : v.toString();
    }
    case ColumnType.FLOAT64: {
      const x = (data.values as Float64Array)[i];
      return Number.isFinite(x) ? x : String(x);
    }
    case ColumnType.BOOL:
      return bitIsSet(data.values as Uint8Array, data.offset + i);
    case ColumnType.STRING: {
      const offsets = data.valueOffsets as Int32Array;
      return (text as Buffer).toString("utf8", offsets[i], offsets[i + 1]);
    }
    case ColumnType.TIMESTAMP: {
      const ms = (data.values as BigInt64Array)[i];
      return ms <= MAX_DATE_MS && ms >= -MAX_DATE_MS ? new Date(Number(ms)).toISOString() : ms.toString();
    }
    case ColumnType.UNSPECIFIED:
      return null;
  }
}

function rowsOf(batch: RecordBatch, types: readonly ColumnType[], names: readonly string[]): JsonObject[] {
  const columns = batch.data.children;
  const texts = columns.map((data, c) => {
    if (types[c] !== ColumnType.STRING) return undefined;
    const bytes = data.values as Uint8Array;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  });
  const rows: JsonObject[] = [];
  for (let i = 0; i < batch.numRows; i++) {
    const row: JsonObject = {};
    for (let c = 0; c < columns.length; c++) {
      row[names[c]] = cell(types[c], columns[c], i, texts[c]);
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Reads a few rows as JSON objects (column name to value, in the requested column order),
 * for ReadDatasetRows. Same selection as {@link readArrow} (projection, split filter,
 * offset, limit); `limit` 0 or absent means 100 and more than 1000 is INVALID_ARGUMENT.
 * `batchRows` is ignored. See `cell` above for the JSON form of each type.
 */
export async function readRows(
  source: BatchSource,
  schema: Schema,
  options: ReadOptions = {},
): Promise<RowsResult> {
  const requested = options.limit ?? 0;
  if (requested > MAX_ROWS_LIMIT) {
    throw new InvalidArgumentError(`limit must be at most ${MAX_ROWS_LIMIT}, got ${requested}`);
  }
  const limit = requested === 0 ? DEFAULT_ROWS_LIMIT : requested;
  const plan = planRead(schema, { ...options, limit, batchRows: limit });
  const types = plan.columns.map((c) => c.type);
  const names = plan.columns.map((c) => c.name);
  const rows: JsonObject[] = [];
  for await (const batch of selectRows(source, plan)) rows.push(...rowsOf(batch, types, names));
  return { rows, schema: plan.schema };
}
