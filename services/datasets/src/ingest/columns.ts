import { create } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@seam/kit/errors";
import {
  ColumnSchema,
  ColumnType,
  type Schema,
  SchemaSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  Schema as ArrowSchema,
  Bool,
  type DataType,
  Field,
  Float64,
  Int64,
  TimestampMillisecond,
  Utf8,
} from "apache-arrow";

/** One column of the canonical output: name, logical type, nullability. */
export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
}

/** The word used for a type in error messages ("int64", "timestamp", ...): the enum name in lower case. */
export function typeName(type: ColumnType): string {
  return ColumnType[type].toLowerCase();
}

/** Converts our columns to the datasets_pb Schema message. */
export function toProtoSchema(columns: readonly ColumnSpec[]): Schema {
  return create(SchemaSchema, {
    columns: columns.map((c) => create(ColumnSchema, { name: c.name, type: c.type, nullable: c.nullable })),
  });
}

/**
 * Validates an explicit schema: at least one column, names unique and not empty, every
 * type set. Returns undefined for an absent or empty schema (which means "infer").
 */
export function explicitColumns(schema: Schema | undefined): ColumnSpec[] | undefined {
  if (schema === undefined || schema.columns.length === 0) return undefined;
  const seen = new Map<string, number>();
  return schema.columns.map((c, i) => {
    if (c.name === "") throw new InvalidArgumentError(`schema: column ${i + 1} has an empty name`);
    const first = seen.get(c.name);
    if (first !== undefined) {
      throw new InvalidArgumentError(
        `schema: duplicate column name "${c.name}" (columns ${first + 1} and ${i + 1})`,
      );
    }
    seen.set(c.name, i);
    if (typeName(c.type) === "unspecified") {
      throw new InvalidArgumentError(`schema: column "${c.name}" has no type`);
    }
    return { name: c.name, type: c.type, nullable: c.nullable };
  });
}

function arrowType(type: ColumnType): DataType {
  switch (type) {
    case ColumnType.INT64:
      return new Int64();
    case ColumnType.FLOAT64:
      return new Float64();
    case ColumnType.BOOL:
      return new Bool();
    case ColumnType.TIMESTAMP:
      return new TimestampMillisecond("UTC");
    case ColumnType.STRING:
    case ColumnType.UNSPECIFIED:
      return new Utf8();
  }
}

/** The Arrow schema of the canonical stream; no metadata, so its bytes depend on the columns only. */
export function toArrowSchema(columns: readonly ColumnSpec[]): ArrowSchema {
  return new ArrowSchema(columns.map((c) => new Field(c.name, arrowType(c.type), c.nullable)));
}

/**
 * Checks that the names found in the data (CSV header, Arrow schema) are the schema's
 * columns in the schema's order, and otherwise says exactly what differs.
 */
export function checkNamesMatch(
  where: string,
  found: readonly string[],
  columns: readonly ColumnSpec[],
): void {
  const expected = columns.map((c) => c.name);
  if (found.length === expected.length && found.every((n, i) => n === expected[i])) return;
  const foundSet = new Set(found);
  const expectedSet = new Set(expected);
  const missing = expected.filter((n) => !foundSet.has(n));
  const unexpected = found.filter((n) => !expectedSet.has(n));
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`missing ${missing.map((n) => `"${n}"`).join(", ")}`);
  if (unexpected.length > 0) parts.push(`unexpected ${unexpected.map((n) => `"${n}"`).join(", ")}`);
  if (parts.length === 0) {
    parts.push(`columns out of order: found ${found.join(", ")}; the schema has ${expected.join(", ")}`);
  }
  throw new InvalidArgumentError(`${where}: the columns do not match the schema: ${parts.join("; ")}`);
}
