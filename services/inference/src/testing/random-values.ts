// Value generators the encoder property tests share: edge cases of each protobuf scalar,
// drawn from a seeded random source so that a failing round can be replayed.

/** A seeded source of numbers in [0, 1) (kit's createRandom). */
export type Random = () => number;

/** Empty, multi-byte, astral, control characters, unpaired surrogates, long. */
export const STRINGS: readonly string[] = [
  "",
  "y",
  "é",
  "日本語",
  "🙂",
  "tab\t\u0000",
  "\ud800 lone",
  "\udc00 lone",
  "x".repeat(200),
  "ü".repeat(9000),
];

/** Float32 edge cases: signed zeros, NaN, infinities, the smallest and near the largest. */
export const FLOATS: readonly number[] = [
  0,
  -0,
  1,
  -1.5,
  3.25,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1e-45,
  3.4e38,
];

export const DOUBLES: readonly number[] = [
  0,
  -0,
  0.1,
  -2.5,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.NaN,
  Number.NEGATIVE_INFINITY,
  1e300,
];

/** Varint length boundaries and the int32 extremes (negative ones take 10 bytes). */
export const INT32S: readonly number[] = [0, 1, -1, 127, 128, 16384, 2147483647, -2147483648, 42];

/** Varint length boundaries, beyond 2^53 and the int64 extremes. */
export const INT64S: readonly bigint[] = [
  0n,
  1n,
  -1n,
  127n,
  128n,
  2n ** 53n + 1n,
  2n ** 56n - 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  9007199254740993n,
];

export function pick<T>(random: Random, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

/** A list of up to `max` values, now and then a long one (multi-byte length prefixes). */
export function some<T>(random: Random, max: number, make: () => T): T[] {
  const length = random() < 0.05 ? 300 + Math.floor(random() * 3000) : Math.floor(random() * (max + 1));
  return Array.from({ length }, make);
}

/** An edge case or a fraction of one. */
export function randomFloat(random: Random): number {
  return pick(random, FLOATS) * (random() < 0.5 ? 1 : random());
}

/** An edge case or a fraction of one. */
export function randomDouble(random: Random): number {
  return pick(random, DOUBLES) * (random() < 0.5 ? 1 : random());
}

/** A tensor shape: a few dimensions, unknown (-1) and beyond 2^32 among them. */
export function randomShape(random: Random): bigint[] {
  return some(random, 4, () => pick(random, [0n, 1n, 20n, 300n, -1n, 2n ** 40n]));
}

/** Up to `max` random bytes (now and then many more, as {@link some}). */
export function randomBytes(random: Random, max: number): Uint8Array {
  return Uint8Array.from(some(random, max, () => Math.floor(random() * 256)));
}
