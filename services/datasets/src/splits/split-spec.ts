import { InvalidArgumentError } from "@seam/kit/errors";
import { ColumnType, type Schema, Split, type SplitSpec } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { fmix64, fnvByte, fnvBytes, fnvCopy, fnvInit, fnvUint64, type Hash64, hashToUnit } from "./hash64.js";

/**
 * Type tags hashed before a key's payload, so that e.g. a null key never collides with
 * the empty string. int64 columns, timestamp columns (epoch milliseconds) and row indexes
 * share the integer tag: all are the same 64-bit integer payload.
 */
export const KEY_TAG_NULL = 0x00;
export const KEY_TAG_INT = 0x01;
export const KEY_TAG_BOOL = 0x02;
export const KEY_TAG_STRING = 0x03;

const SUM_TOLERANCE = 1e-9;
const TWO_32 = 4294967296;

/** A key as `splitOfKey` accepts it: int64 / timestamp-ms / row index, string, bool, or null. */
export type SplitKey = bigint | number | string | boolean | null;

/**
 * Checks a split spec against the version's schema, throwing InvalidArgumentError naming
 * the offending field (prefixed by `field`, e.g. "spec.train_fraction").
 *
 * Fractions must each be finite in [0, 1] and add up to 1 within 1e-9. A key column must
 * exist and must not be float64: floats make poor grouping keys (0.1 + 0.2 !== 0.3,
 * -0 vs 0, NaN), so rows a user thinks equal could land in different splits.
 */
export function validateSplitSpec(spec: SplitSpec, schema: Schema, field = "spec"): void {
  const fractions = [
    ["train_fraction", spec.trainFraction],
    ["validation_fraction", spec.validationFraction],
    ["test_fraction", spec.testFraction],
  ] as const;
  for (const [name, value] of fractions) {
    if (!Number.isFinite(value) || value < 0 || value > 1) {
      throw new InvalidArgumentError(`${field}.${name} must be between 0 and 1, got ${value}`);
    }
  }
  const sum = spec.trainFraction + spec.validationFraction + spec.testFraction;
  if (Math.abs(sum - 1) > SUM_TOLERANCE) {
    throw new InvalidArgumentError(
      `${field}.train_fraction, validation_fraction and test_fraction must add up to 1, got ${sum}`,
    );
  }
  if (spec.keyColumn === "") return;
  const column = schema.columns.find((c) => c.name === spec.keyColumn);
  if (column === undefined) {
    throw new InvalidArgumentError(`${field}.key_column: no column named "${spec.keyColumn}"`);
  }
  if (column.type === ColumnType.FLOAT64) {
    throw new InvalidArgumentError(
      `${field}.key_column: "${spec.keyColumn}" is float64; use an int64, string, bool or timestamp column`,
    );
  }
}

/**
 * A spec compiled for fast per-row assignment: the FNV state after the seed bytes, and
 * the cut points on the unit interval. A split with fraction 0 gets an unreachable cut, so
 * rounding in the fraction sum can never send a row to it.
 */
export interface CompiledSplitSpec {
  readonly keyColumn: string;
  readonly seedState: Readonly<Hash64>;
  readonly trainCut: number;
  readonly validationCut: number;
  /** Hash state reused per row; safe because the row loops never yield mid-row. */
  readonly scratch: Hash64;
}

/** Compiles a (validated) spec; see {@link CompiledSplitSpec}. */
export function compileSplitSpec(spec: SplitSpec): CompiledSplitSpec {
  const seedState = fnvInit();
  const seed = BigInt.asUintN(64, spec.seed);
  fnvUint64(seedState, Number(seed >> 32n), Number(seed & 0xffffffffn));
  const { trainFraction: train, validationFraction: validation, testFraction: test } = spec;
  return {
    keyColumn: spec.keyColumn,
    seedState,
    trainCut: validation === 0 && test === 0 ? Number.POSITIVE_INFINITY : train,
    validationCut: test === 0 ? Number.POSITIVE_INFINITY : train + validation,
    scratch: fnvInit(),
  };
}

