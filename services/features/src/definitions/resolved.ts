import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { Entity, FeatureView } from "@seam/proto/seam/features/v1/features_pb";
import { type JoinKeySpec, sortJoinKeys } from "../entity-key.js";

/** A feature of a resolved view: name and (always known) type. */
export interface FeatureSpec {
  readonly name: string;
  readonly type: ColumnType;
}

/**
 * A stored feature view with everything serving and joins need precomputed: its join keys
 * (from its entities, sorted), its online group and TTL in milliseconds.
 */
export interface ResolvedView {
  readonly name: string;
  readonly view: FeatureView;
  /** Join keys of all its entities, sorted by name (the entity key order). */
  readonly joinKeys: readonly JoinKeySpec[];
  readonly features: readonly FeatureSpec[];
  readonly featureIndex: ReadonlyMap<string, number>;
  /**
   * The view's namespace in the online store: name plus creation time, so a view deleted
   * and created again under the same name never sees the old one's values.
   */
  readonly group: string;
  /** Max age of a value in ms; 0 = never expires. */
  readonly ttlMs: number;
}

/** Resolves a stored view against its (stored) entities. */
export function resolveView(view: FeatureView, entities: ReadonlyMap<string, Entity>): ResolvedView {
  const keys = new Map<string, JoinKeySpec>();
  for (const name of view.entities) {
    const entity = entities.get(name);
    if (entity === undefined) throw new Error(`entity ${name} of feature view ${view.name} is not loaded`);
    for (const key of entity.joinKeys) keys.set(key.name, { name: key.name, type: key.type });
  }
  const features = view.features.map((f) => ({ name: f.name, type: f.type }));
  return {
    name: view.name,
    view,
    joinKeys: sortJoinKeys([...keys.values()]),
    features,
    featureIndex: new Map(features.map((f, i) => [f.name, i])),
    group: viewGroup(view),
    ttlMs: view.ttl === undefined ? 0 : durationMs(view.ttl),
  };
}

/** The online store group of a view (see {@link ResolvedView.group}). */
export function viewGroup(view: FeatureView): string {
  const created = view.createTime === undefined ? 0 : timestampMs(view.createTime);
  return `${view.name}.${created.toString(36)}`;
}
