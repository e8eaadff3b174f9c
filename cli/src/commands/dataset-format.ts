/** Text rendering of datasets for `seam datasets`: types, numbers, cells, statistics, histograms. Pure. */
import type { JsonValue } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type ColumnStats,
  ColumnType,
  type Histogram,
  type Schema,
  SourceFormat,
  type SplitSpec,
} from "@seam/proto/seam/datasets/v1/datasets_pb";

const MAX_CELL = 40;
const HISTOGRAM_WIDTH = 30;
// Eighths of a block, so short bars still differ: index n draws n/8 of a cell.
const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/** The CLI's name of a column type (what `--schema` accepts): the proto enum name in lower case. */
export function typeName(type: ColumnType): string {
  // A type added to the proto after this CLI was built has no name here yet.
  return ColumnType[type]?.toLowerCase() ?? `type ${type as number}`;
}

/** The CLI's name of an upload format (what `--format` accepts). */
export function formatName(format: SourceFormat): string {
  switch (format) {
    case SourceFormat.CSV:
      return "csv";
    case SourceFormat.NDJSON:
      return "ndjson";
    case SourceFormat.ARROW_IPC:
      return "arrow";
    case SourceFormat.UNSPECIFIED:
      return "-";
    default:
      return `format ${format as number}`;
  }
}

/** "a:int64, b:string?" — a schema on one line. */
export function formatSchema(schema: Schema | undefined): string {
  const columns = schema?.columns ?? [];
  if (columns.length === 0) return "-";
  return columns.map((c) => `${c.name}:${typeName(c.type)}${c.nullable ? "?" : ""}`).join(", ");
}

/** "seed 42, 80/10/10 by user_id" — a split spec on one line. */
export function formatSplitSpec(spec: SplitSpec): string {
  const pct = (f: number) => formatNumber(f * 100);
  const key = spec.keyColumn === "" ? "by row" : `by ${spec.keyColumn}`;
  return `seed ${spec.seed}, ${pct(spec.trainFraction)}/${pct(spec.validationFraction)}/${pct(spec.testFraction)} ${key}`;
}

/** A number for people: integers in full, others with 6 significant digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e15)) return value.toExponential(4);
  return String(Number(value.toPrecision(6)));
}

/**
 * One table cell of a JSON row value: null as "null", strings with line breaks and tabs
 * escaped (they would break the table) and cut to 40 characters, objects as JSON.
 */
export function formatCell(value: JsonValue | undefined): string {
  if (value === null || value === undefined) return "null";
  let text: string;
  if (typeof value === "string") text = value.replace(/[\r\n\t]/g, (c) => JSON.stringify(c).slice(1, -1));
  else if (typeof value === "number") text = formatNumber(value);
  else if (typeof value === "boolean") text = String(value);
  else text = JSON.stringify(value);
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…` : text;
}

/** A statistics table: a header and one row. */
export interface StatsTable {
  readonly header: string[];
  readonly row: string[];
}

/**
 * The statistics of one column as a one-row table: count and nulls, then per kind min,
 * max, mean, stddev (numbers), distinct and lengths (strings), true/false (bools) or
 * the time range (timestamps).
 */
export function columnStatsTable(stats: ColumnStats): StatsTable {
  const header = ["COUNT", "NULLS"];
  const row = [String(stats.count), String(stats.nullCount)];
  const kind = stats.kind;
  switch (kind.case) {
    case "numeric":
      header.push("MIN", "MAX", "MEAN", "STDDEV");
      row.push(
        formatNumber(kind.value.min),
        formatNumber(kind.value.max),
        formatNumber(kind.value.mean),
        formatNumber(kind.value.stddev),
      );
      break;
    case "string":
      header.push("DISTINCT", "MIN LEN", "MAX LEN");
      row.push(
        `${kind.value.distinctExact ? "" : "~"}${kind.value.distinctCount}`,
        String(kind.value.minLength),
        String(kind.value.maxLength),
      );
      break;
    case "bool":
      header.push("TRUE", "FALSE");
      row.push(String(kind.value.trueCount), String(kind.value.falseCount));
      break;
    case "timestamp":
      header.push("MIN", "MAX");
      row.push(
        kind.value.min === undefined ? "-" : timestampDate(kind.value.min).toISOString(),
        kind.value.max === undefined ? "-" : timestampDate(kind.value.max).toISOString(),
      );
      break;
    case undefined:
      break;
  }
  return { header, row };
}

/**
 * A histogram as text, one line per bin: its range, a bar scaled to the fullest bin
 * (`width` cells, in eighths) and its count. Bins are [lo, hi), the last one [lo, hi].
 */
export function formatHistogram(histogram: Histogram, width = HISTOGRAM_WIDTH): string[] {
  const { boundaries, counts } = histogram;
  if (counts.length === 0 || boundaries.length !== counts.length + 1) return [];
  const max = Math.max(0, ...counts.map(Number));
  const ranges = counts.map((_, i) => {
    const close = i === counts.length - 1 ? "]" : ")";
    return `[${formatNumber(boundaries[i] ?? 0)}, ${formatNumber(boundaries[i + 1] ?? 0)}${close}`;
  });
  const rangeWidth = Math.max(...ranges.map((r) => r.length));
  return counts.map((count, i) => {
    const scaled = max === 0 ? 0 : Math.round((Number(count) / max) * width * 8);
    // A bin with any value at all gets a sliver, so it never reads as empty.
    const eighths = count > 0n ? Math.max(1, scaled) : 0;
    const bar = "█".repeat(Math.floor(eighths / 8)) + (EIGHTHS[eighths % 8] ?? "");
    return `${(ranges[i] ?? "").padEnd(rangeWidth)}  ${bar.padEnd(width)}  ${count}`;
  });
}