/** Maps a finalized hash to its split via the cut points. */
export function splitOfHash(compiled: CompiledSplitSpec, h: Hash64): Split {
  const u = hashToUnit(h);
  if (u < compiled.trainCut) return Split.TRAIN;
  if (u < compiled.validationCut) return Split.VALIDATION;
  return Split.TEST;
}

/** Split of a 64-bit integer key given as unsigned halves (two's complement for negatives). */
export function splitOfInt(compiled: CompiledSplitSpec, hi: number, lo: number): Split {
  const h = fnvCopy(compiled.seedState, compiled.scratch);
  fnvByte(h, KEY_TAG_INT);
  fnvUint64(h, hi, lo);
  fmix64(h);
  return splitOfHash(compiled, h);
}

/** Split of a string key given as UTF-8 bytes[start, end). */
export function splitOfUtf8(
  compiled: CompiledSplitSpec,
  bytes: Uint8Array,
  start: number,
  end: number,
): Split {
  const h = fnvCopy(compiled.seedState, compiled.scratch);
  fnvByte(h, KEY_TAG_STRING);
  fnvBytes(h, bytes, start, end);
  fmix64(h);
  return splitOfHash(compiled, h);
}

/** Split of a bool key. */
export function splitOfBool(compiled: CompiledSplitSpec, value: boolean): Split {
  const h = fnvCopy(compiled.seedState, compiled.scratch);
  fnvByte(h, KEY_TAG_BOOL);
  fnvByte(h, value ? 1 : 0);
  fmix64(h);
  return splitOfHash(compiled, h);
}

/**
 * Split of a null key: all null keys hash to one token, so they share a split like any
 * other equal keys (the spec promises equal keys share a split; null is one "value").
 */
export function splitOfNull(compiled: CompiledSplitSpec): Split {
  const h = fnvCopy(compiled.seedState, compiled.scratch);
  fnvByte(h, KEY_TAG_NULL);
  fmix64(h);
  return splitOfHash(compiled, h);
}

const encoder = new TextEncoder();

/**
 * The split of one key: hash = fmix64(FNV-1a-64(seed as 8 bytes LE, tag, payload)), then
 * u = top 53 bits / 2^53; TRAIN if u < train, VALIDATION if u < train + validation, else TEST.
 * Payloads: integers (int64 values, timestamp epoch-ms, row indexes) as 8 bytes LE two's
 * complement; strings as UTF-8; bools as one byte 0/1; null as no payload.
 * A `number` key must be a safe integer (a row index or an int64 / epoch-ms value).
 * The same spec and key give the same split forever.
 */
export function splitOfKey(spec: SplitSpec | CompiledSplitSpec, key: SplitKey): Split {
  const compiled = "seedState" in spec ? spec : compileSplitSpec(spec);
  if (key === null) return splitOfNull(compiled);
  if (typeof key === "boolean") return splitOfBool(compiled, key);
  if (typeof key === "string") {
    const bytes = encoder.encode(key);
    return splitOfUtf8(compiled, bytes, 0, bytes.length);
  }
  if (typeof key === "number") {
    if (!Number.isSafeInteger(key))
      throw new InvalidArgumentError(`split key must be an integer, got ${key}`);
    return splitOfIntNumber(compiled, key);
  }
  const u = BigInt.asUintN(64, key);
  return splitOfInt(compiled, Number(u >> 32n), Number(u & 0xffffffffn));
}

/** Split of a safe-integer key (e.g. a row index), without going through BigInt. */
export function splitOfIntNumber(compiled: CompiledSplitSpec, value: number): Split {
  const hi = Math.floor(value / TWO_32);
  return splitOfInt(compiled, hi >>> 0, (value - hi * TWO_32) >>> 0);
}
