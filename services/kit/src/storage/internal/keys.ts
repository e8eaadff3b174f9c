import { InvalidArgumentError } from "../../errors/index.js";

/**
 * Longest key accepted, in UTF-8 bytes. LMDB's own limit is 1978 bytes; staying
 * well under it leaves room for namespace prefixes and keeps both adapters alike.
 */
export const MAX_KEY_BYTES = 1024;

// In a /u regex a well-formed surrogate pair is one code point, so only lone halves match.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Checks a key: non-empty, no NUL, well-formed Unicode (lone surrogates are refused
 * because UTF-8 encoding would silently turn different strings into the same key), at
 * most MAX_KEY_BYTES in UTF-8. Encodes nothing when the length alone proves it short
 * enough (a UTF-16 unit is at most 3 UTF-8 bytes): online reads check every key.
 */
export function checkKey(key: string): void {
  if (key.length === 0) throw new InvalidArgumentError("store key must not be empty");
  if (key.includes("\0")) throw new InvalidArgumentError("store key must not contain NUL");
  if (LONE_SURROGATE.test(key)) throw new InvalidArgumentError("store key must be well-formed Unicode");
  if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw new InvalidArgumentError(`store key is longer than ${MAX_KEY_BYTES} bytes`);
  }
}

/** Checks a key (see {@link checkKey}) and returns its UTF-8 bytes. */
export function keyBytes(key: string): Buffer {
  checkKey(key);
  return Buffer.from(key, "utf8");
}

/**
 * The smallest byte string greater than every string starting with `prefix`,
 * or undefined when there is none (empty prefix: the range is unbounded).
 */
export function prefixUpperBound(prefix: Uint8Array): Buffer | undefined {
  const bound = Buffer.from(prefix);
  for (let i = bound.length - 1; i >= 0; i--) {
    if (bound[i] !== 0xff) {
      bound[i] = (bound[i] ?? 0) + 1;
      return bound.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** Validates a list limit: undefined (no limit) or a non-negative integer. */
export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new InvalidArgumentError("list limit must be a non-negative integer");
  }
}
