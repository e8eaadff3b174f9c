import { clone, create, equals, type MessageShape } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { FailedPreconditionError, InvalidArgumentError } from "@seam/kit/errors";
import { checkDescription, checkResourceName, checkTags } from "@seam/kit/naming";
import { ColumnType, type Schema } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  type Entity,
  EntitySchema,
  type FeatureService,
  FeatureServiceSchema,
  type FeatureView,
  FeatureViewSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import { checkDefinitionName, checkIdentifier } from "../names.js";
import { typeName } from "../values.js";

// Pure checks of applied definitions. Each `normalize*` validates a definition on its own
// and returns a copy holding only what the client declares (the store's fields cleared);
// the `check*Against` functions validate it against what it names.

const VERSION_ID = /^[0-9a-f]{24}$/;
const MAX_TTL_MS = 100 * 365 * 24 * 3600 * 1000;

/** The declared content of an entity, validated. */
export function normalizeEntity(entity: Entity, where: string): Entity {
  checkDefinitionName(entity.name, "entity", `${where}.name`);
  checkDescription(entity.description, `${where}.description`);
  checkTags(entity.tags, `${where}.tags`);
  if (entity.joinKeys.length === 0)
    throw new InvalidArgumentError(`${where}.join_keys: at least one join key is required`);
  const seen = new Set<string>();
  entity.joinKeys.forEach((key, i) => {
    const field = `${where}.join_keys[${i}]`;
    checkIdentifier(key.name, `${field}.name`);
    if (seen.has(key.name))
      throw new InvalidArgumentError(`${field}.name: join key "${key.name}" is listed twice`);
    seen.add(key.name);
    if (key.type !== ColumnType.INT64 && key.type !== ColumnType.STRING) {
      throw new InvalidArgumentError(
        `${field}.type: a join key must be int64 or string, got ${typeName(key.type)}`,
      );
    }
  });
  return create(EntitySchema, {
    name: entity.name,
    joinKeys: entity.joinKeys,
    description: entity.description,
    tags: entity.tags,
  });
}

/** Refuses changing an existing entity's join keys (every stored entity key depends on them). */
export function checkEntityChange(previous: Entity, next: Entity): void {
  const same =
    previous.joinKeys.length === next.joinKeys.length &&
    previous.joinKeys.every((k, i) => k.name === next.joinKeys[i]?.name && k.type === next.joinKeys[i]?.type);
  if (!same) {
    throw new FailedPreconditionError(
      `entity ${next.name}: join keys cannot change once applied (they identify every stored value); delete the entity or use a new name`,
    );
  }
}

/** The declared content of a feature view, validated on its own. */
export function normalizeView(view: FeatureView, where: string): FeatureView {
  checkDefinitionName(view.name, "feature_view", `${where}.name`);
  checkDescription(view.description, `${where}.description`);
  checkTags(view.tags, `${where}.tags`);
  if (view.entities.length === 0)
    throw new InvalidArgumentError(`${where}.entities: at least one entity is required`);
  const entities = new Set<string>();
  view.entities.forEach((name, i) => {
    checkDefinitionName(name, "entity", `${where}.entities[${i}]`);
    if (entities.has(name))
      throw new InvalidArgumentError(`${where}.entities[${i}]: entity ${name} is listed twice`);
    entities.add(name);
  });
  if (view.features.length === 0)
    throw new InvalidArgumentError(`${where}.features: at least one feature is required`);
  const features = new Set<string>();
  view.features.forEach((feature, i) => {
    const field = `${where}.features[${i}]`;
    checkIdentifier(feature.name, `${field}.name`);
    if (features.has(feature.name))
      throw new InvalidArgumentError(`${field}.name: feature "${feature.name}" is listed twice`);
    features.add(feature.name);
    checkDescription(feature.description, `${field}.description`);
    if (ColumnType[feature.type] === undefined)
      throw new InvalidArgumentError(`${field}.type: unknown type ${feature.type}`);
  });
  const source = view.source;
  if (source === undefined) throw new InvalidArgumentError(`${where}.source is required`);
  checkResourceName(source.dataset, "dataset", `${where}.source.dataset`);
  if (source.version !== "" && !VERSION_ID.test(source.version)) {
    throw new InvalidArgumentError(
      `${where}.source.version must be a version id of 24 hex digits (or empty for the latest), got ${JSON.stringify(source.version)}`,
    );
  }
  if (source.timestampColumn === "")
    throw new InvalidArgumentError(`${where}.source.timestamp_column is required`);
  if (features.has(source.timestampColumn)) {
    throw new InvalidArgumentError(
      `${where}.source.timestamp_column "${source.timestampColumn}" is also a feature`,
    );
  }
  if (view.ttl !== undefined) {
    const ms = durationMs(view.ttl);
    if (!(ms >= 0 && ms <= MAX_TTL_MS)) {
      throw new InvalidArgumentError(`${where}.ttl must be between 0 (never expires) and 100 years`);
    }
  }
  const normalized = create(FeatureViewSchema, {
    name: view.name,
    entities: view.entities,
    features: view.features,
    source,
    description: view.description,
    tags: view.tags,
  });
  if (view.ttl !== undefined && durationMs(view.ttl) > 0) normalized.ttl = view.ttl;
  return normalized;
}

/**
 * Checks a normalized view against its entities and its source dataset's schema: join
 * keys, timestamp and feature columns must exist with matching types. Fills in feature
 * types left unspecified from the source. INVALID_ARGUMENT names the first problem.
 */
