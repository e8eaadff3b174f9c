import { clone, create } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@seam/kit/errors";
import { checkDescription, checkResourceName } from "@seam/kit/naming";
import { ColumnType, type DatasetVersion, type SplitSpec } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  Activation,
  type FeatureServiceInput,
  type JobSpec,
  JobSpecSchema,
  MissingValues,
  ModelSpecSchema,
  Optimizer,
  Task,
  TrainingParamsSchema,
} from "@seam/proto/seam/training/v1/training_pb";

// Submit-time validation: everything a job could fail on later for a reason the client can
// fix is refused now, naming the field. The returned spec has every default filled in, so
// a stored job says exactly what ran.

const MAX_LAYERS = 8;
const MAX_UNITS = 4096;
const ALIAS = /^[a-z][a-z0-9-]{0,62}$/;
// The dataset service's tolerance on a split's fraction sum.
const SPLIT_SUM_TOLERANCE = 1e-9;
// The feature store's default timestamp column of entity rows.
const DEFAULT_TIMESTAMP_COLUMN = "event_timestamp";
const LOWER_IS_BETTER = new Set([
  "val_loss",
  "val_log_loss",
  "val_rmse",
  "val_mae",
  "loss",
  "log_loss",
  "rmse",
  "mae",
]);

/** Metrics early stopping may watch, by task. */
export function stoppingMetrics(task: Task): string[] {
  const base = ["loss", "val_loss"];
  if (task === Task.REGRESSION) return [...base, "rmse", "mae", "r2", "val_rmse", "val_mae", "val_r2"];
  return [...base, "accuracy", "auc", "log_loss", "val_accuracy", "val_auc", "val_log_loss"];
}

/** Whether a smaller value of `metric` is better. */
export function lowerIsBetter(metric: string): boolean {
  return LOWER_IS_BETTER.has(metric);
}

