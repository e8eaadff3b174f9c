import type { CategoricalTransform, NumericTransform } from "../model/trained-model.js";

/** One row of raw feature values keyed by column name; null (or an absent key) is missing. */
export type RawRow = Readonly<Record<string, number | string | null>>;

/**
 * The value a numeric column feeds the ONNX graph: the raw number, NaN when missing
 * (null, absent, NaN). A string here is a caller bug, not data to coerce.
 */
export function numericValue(row: RawRow, feature: NumericTransform): number {
  const value = row[feature.name];
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value !== "number") {
    throw new Error(`numeric feature "${feature.name}" got a ${typeof value}: ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The value a categorical column feeds the ONNX graph: the string, "" when missing (the
 * graph maps "" to the unknown slot, like any value outside the vocabulary). Numbers are
 * taken as their decimal string, as a CSV would give them.
 */
export function categoricalValue(row: RawRow, feature: CategoricalTransform): string {
  const value = row[feature.name];
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : String(value);
}