export function checkViewAgainst(
  view: FeatureView,
  entities: ReadonlyMap<string, Entity>,
  source: { readonly ref: string; readonly schema: Schema | undefined },
  where: string,
): FeatureView {
  const columns = new Map((source.schema?.columns ?? []).map((c) => [c.name, c.type]));
  const joinKeys = new Map<string, ColumnType>();
  for (const name of view.entities) {
    const entity = entities.get(name);
    if (entity === undefined) throw new InvalidArgumentError(`${where}.entities: unknown entity ${name}`);
    for (const key of entity.joinKeys) {
      const other = joinKeys.get(key.name);
      if (other !== undefined && other !== key.type) {
        throw new InvalidArgumentError(
          `${where}.entities: join key "${key.name}" is ${typeName(other)} in one entity and ${typeName(key.type)} in another`,
        );
      }
      joinKeys.set(key.name, key.type);
    }
  }
  const column = (name: string, what: string, expected: ColumnType | undefined): ColumnType => {
    const type = columns.get(name);
    if (type === undefined) {
      throw new InvalidArgumentError(`${where}: ${what} "${name}" is not a column of source ${source.ref}`);
    }
    if (expected !== undefined && expected !== ColumnType.UNSPECIFIED && type !== expected) {
      throw new InvalidArgumentError(
        `${where}: ${what} "${name}" is ${typeName(expected)} but column "${name}" of source ${source.ref} is ${typeName(type)}`,
      );
    }
    return type;
  };
  for (const [name, type] of joinKeys) {
    if (view.features.some((f) => f.name === name)) {
      throw new InvalidArgumentError(`${where}: feature "${name}" has the name of a join key`);
    }
    column(name, "join key", type);
  }
  column(view.source?.timestampColumn ?? "", "timestamp column", ColumnType.TIMESTAMP);
  const checked = clone(FeatureViewSchema, view);
  for (const feature of checked.features) feature.type = column(feature.name, "feature", feature.type);
  return checked;
}

/** Refuses changes that would make stored online values mean something else. */
export function checkViewChange(previous: FeatureView, next: FeatureView): void {
  const sameEntities =
    previous.entities.length === next.entities.length &&
    previous.entities.every((e, i) => e === next.entities[i]);
  if (!sameEntities) {
    throw new FailedPreconditionError(
      `feature view ${next.name}: entities cannot change once applied; delete the view or use a new name`,
    );
  }
  const types = new Map(previous.features.map((f) => [f.name, f.type]));
  for (const feature of next.features) {
    const before = types.get(feature.name);
    if (before !== undefined && before !== feature.type) {
      throw new FailedPreconditionError(
        `feature view ${next.name}: feature "${feature.name}" cannot change type (${typeName(before)} → ${typeName(feature.type)}); add a feature with a new name`,
      );
    }
  }
}

/** The declared content of a feature service, validated on its own. */
export function normalizeService(service: FeatureService, where: string): FeatureService {
  checkDefinitionName(service.name, "feature_service", `${where}.name`);
  checkDescription(service.description, `${where}.description`);
  checkTags(service.tags, `${where}.tags`);
  if (service.features.length === 0)
    throw new InvalidArgumentError(`${where}.features: at least one feature view is required`);
  const views = new Set<string>();
  service.features.forEach((projection, i) => {
    const field = `${where}.features[${i}]`;
    checkDefinitionName(projection.featureView, "feature_view", `${field}.feature_view`);
    if (views.has(projection.featureView)) {
      throw new InvalidArgumentError(`${field}: feature view ${projection.featureView} is listed twice`);
    }
    views.add(projection.featureView);
    const names = new Set<string>();
    projection.features.forEach((name, j) => {
      checkIdentifier(name, `${field}.features[${j}]`);
      if (names.has(name))
        throw new InvalidArgumentError(`${field}.features[${j}]: feature "${name}" is listed twice`);
      names.add(name);
    });
  });
  return create(FeatureServiceSchema, {
    name: service.name,
    features: service.features,
    description: service.description,
    tags: service.tags,
  });
}

/** Checks a normalized service against the views it names. */
export function checkServiceAgainst(
  service: FeatureService,
  views: ReadonlyMap<string, FeatureView>,
  where: string,
): void {
  service.features.forEach((projection, i) => {
    const view = views.get(projection.featureView);
    if (view === undefined) {
      throw new InvalidArgumentError(
        `${where}.features[${i}]: unknown feature view ${projection.featureView}`,
      );
    }
    for (const name of projection.features) {
      if (!view.features.some((f) => f.name === name)) {
        throw new InvalidArgumentError(
          `${where}.features[${i}]: feature view ${view.name} has no feature "${name}"`,
        );
      }
    }
  });
}

/** Whether two definitions declare the same content (ignoring what the store sets). */
export function sameEntity(a: Entity, b: Entity): boolean {
  return equals(EntitySchema, declared(EntitySchema, a), declared(EntitySchema, b));
}

/** Whether two views declare the same content. */
export function sameView(a: FeatureView, b: FeatureView): boolean {
  const x = declared(FeatureViewSchema, a);
  const y = declared(FeatureViewSchema, b);
  x.materialization = undefined;
  y.materialization = undefined;
  return equals(FeatureViewSchema, x, y);
}

/** Whether two services declare the same content. */
export function sameService(a: FeatureService, b: FeatureService): boolean {
  return equals(FeatureServiceSchema, declared(FeatureServiceSchema, a), declared(FeatureServiceSchema, b));
}

type DefinitionSchema = typeof EntitySchema | typeof FeatureViewSchema | typeof FeatureServiceSchema;

function declared<S extends DefinitionSchema>(schema: S, message: MessageShape<S>): MessageShape<S> {
  const copy = clone(schema, message);
  copy.version = 0n;
  copy.createTime = undefined;
  copy.updateTime = undefined;
  return copy;
}
