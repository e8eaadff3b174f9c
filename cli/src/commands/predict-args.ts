/**
 * Parsing of `seam predict` arguments: the model, rows of named values (inline JSON or a
 * JSON file) or entity keys, and the request's options. Pure but for reading an input
 * file, so unit-tested.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { JsonObject } from "@bufbuild/protobuf";
import { MissingFeaturePolicy } from "@seam/proto/seam/inference/v1/inference_pb";
import { InputError, UsageError } from "../args.js";

/** One entity's join keys, as text ("42" for an int64 key). */
export type JoinKeys = Record<string, string>;

/** Where the rows of a `--input` come from. */
export type RowsSource =
  /** JSON given on the command line. */
  | { readonly kind: "inline"; readonly text: string }
  /** `--input @path`: a JSON file. */
  | { readonly kind: "file"; readonly path: string };

/** What `seam predict` was asked to do. */
export interface PredictCommand {
  /** "name", "name@alias" or "name:version". */
  readonly model: string;
  /** Exactly one of rows (to read) and entities. */
  readonly input:
    | { readonly kind: "rows"; readonly source: RowsSource }
    | { readonly kind: "entities"; readonly entities: readonly JoinKeys[] };
  readonly requestId: string;
  /** Outputs to return; all when empty. */
  readonly outputs: readonly string[];
  readonly missingFeatures: MissingFeaturePolicy;
  /** Print the response as proto JSON. */
  readonly json: boolean;
}

const EXAMPLE = `seam predict iris --input '{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}'`;

/** Parses the arguments of `seam predict` (the ones after "predict"). */
export function parsePredictArgs(argv: string[]): PredictCommand {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      input: { type: "string" },
      entity: { type: "string", multiple: true },
      output: { type: "string", multiple: true },
      "missing-features": { type: "string" },
      "request-id": { type: "string" },
      json: { type: "boolean" },
    },
  });
  const model = positionals[0];
  if (model === undefined || model === "") throw new UsageError(`predict needs a model, e.g. ${EXAMPLE}`);
  if (positionals.length > 1)
    throw new UsageError(
      `predict takes one model, got "${positionals.join(" ")}" (quote the --input JSON so the shell keeps it one argument)`,
    );
  const entities = values.entity ?? [];
  if (values.input !== undefined && entities.length > 0)
    throw new UsageError("give --input (rows of values) or --entity (entity keys), not both");
  if (values.input === undefined && entities.length === 0)
    throw new UsageError(`predict needs --input JSON or --entity key=value, e.g. ${EXAMPLE}`);
  const missing = values["missing-features"];
  if (missing !== undefined && entities.length === 0)
    throw new UsageError("--missing-features applies to predictions by --entity only");
  return {
    model,
    input:
      values.input === undefined
        ? { kind: "entities", entities: parsePredictEntities(entities) }
        : { kind: "rows", source: parseRowsSource(values.input) },
    requestId: values["request-id"] ?? "",
    outputs: parseOutputNames(values.output),
    missingFeatures: parseMissingFeatures(missing),
    json: values.json === true,
  };
}

/** `--input @path` names a file; anything else is the JSON itself. */
export function parseRowsSource(raw: string): RowsSource {
  if (!raw.startsWith("@")) return { kind: "inline", text: raw };
  const path = raw.slice(1);
  if (path === "") throw new UsageError('--input @FILE needs a file name after "@", e.g. --input @rows.json');
  return { kind: "file", path };
}

/**
 * Parses the rows of a prediction from JSON text: one object of named values (one row) or
 * an array of them. Values are numbers, strings, booleans, null (a missing value) or
 * arrays of them (an input of several values per row); the server checks them against
 * the model's inputs. `where` names the text in messages.
 */
export function parseRows(text: string, where: string): JsonObject[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const rows = Array.isArray(parsed) ? parsed : [parsed];
  if (rows.length === 0) throw new Error(`${where}: an empty list; give at least one row`);
  rows.forEach((row: unknown, i) => {
    const at = Array.isArray(parsed) ? `${where}: row ${i}` : where;
    if (typeof row !== "object" || row === null || Array.isArray(row)) {
      throw new Error(
        `${at}: expected an object of named values like {"x": 1.5}, got ${row === null ? "null" : Array.isArray(row) ? "a list" : `${typeof row} ${JSON.stringify(row)}`}`,
      );
    }
  });
  return rows as JsonObject[];
}

/**
 * The rows of a `--input`: inline JSON (a mistake in it is a usage error) or a file's
 * (an input error: the command line was right).
 */
export async function loadRows(
  source: RowsSource,
  read: (path: string) => Promise<string> = (path) => readFile(path, "utf8"),
): Promise<JsonObject[]> {
  if (source.kind === "inline") {
    try {
      return parseRows(source.text, "--input");
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  let text: string;
  try {
    text = await read(source.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "a directory" : (err as Error).message;
    throw new InputError(`--input @${source.path}: ${why}`);
  }
  try {
    return parseRows(text, source.path);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

/**
 * Parses repeated `--entity key=value[,key=value]` options, as `seam features get` does:
 * one entity per option, its join keys separated by ","; repeat the option for more
 * entities. Values are text, as the feature store takes them ("42" for an int64 key).
 */
export function parsePredictEntities(values: readonly string[]): JoinKeys[] {
  return values.map((spec) => {
    const keys: JoinKeys = {};
    for (const part of spec.split(",")) {
      const eq = part.indexOf("=");
      const key = eq < 0 ? "" : part.slice(0, eq).trim();
      if (key === "") {
        throw new UsageError(
          `--entity takes key=value pairs separated by "," (e.g. "user_id=42" or "store_id=7,sku=A1"), got "${spec}"`,
        );
      }
      if (Object.hasOwn(keys, key))
        throw new UsageError(`--entity "${spec}": join key "${key}" appears twice`);
      keys[key] = part.slice(eq + 1).trim();
    }
    return keys;
  });
}

/** Repeated `--output NAME` options, each possibly "a,b". */
export function parseOutputNames(values: readonly string[] | undefined): string[] {
  const names = (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim());
  if (names.some((n) => n === "")) throw new UsageError("--output takes output names, e.g. --output score");
  return [...new Set(names)];
}

/** `--missing-features reject|impute`; unspecified (the model's declaration) when absent. */
export function parseMissingFeatures(raw: string | undefined): MissingFeaturePolicy {
  switch (raw?.toLowerCase()) {
    case undefined:
      return MissingFeaturePolicy.UNSPECIFIED;
    case "reject":
      return MissingFeaturePolicy.REJECT;
    case "impute":
      return MissingFeaturePolicy.IMPUTE;
    default:
      throw new UsageError(`--missing-features takes reject or impute, got "${raw}"`);
  }
}