/** Checks a spec on its own and fills in defaults; throws InvalidArgumentError naming the field. */
export function normalizeSpec(spec: JobSpec | undefined): JobSpec {
  if (spec === undefined) throw new InvalidArgumentError("spec is required");
  const out = clone(JobSpecSchema, spec);
  const data = out.dataset;
  if (data !== undefined && out.features !== undefined) {
    throw new InvalidArgumentError(
      "spec.dataset and spec.features are both set; name the data with exactly one of them",
    );
  }
  if (data === undefined && out.features === undefined) {
    throw new InvalidArgumentError(
      "spec.dataset or spec.features is required (a dataset version, or a feature service and an entity dataset)",
    );
  }
  if (data !== undefined) {
    checkResourceName(data.dataset, "dataset", "spec.dataset.dataset");
    checkVersionId(data.version, "spec.dataset.version");
    if (data.labelColumn === "") throw new InvalidArgumentError("spec.dataset.label_column is required");
    if (new Set(data.featureColumns).size !== data.featureColumns.length) {
      throw new InvalidArgumentError("spec.dataset.feature_columns lists a column twice");
    }
    if (data.featureColumns.includes(data.labelColumn)) {
      throw new InvalidArgumentError(
        `spec.dataset.feature_columns includes the label column "${data.labelColumn}"`,
      );
    }
    // A split is recorded on the dataset version before the job is queued: refuse one that
    // cannot give training and validation rows before it is recorded.
    if (data.split !== undefined) checkSplitFractions(data.split, "spec.dataset.split");
  }
  if (out.task === Task.UNSPECIFIED || Task[out.task] === undefined) {
    throw new InvalidArgumentError(
      "spec.task must be TASK_BINARY_CLASSIFICATION, TASK_MULTICLASS_CLASSIFICATION or TASK_REGRESSION",
    );
  }

  out.model ??= create(ModelSpecSchema);
  const model = out.model;
  if (model.hiddenUnits.length > MAX_LAYERS)
    throw new InvalidArgumentError(`spec.model.hidden_units: at most ${MAX_LAYERS} layers`);
  model.hiddenUnits.forEach((units, i) => {
    if (!(units >= 1 && units <= MAX_UNITS)) {
      throw new InvalidArgumentError(
        `spec.model.hidden_units[${i}] must be between 1 and ${MAX_UNITS}, got ${units}`,
      );
    }
  });
  if (model.activation === Activation.UNSPECIFIED) model.activation = Activation.RELU;
  if (Activation[model.activation] === undefined)
    throw new InvalidArgumentError(`spec.model.activation: unknown value ${model.activation}`);
  if (!(model.dropout >= 0 && model.dropout <= 0.9))
    throw new InvalidArgumentError(`spec.model.dropout must be between 0 and 0.9, got ${model.dropout}`);

  out.training ??= create(TrainingParamsSchema);
  const training = out.training;
  if (training.optimizer === Optimizer.UNSPECIFIED) training.optimizer = Optimizer.ADAM;
  if (Optimizer[training.optimizer] === undefined)
    throw new InvalidArgumentError(`spec.training.optimizer: unknown value ${training.optimizer}`);
  if (training.learningRate === 0) training.learningRate = training.optimizer === Optimizer.SGD ? 0.1 : 0.01;
  if (!(training.learningRate > 0 && training.learningRate <= 10)) {
    throw new InvalidArgumentError(
      `spec.training.learning_rate must be above 0 and at most 10, got ${training.learningRate}`,
    );
  }
  if (training.epochs === 0) training.epochs = 50;
  if (!(training.epochs >= 1 && training.epochs <= 10_000))
    throw new InvalidArgumentError(
      `spec.training.epochs must be between 1 and 10000, got ${training.epochs}`,
    );
  if (training.batchSize === 0) training.batchSize = 32;
  if (!(training.batchSize >= 1 && training.batchSize <= 65_536)) {
    throw new InvalidArgumentError(
      `spec.training.batch_size must be between 1 and 65536, got ${training.batchSize}`,
    );
  }
  if (training.missingValues === MissingValues.UNSPECIFIED) training.missingValues = MissingValues.MEAN;
  const stopping = training.earlyStopping;
  if (stopping !== undefined) {
    const allowed = stoppingMetrics(out.task);
    if (!allowed.includes(stopping.metric)) {
      throw new InvalidArgumentError(
        `spec.training.early_stopping.metric must be one of ${allowed.join(", ")}, got ${JSON.stringify(stopping.metric)}`,
      );
    }
    if (!(stopping.patience >= 1 && stopping.patience <= 10_000)) {
      throw new InvalidArgumentError(
        `spec.training.early_stopping.patience must be at least 1, got ${stopping.patience}`,
      );
    }
  }

  const registration = out.registration;
  if (registration === undefined)
    throw new InvalidArgumentError("spec.registration is required (model_name)");
  checkResourceName(registration.modelName, "model", "spec.registration.model_name");
  if (registration.alias !== "" && !ALIAS.test(registration.alias)) {
    throw new InvalidArgumentError(
      `spec.registration.alias ${JSON.stringify(registration.alias)} is not a valid alias (lower-case letters, digits and "-", starting with a letter)`,
    );
  }
  checkDescription(registration.description, "spec.registration.description");
  if (out.features !== undefined) normalizeFeatureInput(out.features, registration.modelName);
  return out;
}

/**
 * Checks spec.features on its own and fills in its defaults (timestamp column, output
 * dataset). Its split is recorded on the joined version only when the job runs, so it is
 * required, and checked in full now.
 */
function normalizeFeatureInput(input: FeatureServiceInput, modelName: string): void {
  checkResourceName(input.featureService, "feature service", "spec.features.feature_service");
  checkResourceName(input.entityDataset, "dataset", "spec.features.entity_dataset");
  checkVersionId(input.entityVersion, "spec.features.entity_version");
  if (input.timestampColumn === "") input.timestampColumn = DEFAULT_TIMESTAMP_COLUMN;
  if (input.labelColumn === "") throw new InvalidArgumentError("spec.features.label_column is required");
  if (input.outputDataset === "") input.outputDataset = `${modelName}-training`;
  checkResourceName(input.outputDataset, "dataset", "spec.features.output_dataset");
  if (input.split === undefined) {
    throw new InvalidArgumentError(
      "spec.features.split is required: it is recorded on the joined dataset version",
    );
  }
  // The dataset service checks a split only when the joined version exists: check all of it now.
  const split = input.split;
  checkSplitFractions(split, "spec.features.split");
  if (!(split.testFraction >= 0)) {
    throw new InvalidArgumentError(
      `spec.features.split.test_fraction must be between 0 and 1, got ${split.testFraction}`,
    );
  }
  const sum = split.trainFraction + split.validationFraction + split.testFraction;
  if (!(Math.abs(sum - 1) <= SPLIT_SUM_TOLERANCE)) {
    throw new InvalidArgumentError(
      `spec.features.split.train_fraction, validation_fraction and test_fraction must add up to 1, got ${sum}`,
    );
  }
}

