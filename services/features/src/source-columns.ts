import { FailedPreconditionError } from "@seam/kit/errors";
import { ColumnType, type DatasetVersion } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { ResolvedView } from "./definitions/resolved.js";
import { typeName } from "./values.js";

/**
 * The columns to read from a view's source, in this order: join keys (sorted), the
 * timestamp, then the features. Throws FAILED_PRECONDITION when `version` (which may be
 * newer than the one the view was checked against) lacks one or has another type.
 */
export function sourceColumns(view: ResolvedView, version: DatasetVersion): string[] {
  const types = new Map((version.schema?.columns ?? []).map((c) => [c.name, c.type]));
  const timestamp = view.view.source?.timestampColumn ?? "";
  const wanted: Array<[string, ColumnType]> = [
    ...view.joinKeys.map((k): [string, ColumnType] => [k.name, k.type]),
    [timestamp, ColumnType.TIMESTAMP],
    ...view.features.map((f): [string, ColumnType] => [f.name, f.type]),
  ];
  for (const [name, type] of wanted) {
    const found = types.get(name);
    if (found === undefined) {
      throw new FailedPreconditionError(
        `feature view ${view.name}: source ${version.ref} has no column "${name}"`,
      );
    }
    if (found !== type) {
      throw new FailedPreconditionError(
        `feature view ${view.name}: column "${name}" of source ${version.ref} is ${typeName(found)}, the view needs ${typeName(type)}`,
      );
    }
  }
  return wanted.map(([name]) => name);
}
