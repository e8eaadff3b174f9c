/** Text rendering of predictions for `seam predict`: the answering version, outputs per row, features used. Pure. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  DataType,
  type EntityFeatures,
  FeatureStatus,
  type PredictResponse,
  type Tensor,
} from "@seam/proto/seam/inference/v1/inference_pb";
import { formatNumber } from "./dataset-format.js";
import type { JoinKeys } from "./predict-args.js";

/** Longest table cell of an output with several values per row; longer ones are cut with "…". */
const MAX_CELL = 60;

/** A table: a header and its rows. */
export interface TextTable {
  readonly header: string[];
  readonly rows: string[][];
}

/** "iris:3 (champion)", or "iris:3" when the request named the version. */
export function formatAnswered(response: PredictResponse): string {
  const version = `${response.modelName}:${response.modelVersion}`;
  return response.route === "" ? version : `${version} (${response.route})`;
}

/** One element of a tensor as the table shows it. */
type Element = number | bigint | boolean | string;

/**
 * A tensor's elements, from its typed field or, when it came as raw little-endian bytes,
 * decoded from them (strings are never raw).
 */
export function tensorElements(tensor: Tensor): Element[] {
  const raw = tensor.raw;
  if (raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const read = (size: number, get: (at: number) => Element) =>
      Array.from({ length: Math.floor(raw.byteLength / size) }, (_, i) => get(i * size));
    switch (tensor.dataType) {
      case DataType.FLOAT32:
        return read(4, (at) => view.getFloat32(at, true));
      case DataType.FLOAT64:
        return read(8, (at) => view.getFloat64(at, true));
      case DataType.INT32:
        return read(4, (at) => view.getInt32(at, true));
      case DataType.INT64:
        return read(8, (at) => view.getBigInt64(at, true));
      case DataType.BOOL:
        return read(1, (at) => view.getUint8(at) !== 0);
      case DataType.STRING:
      case DataType.UNSPECIFIED:
        return [];
      default:
        // A data type added to the proto after this CLI was built.
        return [];
    }
  }
  switch (tensor.dataType) {
    case DataType.FLOAT32:
      return tensor.floatValues;
    case DataType.FLOAT64:
      return tensor.doubleValues;
    case DataType.INT32:
      return tensor.int32Values;
    case DataType.INT64:
      return tensor.int64Values;
    case DataType.BOOL:
      return tensor.boolValues;
    case DataType.STRING:
      return tensor.stringValues;
    case DataType.UNSPECIFIED:
      return [];
    default:
      return [];
  }
}

/**
 * An element for people: numbers with 6 significant digits, strings with line breaks and
 * tabs escaped (they would break the table), the empty string as "".
 */
export function formatElement(value: Element): string {
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "string") {
    return value === "" ? '""' : value.replace(/[\r\n\t]/g, (c) => JSON.stringify(c).slice(1, -1));
  }
  return String(value);
}

/**
 * A tensor's values per row: the first dimension is the rows; a row of one value shows
 * it, a row of several "[a, b, c]" (cut to 60 characters).
 */
export function tensorRows(tensor: Tensor): string[] {
  const elements = tensorElements(tensor);
  const shape = tensor.shape.map(Number);
  const rows = shape.length === 0 ? 1 : (shape[0] as number);
  if (rows <= 0) return [];
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: rows }, (_, r) => {
    const values = elements.slice(r * width, (r + 1) * width);
    if (width === 1 && values.length === 1) return formatElement(values[0] as Element);
    const text = `[${values.map(formatElement).join(", ")}]`;
    return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 2)}…]` : text;
  });
}

/**
 * The outputs as a table, one line per row: first the row number (rows) or the entity's
 * join keys (entities), then one column per output.
 */
export function outputsTable(response: PredictResponse, entities?: readonly JoinKeys[]): TextTable {
  const columns = response.outputs.map(tensorRows);
  const rowCount = Math.max(entities?.length ?? 0, ...columns.map((c) => c.length));
  const keyColumns = entities === undefined ? [] : [...new Set(entities.flatMap((e) => Object.keys(e)))];
  const leading = entities === undefined ? ["ROW"] : keyColumns;
  return {
    header: [...leading, ...response.outputs.map((t) => t.name)],
    rows: Array.from({ length: rowCount }, (_, r) => [
      ...(entities === undefined ? [String(r)] : keyColumns.map((k) => entities[r]?.[k] ?? "")),
      ...columns.map((c) => c[r] ?? ""),
    ]),
  };
}

/** "customer_id=1" or "store_id=7,sku=A1": an entity as `--entity` takes it. */
export function formatEntity(keys: JoinKeys | undefined): string {
  return Object.entries(keys ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** "PRESENT", "NOT_FOUND (imputed)", …: a feature's status as the features table shows it. */
export function formatFeatureStatus(status: FeatureStatus, imputed: boolean): string {
  const name = FeatureStatus[status] ?? `status ${status as number}`;
  return imputed ? `${name} (imputed)` : name;
}

/** The features a prediction by entity key used: one line per entity and model input. */
export function featuresTable(features: readonly EntityFeatures[], entities: readonly JoinKeys[]): TextTable {
  return {
    header: ["ENTITY", "INPUT", "FEATURE", "STATUS", "EVENT TIME"],
    rows: features.flatMap((used, i) =>
      used.features.map((f) => [
        formatEntity(entities[i]),
        f.input,
        f.feature,
        formatFeatureStatus(f.status, f.imputed),
        f.eventTime === undefined ? "-" : timestampDate(f.eventTime).toISOString(),
      ]),
    ),
  };
}
