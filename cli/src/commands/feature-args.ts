/** Parsing of `seam features` arguments and definition files. Pure (but for reading the file), so unit-tested. */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { type DescMessage, fromJson, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  type Entity,
  EntitySchema,
  type FeatureService,
  FeatureServiceSchema,
  type FeatureView,
  FeatureViewSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import { isNode, LineCounter, parseDocument, type YAMLError } from "yaml";
import { InputError, UsageError } from "../args.js";
import { columnTypeOf } from "./dataset-args.js";

/** The definitions of a file, ready for ApplyDefinitionsRequest. */
export interface DefinitionsFile {
  readonly entities: Entity[];
  readonly featureViews: FeatureView[];
  readonly featureServices: FeatureService[];
}

/** The lists a definitions file may hold, by either spelling (proto name, JSON name). */
const LISTS = {
  entities: "entities",
  feature_views: "featureViews",
  featureViews: "featureViews",
  feature_services: "featureServices",
  featureServices: "featureServices",
} as const;

type ListName = (typeof LISTS)[keyof typeof LISTS];

/** Reads and parses a definitions file (see {@link parseDefinitions}). */
export async function loadDefinitionsFile(file: string): Promise<DefinitionsFile> {
  return parseDefinitions(await readFile(file, "utf8"), file);
}

/**
 * Parses the text of a definitions file: a mapping with `entities`, `feature_views` and
 * `feature_services` lists holding definitions in the proto's JSON form (snake_case or
 * lowerCamel field names; a ttl as "7200s"). A `.json` file is read as JSON, any other as
 * YAML. Column types may be written "int64", "INT64" or "COLUMN_TYPE_INT64" (or the CLI's
 * aliases: int, float, double, boolean, str). Throws {@link InputError} naming the file and
 * the place of the first problem: a syntax error's line and column, a definition's index
 * (and, in YAML, its line).
 */
export function parseDefinitions(text: string, file: string): DefinitionsFile {
  const { document, lineOf } = parseDocumentText(text, file);
  if (document === null || document === undefined)
    throw new InputError(`${file} is empty: give entities, feature_views or feature_services`);
  if (!isRecord(document)) {
    throw new InputError(
      `${file}: expected a mapping with entities, feature_views and feature_services lists, got ${describeValue(document)}`,
    );
  }
  const lists: Record<ListName, unknown[]> = { entities: [], featureViews: [], featureServices: [] };
  const seen = new Map<ListName, string>();
  for (const [key, value] of Object.entries(document)) {
    const list = Object.hasOwn(LISTS, key) ? LISTS[key as keyof typeof LISTS] : undefined;
    if (list === undefined) {
      const hint = key === "dry_run" || key === "dryRun" ? " (pass --dry-run instead)" : "";
      throw new InputError(
        `${file}: unknown key "${key}"${hint}; a definitions file holds entities, feature_views and feature_services`,
      );
    }
    const other = seen.get(list);
    if (other !== undefined) throw new InputError(`${file}: "${other}" and "${key}" are the same list`);
    seen.set(list, key);
    if (value === null) continue;
    if (!Array.isArray(value))
      throw new InputError(`${file}: ${key} must be a list, got ${describeValue(value)}`);
    lists[list] = value;
  }
  // "defs.yaml: line 12: feature_views[1]" (the line only when the parser knows it).
  const where = (list: ListName, i: number) => {
    const key = seen.get(list) ?? snakeName(list);
    const line = lineOf(key, i);
    return `${file}:${line === undefined ? "" : ` line ${line}:`} ${key}[${i}]`;
  };
  const definitions: DefinitionsFile = {
    entities: lists.entities.map((item, i) =>
      decode(EntitySchema, item, where("entities", i), normalizeEntityJson),
    ),
    featureViews: lists.featureViews.map((item, i) =>
      decode(FeatureViewSchema, item, where("featureViews", i), normalizeViewJson),
    ),
    featureServices: lists.featureServices.map((item, i) =>
      decode(FeatureServiceSchema, item, where("featureServices", i), (json) => json),
    ),
  };
  if (
    definitions.entities.length + definitions.featureViews.length + definitions.featureServices.length ===
    0
  ) {
    throw new InputError(`${file} defines nothing: give entities, feature_views or feature_services`);
  }
  return definitions;
}

/** A parsed file and, for YAML, the line each list item starts on. */
interface ParsedText {
  readonly document: unknown;
  readonly lineOf: (key: string, index: number) => number | undefined;
}

function parseDocumentText(text: string, file: string): ParsedText {
  if (extname(file).toLowerCase() === ".json") {
    try {
      return { document: JSON.parse(text) as unknown, lineOf: () => undefined };
    } catch (err) {
      throw new InputError(`${file}: not valid JSON: ${jsonErrorText(text, err)}`);
    }
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const [error] = doc.errors;
  if (error !== undefined) throw new InputError(`${file}:${yamlErrorText(error)}`);
  return {
    document: doc.toJS() as unknown,
    lineOf: (key, index) => {
      const node = doc.getIn([key, index], true);
      const start = isNode(node) ? node.range?.[0] : undefined;
      return start === undefined ? undefined : lineCounter.linePos(start).line;
    },
  };
}

/** " line L, column C: not valid YAML: <what>" and the parser's excerpt with its caret. */
function yamlErrorText(error: YAMLError): string {
  // The message reads "<what> at line L, column C:\n\n<excerpt with a caret>".
  const [headline = error.message, excerpt = ""] = error.message.split(/:\n\n/, 2);
  const what = headline.replace(/ at line \d+, column \d+$/, "");
  const at = error.linePos?.[0];
  const where = at === undefined ? "" : ` line ${at.line}, column ${at.col}:`;
  const shown = excerpt.trimEnd() === "" ? "" : `\n${indent(excerpt.trimEnd())}`;
  return `${where} not valid YAML: ${what}${shown}`;
}

/** JSON.parse's message with the line and column of its "position N" (Node 20 gives only the offset). */
function jsonErrorText(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const position = /at position (\d+)/.exec(message);
  if (position === null || /\(line \d+ column \d+\)/.test(message)) return message;
  const before = text.slice(0, Number(position[1]));
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return `${message} (line ${line}, column ${column})`;
}

/** fromJson of one definition, its errors prefixed with where it is (and its name, when it has one). */
function decode<S extends DescMessage>(
  schema: S,
  item: unknown,
  where: string,
  normalize: (json: Record<string, unknown>, where: string) => Record<string, unknown>,
): MessageShape<S> {
  const named = isRecord(item) && typeof item.name === "string" ? ` (${item.name})` : "";
  if (!isRecord(item)) throw new InputError(`${where}: expected a mapping, got ${describeValue(item)}`);
  try {
    return fromJson(schema, normalize(item, `${where}${named}`) as JsonValue);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const hint = message.includes("google.protobuf.Duration")
      ? ' (a duration is seconds with an "s": "7200s")'
      : "";
    throw new InputError(`${where}${named}: ${message}${hint}`);
  }
}

function normalizeEntityJson(json: Record<string, unknown>, where: string): Record<string, unknown> {
  return normalizeListTypes(json, ["join_keys", "joinKeys"], where);
}

function normalizeViewJson(json: Record<string, unknown>, where: string): Record<string, unknown> {
  return normalizeListTypes(json, ["features"], where);
}

/** A copy of `json` whose lists under `keys` have their items' `type` in the proto's enum spelling. */
function normalizeListTypes(
  json: Record<string, unknown>,
  keys: readonly string[],
  where: string,
): Record<string, unknown> {
  const copy = { ...json };
  for (const key of keys) {
    const list = copy[key];
    if (!Array.isArray(list)) continue;
    copy[key] = list.map((item: unknown, i) =>
      isRecord(item) && "type" in item
        ? { ...item, type: normalizeColumnType(item.type, `${where}.${key}[${i}].type`) }
        : item,
    );
  }
  return copy;
}

/**
 * A column type as the proto's JSON names it ("COLUMN_TYPE_INT64") from "int64", "INT64",
 * "COLUMN_TYPE_INT64" or an alias; anything that is not a string is left to fromJson.
 */
export function normalizeColumnType(type: unknown, where: string): unknown {
  if (typeof type !== "string") return type;
  const bare = type.replace(/^COLUMN_TYPE_/i, "");
  const columnType = columnTypeOf(bare);
  if (columnType === undefined) {
    if (bare.toUpperCase() === "UNSPECIFIED") return "COLUMN_TYPE_UNSPECIFIED";
    throw new InputError(
      `${where}: unknown column type ${JSON.stringify(type)}; use int64, float64, bool, string or timestamp`,
    );
  }
  return `COLUMN_TYPE_${ColumnType[columnType]}`;
}

/** One EntityRow's join keys. */
export type JoinKeys = Record<string, string>;

/**
 * Parses repeated `--entity key=value[,key=value]` options: one entity per option, its
 * join keys separated by ",". Values are text, as EntityRow takes them ("42" for an int64).
 */
export function parseEntities(values: readonly string[] | undefined): JoinKeys[] {
  if (values === undefined || values.length === 0)
    throw new UsageError('get needs at least one --entity key=value (e.g. "--entity driver_id=1")');
  return values.map((spec) => {
    const keys: JoinKeys = {};
    for (const part of spec.split(",")) {
      const eq = part.indexOf("=");
      const key = eq < 0 ? "" : part.slice(0, eq).trim();
      if (key === "") {
        throw new UsageError(
          `--entity takes key=value pairs separated by "," (e.g. "driver_id=1,zone=eu"), got "${spec}"`,
        );
      }
      if (Object.hasOwn(keys, key))
        throw new UsageError(`--entity "${spec}": join key "${key}" appears twice`);
      keys[key] = part.slice(eq + 1).trim();
    }
    return keys;
  });
}

/** The features a `get` reads: a feature service, or "view:feature" references. */
export type FeatureSelection =
  | { readonly case: "featureService"; readonly value: string }
  | { readonly case: "features"; readonly value: { readonly refs: string[] } };

/** Parses `--service S` or repeated `--feature view:feature` (also "view:*", or several separated by ","). */
export function parseSelection(
  service: string | undefined,
  features: readonly string[] | undefined,
): FeatureSelection {
  const refs = (features ?? []).flatMap((f) => f.split(",")).map((f) => f.trim());
  if (service !== undefined && refs.length > 0) throw new UsageError("give --service or --feature, not both");
  if (service !== undefined) {
    if (service === "") throw new UsageError("--service needs a feature service name");
    return { case: "featureService", value: service };
  }
  if (refs.length === 0) throw new UsageError("get needs --service <name> or --feature <view:feature>");
  for (const ref of refs) {
    const colon = ref.indexOf(":");
    if (colon <= 0 || colon === ref.length - 1 || ref.indexOf(":", colon + 1) >= 0)
      throw new UsageError(`--feature takes "view:feature" or "view:*", got "${ref}"`);
  }
  return { case: "features", value: { refs } };
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Parses an ISO 8601 time option: a date ("2024-05-01", midnight UTC) or a date and time
 * with "Z" or an offset. A time without a zone is refused: it would depend on the machine.
 */
export function parseTimeOption(raw: string | undefined, option: string): Timestamp | undefined {
  if (raw === undefined) return undefined;
  const usage = `--${option} takes an ISO 8601 date or time with a zone, e.g. "2024-05-01" or "2024-05-01T12:00:00Z", got "${raw}"`;
  if (!ISO_DATE.test(raw) && !ISO_DATE_TIME.test(raw)) throw new UsageError(usage);
  const ms = Date.parse(ISO_DATE.test(raw) ? `${raw}T00:00:00Z` : raw);
  // Date.parse rolls "2024-02-30" over into March instead of refusing it.
  const [year, month, day] = raw.slice(0, 10).split("-").map(Number) as [number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (Number.isNaN(ms) || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day)
    throw new UsageError(usage);
  return timestampFromMs(ms);
}

/** The kinds of definition, as `seam features list` and `show` name them. */
export type DefinitionKind = "entity" | "view" | "service";

const KINDS: Readonly<Record<string, DefinitionKind>> = {
  entity: "entity",
  entities: "entity",
  view: "view",
  views: "view",
  feature_view: "view",
  feature_views: "view",
  "feature-view": "view",
  "feature-views": "view",
  service: "service",
  services: "service",
  feature_service: "service",
  feature_services: "service",
  "feature-service": "service",
  "feature-services": "service",
};

/** Parses a definition kind: entity, view or service (singular or plural, or the proto's names). */
export function parseDefinitionKind(raw: string | undefined, command: string): DefinitionKind {
  const kind =
    raw === undefined || !Object.hasOwn(KINDS, raw.toLowerCase()) ? undefined : KINDS[raw.toLowerCase()];
  if (kind === undefined) {
    throw new UsageError(
      raw === undefined
        ? `${command} needs a kind: entity, view or service`
        : `unknown kind "${raw}": use entity, view or service`,
    );
  }
  return kind;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}

function snakeName(list: ListName): string {
  return list.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