/** Refuses a split that would leave no training or validation rows. */
function checkSplitFractions(split: SplitSpec, field: string): void {
  if (!(split.trainFraction > 0)) throw new InvalidArgumentError(`${field}.train_fraction must be above 0`);
  if (!(split.validationFraction > 0)) {
    throw new InvalidArgumentError(
      `${field}.validation_fraction must be above 0 (validation rows pick the model and check the ONNX export)`,
    );
  }
}

function checkVersionId(version: string, field: string): void {
  if (version !== "" && !/^[0-9a-f]{24}$/.test(version)) {
    throw new InvalidArgumentError(
      `${field} must be a version id of 24 hex digits or empty, got ${JSON.stringify(version)}`,
    );
  }
}

/** What the job reads: the feature columns by kind, the label and its type. */
export interface ResolvedColumns {
  readonly features: ReadonlyArray<{ readonly name: string; readonly kind: "numeric" | "categorical" }>;
  readonly label: { readonly name: string; readonly type: ColumnType };
}

/**
 * Checks the spec against the dataset version's schema and splits: every column exists with
 * a usable type, the label fits the task, and the train and validation splits have rows
 * (once the version has splits).
 */
export function resolveColumns(spec: JobSpec, version: DatasetVersion): ResolvedColumns {
  const data = spec.dataset;
  if (data === undefined) throw new Error("normalizeSpec requires spec.dataset");
  const columns = version.schema?.columns ?? [];
  const byName = new Map(columns.map((c) => [c.name, c.type]));
  const label = resolveLabel(spec.task, data.labelColumn, version, "spec.dataset.label_column");
  const names =
    data.featureColumns.length > 0
      ? data.featureColumns
      : columns
          .map((c) => c.name)
          .filter((n) => n !== data.labelColumn && byName.get(n) !== ColumnType.TIMESTAMP);
  if (names.length === 0)
    throw new InvalidArgumentError(
      `spec.dataset.feature_columns: ${version.ref} has no column to learn from`,
    );
  const features = names.map((name, i) => {
    const type = byName.get(name);
    if (type === undefined)
      throw new InvalidArgumentError(
        `spec.dataset.feature_columns[${i}]: ${version.ref} has no column "${name}"`,
      );
    if (type === ColumnType.TIMESTAMP) {
      throw new InvalidArgumentError(
        `spec.dataset.feature_columns[${i}]: "${name}" is a timestamp; derive numeric features from it first`,
      );
    }
    return { name, kind: type === ColumnType.STRING ? ("categorical" as const) : ("numeric" as const) };
  });
  const counts = version.splits?.counts;
  if (counts !== undefined) {
    if (counts.train === 0n)
      throw new InvalidArgumentError(`spec.dataset: the train split of ${version.ref} is empty`);
    if (counts.validation === 0n)
      throw new InvalidArgumentError(`spec.dataset: the validation split of ${version.ref} is empty`);
  }
  return { features, label };
}

/**
 * Checks that `version` has the label column `name` with a type that fits the task;
 * `field` names the spec field in the error.
 */
export function resolveLabel(
  task: Task,
  name: string,
  version: DatasetVersion,
  field: string,
): ResolvedColumns["label"] {
  const type = version.schema?.columns.find((c) => c.name === name)?.type;
  if (type === undefined) throw new InvalidArgumentError(`${field}: ${version.ref} has no column "${name}"`);
  if (task === Task.REGRESSION) {
    if (type !== ColumnType.INT64 && type !== ColumnType.FLOAT64) {
      throw new InvalidArgumentError(
        `${field} "${name}" is ${typeName(type)}; regression needs int64 or float64`,
      );
    }
  } else if (type === ColumnType.FLOAT64 || type === ColumnType.TIMESTAMP) {
    throw new InvalidArgumentError(
      `${field} "${name}" is ${typeName(type)}; classification needs string, bool or int64 classes`,
    );
  }
  return { name, type };
}

/** A column type as people write it: "int64", "timestamp". */
export function typeName(type: ColumnType): string {
  return ColumnType[type]?.toLowerCase() ?? String(type);
}
