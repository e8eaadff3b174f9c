import { InvalidArgumentError } from "@seam/kit/errors";
import { checkResourceName } from "@seam/kit/naming";

// Dataset version ids are 24 hex digits; hand-written lineage may hold other ids, so a
// query accepts any id of printable characters (the store escapes or hashes it).
const MAX_ID = 1024;

/** A lineage `dataset_version` split at its first "@": `id` is undefined for a bare dataset name. */
export interface DatasetVersionRef {
  readonly dataset: string;
  readonly id: string | undefined;
}

/**
 * Splits a lineage value "name@id" into name and id; a value without "@" is a dataset
 * name. Dataset names cannot contain "@", so the first one separates them.
 */
export function splitDatasetVersion(value: string): DatasetVersionRef {
  const at = value.indexOf("@");
  return at < 0
    ? { dataset: value, id: undefined }
    : { dataset: value.slice(0, at), id: value.slice(at + 1) };
}

/**
 * Validates the `dataset` of a ListDatasetUsages request: a dataset name (all its
 * versions) or "name@id" (one version). INVALID_ARGUMENT naming the field otherwise.
 */
export function parseDatasetQuery(dataset: string, field = "dataset"): DatasetVersionRef {
  if (dataset === "") throw new InvalidArgumentError(`${field} is required: a dataset name or "name@id"`);
  const ref = splitDatasetVersion(dataset);
  checkResourceName(ref.dataset, "dataset", field);
  if (ref.id !== undefined && (ref.id === "" || ref.id.length > MAX_ID || /\p{Cc}/u.test(ref.id))) {
    throw new InvalidArgumentError(
      `${field}: the version id after "@" must be 1 to ${MAX_ID} printable characters, got ${JSON.stringify(ref.id.slice(0, 64))}`,
    );
  }
  return ref;
}
