import { InvalidArgumentError } from "../errors/index.js";

// Names become parts of store keys: the character sets below keep "/" and NUL out of them.
const RESOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const RESOURCE_NAME_PREFIX = /^[A-Za-z0-9._-]{1,128}$/;
const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9._\-/:]{0,127}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const MAX_TAG_VALUE = 256;
const MAX_TAGS = 64;
const MAX_DESCRIPTION = 16 * 1024;

/**
 * True when `name` is a valid resource name (a model, a dataset, ...): 1 to 128 letters,
 * digits, "-", "_" or ".", starting with a letter or digit. Such a name never contains "/"
 * or NUL, so it can be used as one segment of a store key.
 */
export function isResourceName(name: string): boolean {
  return RESOURCE_NAME.test(name);
}

/**
 * Throws INVALID_ARGUMENT unless `name` is a valid resource name (see {@link isResourceName});
 * `kind` ("model", "dataset") and `field` only shape the message. Returns `name`.
 */
export function checkResourceName(name: string, kind: string, field = "name"): string {
  if (name === "") throw new InvalidArgumentError(`${field} is required`);
  if (!RESOURCE_NAME.test(name)) {
    throw new InvalidArgumentError(
      `${field} ${JSON.stringify(name)} is not a valid ${kind} name: use 1 to 128 letters, digits, "-", "_" or ".", starting with a letter or digit`,
    );
  }
  return name;
}

/**
 * Throws INVALID_ARGUMENT unless `prefix` is empty or could start a resource name
 * (the characters of {@link isResourceName}, at most 128). Returns `prefix`.
 */
export function checkResourceNamePrefix(prefix: string, field = "name_prefix"): string {
  if (prefix !== "" && !RESOURCE_NAME_PREFIX.test(prefix)) {
    throw new InvalidArgumentError(
      `${field} may only contain letters, digits, "-", "_" and "." (at most 128)`,
    );
  }
  return prefix;
}

/** Throws INVALID_ARGUMENT for a description longer than 16 KiB characters. */
export function checkDescription(description: string, field = "description"): void {
  if (description.length > MAX_DESCRIPTION) {
    throw new InvalidArgumentError(
      `${field} has at most ${MAX_DESCRIPTION} characters, got ${description.length}`,
    );
  }
}

/** Throws INVALID_ARGUMENT for tags a person could not search by (too many, bad keys, long values). */
export function checkTags(tags: Readonly<Record<string, string>>, field = "tags"): void {
  const keys = Object.keys(tags);
  if (keys.length > MAX_TAGS)
    throw new InvalidArgumentError(`${field}: at most ${MAX_TAGS} tags, got ${keys.length}`);
  for (const key of keys) checkTagKey(key, field);
  for (const [key, value] of Object.entries(tags)) {
    if (value.length > MAX_TAG_VALUE) {
      throw new InvalidArgumentError(
        `${field}[${JSON.stringify(key)}]: values have at most ${MAX_TAG_VALUE} characters`,
      );
    }
  }
}

/** Throws INVALID_ARGUMENT unless `key` is a valid tag key. */
export function checkTagKey(key: string, field = "tags"): void {
  if (!TAG_KEY.test(key)) {
    throw new InvalidArgumentError(
      `${field}: key ${JSON.stringify(key)} is not valid: use 1 to 128 letters, digits, ".", "_", "-", "/" or ":", starting with a letter or digit`,
    );
  }
}

/** Throws INVALID_ARGUMENT unless `sha` is a hex sha256; returns it lower-cased. */
export function checkSha256(sha: string, field: string): string {
  const lowered = sha.toLowerCase();
  if (!SHA256_HEX.test(lowered)) {
    throw new InvalidArgumentError(`${field} must be 64 hex digits (a sha256), got ${JSON.stringify(sha)}`);
  }
  return lowered;
}
