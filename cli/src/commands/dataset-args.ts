/** Parsing of `seam datasets` arguments: references, schemas, splits, formats. Pure, so unit-tested. */
import { extname } from "node:path";
import { ColumnType, SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { UsageError } from "../args.js";

/** A dataset reference: `version` is "" for the latest version. */
export interface DatasetRef {
  readonly dataset: string;
  readonly version: string;
}

/** Parses "name" (latest version) or "name@id". */
export function parseDatasetRef(ref: string | undefined, command: string): DatasetRef {
  if (ref === undefined || ref === "")
    throw new UsageError(`${command} needs a dataset: <name> or <name@id>`);
  const at = ref.indexOf("@");
  if (at < 0) return { dataset: ref, version: "" };
  const dataset = ref.slice(0, at);
  const version = ref.slice(at + 1);
  if (dataset === "" || version === "")
    throw new UsageError(`"${ref}" is not a dataset reference: use <name> or <name@id>`);
  return { dataset, version };
}

const TYPES: Readonly<Record<string, ColumnType>> = {
  int64: ColumnType.INT64,
  int: ColumnType.INT64,
  float64: ColumnType.FLOAT64,
  float: ColumnType.FLOAT64,
  double: ColumnType.FLOAT64,
  bool: ColumnType.BOOL,
  boolean: ColumnType.BOOL,
  string: ColumnType.STRING,
  str: ColumnType.STRING,
  timestamp: ColumnType.TIMESTAMP,
};

/**
 * The column type a CLI type name stands for ("int64", "int", "float", "boolean", "str", …;
 * any case), or undefined for an unknown name.
 */
export function columnTypeOf(name: string): ColumnType | undefined {
  return Object.hasOwn(TYPES, name.toLowerCase()) ? TYPES[name.toLowerCase()] : undefined;
}

/** A column of an explicit schema, as UploadMetadata takes it. */
export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
}

/**
 * Parses `--schema col:type[?],...`: types int64, float64, bool, string, timestamp (or
 * int, float, double, boolean, str); a trailing "?" makes the column nullable. The type
 * follows the last ":", so column names may contain ":".
 */
export function parseSchema(spec: string): ColumnSpec[] {
  const columns: ColumnSpec[] = [];
  const seen = new Set<string>();
  for (const item of spec.split(",")) {
    const colon = item.lastIndexOf(":");
    const name = colon < 0 ? "" : item.slice(0, colon).trim();
    let type = colon < 0 ? "" : item.slice(colon + 1).trim();
    if (name === "" || type === "")
      throw new UsageError(`--schema: "${item}" is not col:type (e.g. "age:int64?")`);
    const nullable = type.endsWith("?");
    if (nullable) type = type.slice(0, -1);
    const columnType = columnTypeOf(type);
    if (columnType === undefined) {
      throw new UsageError(
        `--schema: unknown type "${type}" of column "${name}"; use int64, float64, bool, string or timestamp`,
      );
    }
    if (seen.has(name)) throw new UsageError(`--schema: column "${name}" appears twice`);
    seen.add(name);
    columns.push({ name, type: columnType, nullable });
  }
  return columns;
}

/** A split assignment, as UploadMetadata takes it. */
export interface SplitSpecInit {
  readonly seed: bigint;
  readonly trainFraction: number;
  readonly validationFraction: number;
  readonly testFraction: number;
  readonly keyColumn: string;
}

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * Parses `--split seed:train/val/test[:key]`, e.g. "42:0.8/0.1/0.1:user_id". The shares
 * are fractions adding up to 1, or percentages adding up to 100 ("42:80/10/10").
 */
