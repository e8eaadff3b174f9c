import { InvalidArgumentError } from "@seam/kit/errors";
import { checkResourceName, decodePageToken, encodePageToken, isResourceName } from "@seam/kit/naming";

// Generic checks live in @seam/kit/naming; this module keeps what only datasets mean:
// version ids, "dataset@id" references and this service's page-token kinds.

/** Hex digits of a version id: a prefix of the sha256 of the stored Arrow IPC stream. */
export const VERSION_ID_DIGITS = 24;
const VERSION_ID = /^[0-9a-f]{24}$/;

/** Throws INVALID_ARGUMENT unless `name` is a valid dataset name. Returns `name`. */
export function checkDatasetName(name: string, field = "name"): string {
  return checkResourceName(name, "dataset", field);
}

/** The version id of content with this sha256 (content addressing: same bytes, same id). */
export function versionIdOf(sha256: string): string {
  return sha256.slice(0, VERSION_ID_DIGITS);
}

/** The "dataset@id" form lineage records use. */
export function versionRef(dataset: string, id: string): string {
  return `${dataset}@${id}`;
}

/**
 * Throws INVALID_ARGUMENT unless `id` is empty (when `allowEmpty`, meaning "latest") or a
 * version id of 24 hex digits; returns it lower-cased.
 */
export function checkVersionId(id: string, field = "version", allowEmpty = true): string {
  if (id === "" && allowEmpty) return id;
  const lowered = id.toLowerCase();
  if (!VERSION_ID.test(lowered)) {
    throw new InvalidArgumentError(
      `${field} must be a version id of ${VERSION_ID_DIGITS} hex digits${allowEmpty ? " (or empty for the latest)" : ""}, got ${JSON.stringify(id)}`,
    );
  }
  return lowered;
}

/** A parsed "dataset@id" reference. */
export interface VersionRef {
  readonly dataset: string;
  readonly id: string;
}

/** Parses "dataset@id" (both parts required); INVALID_ARGUMENT naming `field` otherwise. */
export function parseVersionRef(ref: string, field: string): VersionRef {
  const at = ref.indexOf("@");
  if (at < 0) {
    throw new InvalidArgumentError(
      `${field} ${JSON.stringify(ref)} must be a version reference "dataset@id"`,
    );
  }
  return {
    dataset: checkDatasetName(ref.slice(0, at), field),
    id: checkVersionId(ref.slice(at + 1), field, false),
  };
}

const DATASET_TOKEN = "d1:";
const VERSION_TOKEN = "s1:";

/** Encodes the name a dataset listing continues after. */
export function encodeDatasetPageToken(lastName: string): string {
  return encodePageToken(DATASET_TOKEN, lastName);
}

/** Decodes a dataset listing token; INVALID_ARGUMENT when it was not made by {@link encodeDatasetPageToken}. */
export function decodeDatasetPageToken(token: string): string | undefined {
  return decodePageToken(token, DATASET_TOKEN, isResourceName);
}

/** Encodes the sequence number a version listing continues below. */
export function encodeVersionPageToken(lastSeq: number): string {
  return encodePageToken(VERSION_TOKEN, String(lastSeq));
}

/** Decodes a version listing token; INVALID_ARGUMENT when it was not made by {@link encodeVersionPageToken}. */
export function decodeVersionPageToken(token: string): number | undefined {
  const digits = decodePageToken(token, VERSION_TOKEN, (d) => /^[1-9][0-9]{0,14}$/.test(d));
  return digits === undefined ? undefined : Number(digits);
}
