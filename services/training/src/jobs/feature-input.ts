import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { InvalidArgumentError } from "@seam/kit/errors";
import { ColumnType, type DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { Entity, FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import type { JobSpec } from "@seam/proto/seam/training/v1/training_pb";
import { resolveLabel, typeName } from "./validate-spec.js";

// Submit-time checks of a features job (spec.features) against the feature store and the
// entity dataset. The join itself runs when the job runs; what would make it fail for a
// reason the client can fix is refused now, naming the field.

/** The services a features job is checked against. */
export interface FeatureInputClients {
  readonly datasets: Client<typeof DatasetService>;
  readonly features: Client<typeof FeatureStoreService>;
}

/**
 * Checks a normalized spec's `features` against what the point-in-time join will read: the
 * feature service and its views exist; the entity dataset version exists with the views'
 * join keys, a timestamp column and a label that fits the task; the joined feature columns
 * collide with no entity column nor each other, and none is a timestamp; the split's key
 * column will exist. Pins `entity_version` to the id it resolved to. Throws
 * InvalidArgumentError naming the field.
 */
export async function checkFeatureInput(
  spec: JobSpec,
  clients: FeatureInputClients,
  signal: AbortSignal,
): Promise<void> {
  const input = spec.features;
  if (input === undefined) throw new Error("checkFeatureInput needs spec.features");
  const serviceField = "spec.features.feature_service";
  const { featureService: service } = await invalidArgumentOn(serviceField, () =>
    clients.features.getFeatureService({ name: input.featureService }, { signal }),
  );
  if (service === undefined) throw new Error("the feature store returned no feature service");

  const { version } = await invalidArgumentOn("spec.features.entity_dataset", () =>
    clients.datasets.getDatasetVersion(
      { dataset: input.entityDataset, version: input.entityVersion },
      { signal },
    ),
  );
  if (version === undefined) throw new Error("the dataset service returned no version");
  const columns = new Map((version.schema?.columns ?? []).map((c) => [c.name, c.type]));
  if (columns.get(input.timestampColumn) !== ColumnType.TIMESTAMP) {
    throw new InvalidArgumentError(
      `spec.features.timestamp_column: ${version.ref} has no timestamp column "${input.timestampColumn}"`,
    );
  }
  resolveLabel(spec.task, input.labelColumn, version, "spec.features.label_column");

  const entities = new Map<string, Entity>();
  const joined = new Map<string, ColumnType>();
  for (const projection of service.features) {
    const { featureView: view } = await invalidArgumentOn(serviceField, () =>
      clients.features.getFeatureView({ name: projection.featureView }, { signal }),
    );
    if (view === undefined) throw new Error("the feature store returned no feature view");
    for (const name of view.entities) {
      let entity = entities.get(name);
      if (entity === undefined) {
        const response = await invalidArgumentOn(serviceField, () =>
          clients.features.getEntity({ name }, { signal }),
        );
        if (response.entity === undefined) throw new Error("the feature store returned no entity");
        entity = response.entity;
        entities.set(name, entity);
      }
      for (const key of entity.joinKeys) {
        if (columns.get(key.name) !== key.type) {
          throw new InvalidArgumentError(
            `spec.features.entity_dataset: ${version.ref} needs ${typeName(key.type)} column "${key.name}" (a join key of feature view ${view.name})`,
          );
        }
      }
    }
    const selected =
      projection.features.length === 0
        ? view.features
        : view.features.filter((f) => projection.features.includes(f.name));
    for (const feature of selected) {
      // The join names a feature column after the feature (training asks for no view prefixes).
      if (columns.has(feature.name)) {
        throw new InvalidArgumentError(
          `${serviceField}: feature "${feature.name}" of feature view ${view.name} has the name of a column of ${version.ref}; rename the column`,
        );
      }
      if (joined.has(feature.name)) {
        throw new InvalidArgumentError(
          `${serviceField}: feature "${feature.name}" is selected from two feature views of ${service.name}`,
        );
      }
      if (feature.type === ColumnType.TIMESTAMP) {
        throw new InvalidArgumentError(
          `${serviceField}: feature "${feature.name}" of feature view ${view.name} is a timestamp, which a model cannot take as an input`,
        );
      }
      joined.set(feature.name, feature.type);
    }
  }

  const key = input.split?.keyColumn ?? "";
  if (key !== "") {
    const type = columns.get(key) ?? joined.get(key);
    if (type === undefined) {
      throw new InvalidArgumentError(
        `spec.features.split.key_column: the joined data (${version.ref} and the features of ${service.name}) has no column "${key}"`,
      );
    }
    if (type === ColumnType.FLOAT64) {
      throw new InvalidArgumentError(
        `spec.features.split.key_column: "${key}" is float64; use an int64, string, bool or timestamp column`,
      );
    }
  }
  input.entityVersion = version.id;
}

/** Runs a lookup, turning NOT_FOUND and INVALID_ARGUMENT into INVALID_ARGUMENT naming `field`. */
async function invalidArgumentOn<T>(field: string, lookup: () => Promise<T>): Promise<T> {
  try {
    return await lookup();
  } catch (err) {
    if (err instanceof ConnectError && (err.code === Code.NotFound || err.code === Code.InvalidArgument)) {
      throw new InvalidArgumentError(`${field}: ${err.rawMessage}`);
    }
    throw err;
  }
}
