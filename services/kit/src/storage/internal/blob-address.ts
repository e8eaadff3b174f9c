import { InvalidArgumentError } from "../../errors/index.js";

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Refuses anything but 64 lower-case hex digits — addresses become file names and keys. */
export function checkSha256(sha256: string): void {
  if (!SHA256_HEX.test(sha256))
    throw new InvalidArgumentError("blob address must be 64 lower-case hex digits");
}

/** Default size of the chunks `get` yields. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

/** Validates a `maxBytes` or `chunkSize` option (a positive or non-negative integer). */
export function checkSize(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) {
    throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  }
}
