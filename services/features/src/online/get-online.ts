import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "@seam/kit/errors";
import type { OnlineRead, OnlineReadResult, OnlineStore } from "@seam/kit/storage";
import {
  FeatureStatus,
  type GetOnlineFeaturesResponseSchema,
  type JoinKeyValues,
  OnlineFeaturesLayout,
  type OnlineFeatureValueSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import type { Selection } from "../definitions/catalog.js";
import { entityKeyFromText } from "../entity-key.js";
import { decodeFeatureValue } from "../values.js";
import { ColumnsBuilder } from "./columns.js";
import { LookupTally } from "./metrics.js";

/** Most entities one GetOnlineFeatures call may ask for. */
export const MAX_ONLINE_ENTITIES = 1000;

type ResponseInit = MessageInitShape<typeof GetOnlineFeaturesResponseSchema>;

/** One entity of a lookup: its join key values as text. */
export interface RequestedEntity {
  readonly joinKeys: Readonly<Record<string, string>>;
}
type ValueInit = MessageInitShape<typeof OnlineFeatureValueSchema>;

/**
 * Receives every value of a lookup, entity by entity and feature by feature in
 * `featureNames` order (`column`); `text` is the stored form, null without a value,
 * `eventTimeMs` the row's time, undefined when NOT_FOUND.
 */
type ValueVisitor = (
  entity: number,
  column: number,
  status: FeatureStatus,
  eventTimeMs: number | undefined,
  text: string | null,
) => void;

/**
 * GetOnlineFeatures over a resolved selection: one online store read for every
 * (entity, view) pair, then per value its status, laid out as rows (the default) or
 * columns. A row older than its view's max age (at `nowMs`) is OUTSIDE_MAX_AGE: its
 * values are returned for inspection, never as PRESENT.
 */
export async function getOnlineFeatures(
  selection: Selection,
  entities: readonly RequestedEntity[],
  store: OnlineStore,
  nowMs: number,
  layout: OnlineFeaturesLayout = OnlineFeaturesLayout.UNSPECIFIED,
): Promise<ResponseInit> {
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
  const featureNames = [...selection.featureNames];
  if (layout === OnlineFeaturesLayout.COLUMNS) {
    const columns = new ColumnsBuilder(selection, entities.length);
    visitValues(selection, entities.length, results, nowMs, columns.add);
    return { featureNames, columns: columns.build() };
  }
  const features = selection.parts.flatMap((part) => part.features);
  const rows = entities.map(() => ({ values: [] as ValueInit[] }));
  // A view's features share their row's time: one Timestamp per row, not per value.
  let lastTimeMs: number | undefined;
  let lastTime: ReturnType<typeof timestampFromMs> | undefined;
  visitValues(selection, entities.length, results, nowMs, (entity, column, status, eventTimeMs, text) => {
    const values = (rows[entity] as { values: ValueInit[] }).values;
    if (eventTimeMs === undefined) {
      values.push({ status });
      return;
    }
    if (eventTimeMs !== lastTimeMs || lastTime === undefined) {
      lastTimeMs = eventTimeMs;
      lastTime = timestampFromMs(eventTimeMs);
    }
    const eventTime = lastTime;
    const feature = features[column];
    if (text === null || feature === undefined) values.push({ status, eventTime });
    else values.push({ value: decodeFeatureValue(feature.type, text), status, eventTime });
  });
  return { featureNames, rows };
}

/**
 * The entities of a request, given as rows (`entities`) or as columns (`entity_columns`:
 * per join key, one value per entity); throws INVALID_ARGUMENT when both are set or the
 * columns differ in length.
 */
export function requestedEntities(
  rows: readonly RequestedEntity[],
  columns: Readonly<Record<string, JoinKeyValues>>,
): readonly RequestedEntity[] {
  const names = Object.keys(columns);
  if (names.length === 0) return rows;
  if (rows.length > 0) throw new InvalidArgumentError("set entities or entity_columns, not both");
  const count = (columns[names[0] as string] as JoinKeyValues).values.length;
  for (const name of names) {
    const length = (columns[name] as JoinKeyValues).values.length;
    if (length !== count) {
      throw new InvalidArgumentError(
        `entity_columns: "${names[0]}" has ${count} values but "${name}" has ${length}; every join key needs one value per entity`,
      );
    }
  }
  const entities: RequestedEntity[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const joinKeys: Record<string, string> = {};
    for (const name of names) joinKeys[name] = (columns[name] as JoinKeyValues).values[i] as string;
    entities[i] = { joinKeys };
  }
  return entities;
}

// Walks the store's answers (one per entity and view, in read order) and tallies the statuses.
function visitValues(
  selection: Selection,
  entityCount: number,
  results: ReadonlyArray<OnlineReadResult | undefined>,
  nowMs: number,
  visit: ValueVisitor,
): void {
  const tally = new LookupTally(selection);
  let r = 0;
  for (let entity = 0; entity < entityCount; entity++) {
    let column = 0;
    for (const [p, part] of selection.parts.entries()) {
      const result = results[r++];
      if (result === undefined) {
        for (let f = 0; f < part.features.length; f++) {
          visit(entity, column++, FeatureStatus.NOT_FOUND, undefined, null);
        }
        tally.add(p, FeatureStatus.NOT_FOUND, part.features.length);
        continue;
      }
      const stale = part.view.ttlMs > 0 && nowMs - result.eventTime > part.view.ttlMs;
      for (let f = 0; f < part.features.length; f++) {
        const text = result.values[f] ?? null;
        const status =
          text === null
            ? FeatureStatus.NULL_VALUE
            : stale
              ? FeatureStatus.OUTSIDE_MAX_AGE
              : FeatureStatus.PRESENT;
        tally.add(p, status);
        visit(entity, column++, status, result.eventTime, text);
      }
    }
  }
  tally.record();
}
