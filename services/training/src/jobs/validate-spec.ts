import { clone, create } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@seam/kit/errors";
import { checkDescription, checkResourceName } from "@seam/kit/naming";
import { ColumnType, type DatasetVersion } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  Activation,
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
  if (data === undefined) throw new InvalidArgumentError("spec.dataset is required");
  checkResourceName(data.dataset, "dataset", "spec.dataset.dataset");
  if (data.version !== "" && !/^[0-9a-f]{24}$/.test(data.version)) {
    throw new InvalidArgumentError(
      `spec.dataset.version must be a version id of 24 hex digits or empty, got ${JSON.stringify(data.version)}`,
    );
  }
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
  if (data.split !== undefined) {
    if (!(data.split.trainFraction > 0))
      throw new InvalidArgumentError("spec.dataset.split.train_fraction must be above 0");
    if (!(data.split.validationFraction > 0)) {
      throw new InvalidArgumentError(
        "spec.dataset.split.validation_fraction must be above 0 (validation rows pick the model and check the ONNX export)",
      );
    }
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
  return out;
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
  const labelType = byName.get(data.labelColumn);
  if (labelType === undefined) {
    throw new InvalidArgumentError(
      `spec.dataset.label_column: ${version.ref} has no column "${data.labelColumn}"`,
    );
  }
  const label = { name: data.labelColumn, type: labelType };
  if (spec.task === Task.REGRESSION) {
    if (labelType !== ColumnType.INT64 && labelType !== ColumnType.FLOAT64) {
      throw new InvalidArgumentError(
        `spec.dataset.label_column "${data.labelColumn}" is ${typeName(labelType)}; regression needs int64 or float64`,
      );
    }
  } else if (labelType === ColumnType.FLOAT64 || labelType === ColumnType.TIMESTAMP) {
    throw new InvalidArgumentError(
      `spec.dataset.label_column "${data.labelColumn}" is ${typeName(labelType)}; classification needs string, bool or int64 classes`,
    );
  }
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

function typeName(type: ColumnType): string {
  return ColumnType[type]?.toLowerCase() ?? String(type);
}
