import { InvalidArgumentError } from "@seam/kit/errors";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";

// The canonical entity key names one entity instance in the online store:
// "name=value" per join key, sorted by name, joined with ",". Values are escaped so no
// value can forge a separator or end the Redis Cluster hash tag ("{…}") early, and int64
// values are normalised ("042" and "42" are the same user).

/** A join key of a view: its column name and type (int64 or string). */
export interface JoinKeySpec {
  readonly name: string;
  readonly type: ColumnType;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER = /^[+-]?\d{1,19}$/;

/** Sorts join keys by name, the order entity keys list them in. */
export function sortJoinKeys<T extends JoinKeySpec>(keys: readonly T[]): T[] {
  return [...keys].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The entity key of a request's join key values (text, as in EntityRow and FeatureRow);
 * throws INVALID_ARGUMENT (prefixed with `where()`, built only then) when a key is missing
 * or not of its type.
 */
export function entityKeyFromText(
  sortedKeys: readonly JoinKeySpec[],
  values: Readonly<Record<string, string>>,
  where: () => string,
): string {
  let entityKey = "";
  for (let i = 0; i < sortedKeys.length; i++) {
    const key = sortedKeys[i] as JoinKeySpec;
    const text = values[key.name];
    if (text === undefined) throw new InvalidArgumentError(`${where()}: join key "${key.name}" is missing`);
    if (i > 0) entityKey += ",";
    entityKey += `${key.name}=${escapeValue(canonicalText(key, text, where))}`;
  }
  return entityKey;
}

/** The entity key of join key values read from Arrow columns (bigint or string); undefined when one is null. */
export function entityKeyFromArrow(
  sortedKeys: readonly JoinKeySpec[],
  values: ReadonlyArray<bigint | string | null>,
): string | undefined {
  let key = "";
  for (let i = 0; i < sortedKeys.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) return undefined;
    if (i > 0) key += ",";
    key += `${sortedKeys[i]?.name}=${escapeValue(String(value))}`;
  }
  return key;
}

// Up to 15 digits is always within int64 and exact as a JS number: no BigInt needed.
const SHORT_CANONICAL_INTEGER = /^-?(0|[1-9]\d{0,14})$/;

function canonicalText(key: JoinKeySpec, text: string, where: () => string): string {
  if (key.type !== ColumnType.INT64) return text;
  if (SHORT_CANONICAL_INTEGER.test(text) && text !== "-0") return text;
  const n = INTEGER.test(text) ? BigInt(text) : undefined;
  if (n === undefined || n < INT64_MIN || n > INT64_MAX) {
    throw new InvalidArgumentError(
      `${where()}: join key "${key.name}": ${JSON.stringify(text)} is not an int64`,
    );
  }
  return n.toString();
}

const SPECIAL = /[%,={}\0]/;

function escapeValue(value: string): string {
  if (!SPECIAL.test(value)) return value;
  return value.replace(/[%,={}\0]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
