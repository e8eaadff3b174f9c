import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "@seam/kit/errors";
import type { OnlineRead, OnlineStore } from "@seam/kit/storage";
import {
  type EntityRow,
  FeatureStatus,
  type GetOnlineFeaturesResponseSchema,
  type OnlineFeatureValueSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import type { Selection } from "../definitions/catalog.js";
import { entityKeyFromText } from "../entity-key.js";
import { decodeFeatureValue } from "../values.js";
import { LookupTally } from "./metrics.js";

/** Most entities one GetOnlineFeatures call may ask for. */
export const MAX_ONLINE_ENTITIES = 1000;

type ValueInit = MessageInitShape<typeof OnlineFeatureValueSchema>;

/**
 * GetOnlineFeatures over a resolved selection: one online store read for every
 * (entity, view) pair, then per value its status. A row older than its view's max age
 * (at `nowMs`) is OUTSIDE_MAX_AGE: its values are returned for inspection, never as PRESENT.
 */
export async function getOnlineFeatures(
  selection: Selection,
  entities: readonly EntityRow[],
  store: OnlineStore,
  nowMs: number,
): Promise<MessageInitShape<typeof GetOnlineFeaturesResponseSchema>> {
  if (entities.length === 0) throw new InvalidArgumentError("entities: at least one entity is required");
  if (entities.length > MAX_ONLINE_ENTITIES) {
    throw new InvalidArgumentError(
      `entities: at most ${MAX_ONLINE_ENTITIES} per call, got ${entities.length}`,
    );
  }
  const reads: OnlineRead[] = [];
  entities.forEach((row, i) => {
    for (const part of selection.parts) {
      reads.push({
        entityKey: entityKeyFromText(part.view.joinKeys, row.joinKeys, () => `entities[${i}]`),
        group: part.view.group,
        fields: part.fieldNames,
      });
    }
  });
  const results = await store.read(reads);

  const tally = new LookupTally(selection);
  let r = 0;
  const rows = entities.map(() => {
    const values: ValueInit[] = [];
    for (const [p, part] of selection.parts.entries()) {
      const result = results[r++];
      if (result === undefined) {
        for (let f = 0; f < part.features.length; f++) values.push({ status: FeatureStatus.NOT_FOUND });
        tally.add(p, FeatureStatus.NOT_FOUND, part.features.length);
        continue;
      }
      const eventTime = timestampFromMs(result.eventTime);
      const stale = part.view.ttlMs > 0 && nowMs - result.eventTime > part.view.ttlMs;
      part.features.forEach((feature, f) => {
        const text = result.values[f];
        if (text === null || text === undefined) {
          tally.add(p, FeatureStatus.NULL_VALUE);
          values.push({ status: FeatureStatus.NULL_VALUE, eventTime });
        } else {
          const status = stale ? FeatureStatus.OUTSIDE_MAX_AGE : FeatureStatus.PRESENT;
          tally.add(p, status);
          values.push({ value: decodeFeatureValue(feature.type, text), status, eventTime });
        }
      });
    }
    return { values };
  });
  tally.record();
  return { featureNames: [...selection.featureNames], rows };
}
