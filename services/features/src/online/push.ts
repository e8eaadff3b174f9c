import { timestampMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "@seam/kit/errors";
import type { OnlineRecord } from "@seam/kit/storage";
import type { FeatureRow } from "@seam/proto/seam/features/v1/features_pb";
import type { ResolvedView } from "../definitions/resolved.js";
import { entityKeyFromText } from "../entity-key.js";
import { encodeFeatureValue } from "../values.js";

/** Most rows one PushFeatures message may carry. */
export const MAX_PUSH_ROWS = 10_000;

/**
 * Validates one push message's rows against the view and turns them into online records;
 * throws INVALID_ARGUMENT naming the row and the problem before anything is written.
 * A feature missing from a row is stored as null: a row is the entity's state at its time.
 */
export function pushRecords(view: ResolvedView, rows: readonly FeatureRow[], where: string): OnlineRecord[] {
  if (rows.length > MAX_PUSH_ROWS) {
    throw new InvalidArgumentError(`${where}: at most ${MAX_PUSH_ROWS} rows per message, got ${rows.length}`);
  }
  return rows.map((row, i) => {
    const at = `${where}.rows[${i}]`;
    if (row.eventTime === undefined) throw new InvalidArgumentError(`${at}.event_time is required`);
    for (const name of Object.keys(row.values)) {
      if (!view.featureIndex.has(name)) {
        throw new InvalidArgumentError(`${at}.values: feature view ${view.name} has no feature "${name}"`);
      }
    }
    return {
      entityKey: entityKeyFromText(view.joinKeys, row.joinKeys, () => at),
      group: view.group,
      eventTime: timestampMs(row.eventTime),
      values: view.features.map(
        (f) => [f.name, encodeFeatureValue(f.type, row.values[f.name], `${at}.values["${f.name}"]`)] as const,
      ),
    };
  });
}
