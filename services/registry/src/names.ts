import { InvalidArgumentError } from "@seam/kit/errors";

// Names become parts of store keys: the character sets below keep "/" and NUL out of them.
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ALIAS = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9._\-/:]{0,127}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const MAX_TAG_VALUE = 256;
const MAX_TAGS = 64;
const MAX_DESCRIPTION = 16 * 1024;

/** Default and largest page sizes of the list RPCs. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** Throws INVALID_ARGUMENT unless `name` is a valid model name. */
export function checkModelName(name: string, field = "name"): string {
  if (name === "") throw new InvalidArgumentError(`${field} is required`);
  if (!MODEL_NAME.test(name)) {
    throw new InvalidArgumentError(
      `${field} ${JSON.stringify(name)} is not a valid model name: use 1 to 128 letters, digits, "-", "_" or ".", starting with a letter or digit`,
    );
  }
  return name;
}

/** Throws INVALID_ARGUMENT for a description longer than 16 KiB characters. */
export function checkDescription(description: string, field = "description"): void {
  if (description.length > MAX_DESCRIPTION) {
    throw new InvalidArgumentError(
      `${field} has at most ${MAX_DESCRIPTION} characters, got ${description.length}`,
    );
  }
}

/** Throws INVALID_ARGUMENT unless `alias` is a valid alias name. */
export function checkAlias(alias: string, field = "alias"): string {
  if (alias === "") throw new InvalidArgumentError(`${field} is required`);
  if (!ALIAS.test(alias)) {
    throw new InvalidArgumentError(
      `${field} ${JSON.stringify(alias)} is not a valid alias: use 1 to 64 letters, digits, "-" or "_", starting with a letter`,
    );
  }
  return alias;
}

/** Throws INVALID_ARGUMENT unless `version` is a positive version number. */
export function checkVersion(version: bigint, field = "version"): bigint {
  if (version <= 0n)
    throw new InvalidArgumentError(`${field} must be a version number of 1 or more, got ${version}`);
  return version;
}

/** Throws INVALID_ARGUMENT for tags a person could not search by. */
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

/** Throws INVALID_ARGUMENT unless `sha` is a lower-case hex sha256 (upper case is accepted and lowered). */
export function checkSha256(sha: string, field: string): string {
  const lowered = sha.toLowerCase();
  if (!SHA256_HEX.test(lowered)) {
    throw new InvalidArgumentError(`${field} must be 64 hex digits (a sha256), got ${JSON.stringify(sha)}`);
  }
  return lowered;
}

/** Resolves a request's page_size: 0 means the default, above the maximum is refused. */
export function pageSizeOf(pageSize: number): number {
  if (pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(
      `page_size must be between 0 and ${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE}), got ${pageSize}`,
    );
  }
  return pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize;
}

/** A parsed model reference: "name", "name@alias" or "name:version". */
export type ModelReference =
  | { readonly kind: "latest"; readonly name: string }
  | { readonly kind: "alias"; readonly name: string; readonly alias: string }
  | { readonly kind: "version"; readonly name: string; readonly version: bigint };

/** Parses "name", "name@alias" or "name:version"; INVALID_ARGUMENT on anything else. */
export function parseReference(ref: string, field = "model"): ModelReference {
  if (ref === "")
    throw new InvalidArgumentError(`${field} is required: "name", "name@alias" or "name:version"`);
  const at = ref.indexOf("@");
  if (at >= 0) {
    return {
      kind: "alias",
      name: checkModelName(ref.slice(0, at), field),
      alias: checkAlias(ref.slice(at + 1), field),
    };
  }
  const colon = ref.indexOf(":");
  if (colon >= 0) {
    const digits = ref.slice(colon + 1);
    if (!/^[0-9]{1,18}$/.test(digits) || BigInt(digits) === 0n) {
      throw new InvalidArgumentError(
        `${field}: the version in ${JSON.stringify(ref)} must be a number of 1 or more`,
      );
    }
    return { kind: "version", name: checkModelName(ref.slice(0, colon), field), version: BigInt(digits) };
  }
  return { kind: "latest", name: checkModelName(ref, field) };
}

// Page tokens are opaque to clients but carry nothing a forged one could abuse: the
// decoded value is re-validated as a name (or number) and only ever used as a key
// position inside the listed range.
const MODEL_TOKEN = "m1:";
const VERSION_TOKEN = "v1:";

/** Encodes the name a model listing continues after. */
export function encodeModelPageToken(lastName: string): string {
  return Buffer.from(MODEL_TOKEN + lastName, "utf8").toString("base64url");
}

/** Decodes a model listing token; INVALID_ARGUMENT when it was not made by {@link encodeModelPageToken}. */
export function decodeModelPageToken(token: string): string | undefined {
  if (token === "") return undefined;
  const text = decodeToken(token);
  if (!text.startsWith(MODEL_TOKEN) || !MODEL_NAME.test(text.slice(MODEL_TOKEN.length))) throw badToken();
  return text.slice(MODEL_TOKEN.length);
}

/** Encodes the version number a version listing continues below. */
export function encodeVersionPageToken(lastVersion: bigint): string {
  return Buffer.from(VERSION_TOKEN + lastVersion.toString(), "utf8").toString("base64url");
}

/** Decodes a version listing token; INVALID_ARGUMENT when it was not made by {@link encodeVersionPageToken}. */
export function decodeVersionPageToken(token: string): bigint | undefined {
  if (token === "") return undefined;
  const text = decodeToken(token);
  const digits = text.slice(VERSION_TOKEN.length);
  if (!text.startsWith(VERSION_TOKEN) || !/^[1-9][0-9]{0,17}$/.test(digits)) throw badToken();
  return BigInt(digits);
}

function decodeToken(token: string): string {
  if (token.length > 400 || !/^[A-Za-z0-9_-]+$/.test(token)) throw badToken();
  return Buffer.from(token, "base64url").toString("utf8");
}

function badToken(): InvalidArgumentError {
  return new InvalidArgumentError(
    "page_token is not valid: pass the next_page_token of a previous response unchanged",
  );
}