export function parseSplit(spec: string): SplitSpecInit {
  const first = spec.indexOf(":");
  const second = first < 0 ? -1 : spec.indexOf(":", first + 1);
  const seedText = first < 0 ? spec : spec.slice(0, first);
  const sharesText = first < 0 ? "" : spec.slice(first + 1, second < 0 ? undefined : second);
  const keyColumn = second < 0 ? "" : spec.slice(second + 1);
  const usage = `--split takes seed:train/val/test[:key_column], e.g. "42:0.8/0.1/0.1" or "7:80/10/10:user_id", got "${spec}"`;
  if (!/^[0-9]{1,20}$/.test(seedText) || BigInt(seedText) > MAX_UINT64) throw new UsageError(usage);
  const shares = sharesText
    .split("/")
    .map((s) => (/^[0-9]*\.?[0-9]+$/.test(s.trim()) ? Number(s) : Number.NaN));
  if (shares.length !== 3 || shares.some((s) => !Number.isFinite(s)) || (second >= 0 && keyColumn === ""))
    throw new UsageError(usage);
  const sum = shares.reduce((a, b) => a + b, 0);
  // Percentages are what people type; the service wants fractions.
  const scale = Math.abs(sum - 100) < 1e-6 ? 100 : 1;
  if (Math.abs(sum / scale - 1) > 1e-6) {
    throw new UsageError(
      `--split: the shares add up to ${sum}; they must add up to 1 (or 100 as percentages)`,
    );
  }
  const [train = 0, validation = 0, test = 0] = shares.map((s) => s / scale);
  return {
    seed: BigInt(seedText),
    trainFraction: train,
    validationFraction: validation,
    testFraction: test,
    keyColumn,
  };
}

const EXTENSIONS: Readonly<Record<string, SourceFormat>> = {
  ".csv": SourceFormat.CSV,
  ".tsv": SourceFormat.CSV,
  ".ndjson": SourceFormat.NDJSON,
  ".jsonl": SourceFormat.NDJSON,
  ".arrow": SourceFormat.ARROW_IPC,
  ".arrows": SourceFormat.ARROW_IPC,
  ".ipc": SourceFormat.ARROW_IPC,
};

const FORMATS: Readonly<Record<string, SourceFormat>> = {
  csv: SourceFormat.CSV,
  ndjson: SourceFormat.NDJSON,
  arrow: SourceFormat.ARROW_IPC,
};

/** The upload format: `--format csv|ndjson|arrow`, else guessed from the file's extension. */
export function parseFormat(option: string | undefined, file: string): SourceFormat {
  if (option !== undefined) {
    const format = FORMATS[option.toLowerCase()];
    if (format === undefined) throw new UsageError(`--format must be csv, ndjson or arrow, got "${option}"`);
    return format;
  }
  const format = EXTENSIONS[extname(file).toLowerCase()];
  if (format === undefined) {
    throw new UsageError(
      `cannot tell the format of "${file}" from its extension: pass --format csv, ndjson or arrow`,
    );
  }
  return format;
}

/**
 * The CSV delimiter: `--delimiter C` (one character; "\t" or "tab" for a tab), else a tab
 * for .tsv files and "" (the service's default ",") for anything else.
 */
export function parseDelimiter(option: string | undefined, file: string): string {
  if (option === undefined) return extname(file).toLowerCase() === ".tsv" ? "\t" : "";
  const delimiter = option === "\\t" || option.toLowerCase() === "tab" ? "\t" : option;
  if ([...delimiter].length !== 1 || /["\r\n]/.test(delimiter))
    throw new UsageError(`--delimiter takes one character other than a quote or line break, got "${option}"`);
  return delimiter;
}

/** Parses `--columns a,b` into names; undefined or "" means every column. */
export function parseColumnList(option: string | undefined): string[] {
  if (option === undefined || option.trim() === "") return [];
  const columns = option.split(",").map((c) => c.trim());
  if (columns.some((c) => c === ""))
    throw new UsageError(`--columns takes names separated by ",", got "${option}"`);
  return columns;
}

/** Parses `-n`: a whole number of rows from 1 to `max`. */
export function parseRowLimit(option: string | undefined, fallback: number, max: number): number {
  if (option === undefined) return fallback;
  if (!/^[0-9]+$/.test(option) || Number(option) < 1 || Number(option) > max)
    throw new UsageError(`-n takes a number of rows from 1 to ${max}, got "${option}"`);
  return Number(option);
}
