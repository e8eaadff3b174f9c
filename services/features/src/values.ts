import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "@seam/kit/errors";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { FeatureValue, FeatureValueSchema } from "@seam/proto/seam/features/v1/features_pb";

// Feature values travel as FeatureValue messages, sit in the online store as text, and
// come out of Arrow columns as JS values. This module converts between the three, always
// by the feature's declared type, so a value never changes meaning on the way.

/** A feature value as read from an Arrow column of the canonical dataset types. */
export type ArrowValue = bigint | number | boolean | string | null;

/** The online store's text form of a non-null value of `type` read from Arrow. */
export function encodeArrowValue(type: ColumnType, value: ArrowValue): string | null {
  if (value === null) return null;
  switch (type) {
    case ColumnType.INT64:
      return String(value);
    case ColumnType.FLOAT64:
      return String(value);
    case ColumnType.BOOL:
      return value === true ? "1" : "0";
    case ColumnType.STRING:
      return String(value);
    case ColumnType.TIMESTAMP:
      return String(value);
    case ColumnType.UNSPECIFIED:
      throw new Error("a feature has no type");
  }
}

/**
 * The online store's text form of a pushed value for a feature of `type`; throws
 * INVALID_ARGUMENT (prefixed with `where`) when the value's kind does not fit the type.
 */
export function encodeFeatureValue(
  type: ColumnType,
  value: FeatureValue | undefined,
  where: string,
): string | null {
  const kind = value?.kind;
  if (kind === undefined || kind.case === undefined) return null;
  switch (type) {
    case ColumnType.INT64:
      if (kind.case === "int64Value") return kind.value.toString();
      break;
    case ColumnType.FLOAT64:
      if (kind.case === "doubleValue") {
        if (!Number.isFinite(kind.value))
          throw new InvalidArgumentError(`${where}: ${kind.value} is not a finite float64`);
        return String(kind.value);
      }
      if (kind.case === "int64Value") return String(Number(kind.value));
      break;
    case ColumnType.BOOL:
      if (kind.case === "boolValue") return kind.value ? "1" : "0";
      break;
    case ColumnType.STRING:
      if (kind.case === "stringValue") return kind.value;
      break;
    case ColumnType.TIMESTAMP:
      if (kind.case === "timestampValue") return String(timestampDate(kind.value).getTime());
      break;
    case ColumnType.UNSPECIFIED:
      break;
  }
  throw new InvalidArgumentError(
    `${where}: ${aTypeName(ColumnTypeOfKind[kind.case])} value does not fit ${aTypeName(type)} feature`,
  );
}

/** Decodes the online store's text form of a value of `type` into a FeatureValue init. */
export function decodeFeatureValue(
  type: ColumnType,
  text: string,
): MessageInitShape<typeof FeatureValueSchema> {
  switch (type) {
    case ColumnType.INT64:
      return { kind: { case: "int64Value", value: BigInt(text) } };
    case ColumnType.FLOAT64:
      return { kind: { case: "doubleValue", value: Number(text) } };
    case ColumnType.BOOL:
      return { kind: { case: "boolValue", value: text === "1" } };
    case ColumnType.STRING:
      return { kind: { case: "stringValue", value: text } };
    case ColumnType.TIMESTAMP:
      return { kind: { case: "timestampValue", value: timestampFromMs(Number(text)) } };
    case ColumnType.UNSPECIFIED:
      throw new Error("a feature has no type");
  }
}

/** The type's name with its article, for messages: "an int64", "a float64", … */
export function aTypeName(type: ColumnType): string {
  const name = typeName(type);
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

/** The type's name as people write it: "int64", "float64", … */
export function typeName(type: ColumnType): string {
  return ColumnType[type]?.toLowerCase() ?? `type ${type}`;
}

const ColumnTypeOfKind: Record<NonNullable<FeatureValue["kind"]["case"]>, ColumnType> = {
  int64Value: ColumnType.INT64,
  doubleValue: ColumnType.FLOAT64,
  boolValue: ColumnType.BOOL,
  stringValue: ColumnType.STRING,
  timestampValue: ColumnType.TIMESTAMP,
};
