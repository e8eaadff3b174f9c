import { InvalidArgumentError } from "@seam/kit/errors";
import { checkResourceName, decodePageToken, encodePageToken, isResourceName } from "@seam/kit/naming";

// Generic checks (tags, descriptions, sha256s, page sizes and tokens) live in
// @seam/kit/naming; this module keeps what only the registry means: aliases,
// version numbers, model references and the registry's own page-token kinds.
const ALIAS = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Throws INVALID_ARGUMENT unless `name` is a valid model name. */
export function checkModelName(name: string, field = "name"): string {
  return checkResourceName(name, "model", field);
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

const MODEL_TOKEN = "m1:";
const VERSION_TOKEN = "v1:";

/** Encodes the name a model listing continues after. */
export function encodeModelPageToken(lastName: string): string {
  return encodePageToken(MODEL_TOKEN, lastName);
}

/** Decodes a model listing token; INVALID_ARGUMENT when it was not made by {@link encodeModelPageToken}. */
export function decodeModelPageToken(token: string): string | undefined {
  return decodePageToken(token, MODEL_TOKEN, isResourceName);
}

/** Encodes the version number a version listing continues below. */
export function encodeVersionPageToken(lastVersion: bigint): string {
  return encodePageToken(VERSION_TOKEN, lastVersion.toString());
}

/** Decodes a version listing token; INVALID_ARGUMENT when it was not made by {@link encodeVersionPageToken}. */
export function decodeVersionPageToken(token: string): bigint | undefined {
  const digits = decodePageToken(token, VERSION_TOKEN, (d) => /^[1-9][0-9]{0,17}$/.test(d));
  return digits === undefined ? undefined : BigInt(digits);
}
