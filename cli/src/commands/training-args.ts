/** Parsing of `seam train` and `seam jobs` arguments into a job spec. Pure, so unit-tested. */
import { parseArgs } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Activation,
  type JobSpecSchema,
  JobState,
  MissingValues,
  Optimizer,
  Task,
} from "@seam/proto/seam/training/v1/training_pb";
import { UsageError } from "../args.js";
import { parseDatasetRef, type SplitSpecInit } from "./dataset-args.js";

/** A job spec as SubmitJobRequest takes it. */
export type JobSpecInit = MessageInitShape<typeof JobSpecSchema>;

/** What `seam train` was asked to do. */
export interface TrainCommand {
  readonly spec: JobSpecInit;
  /** Submit and return without watching. */
  readonly detach: boolean;
}

const MAX_UINT64 = (1n << 64n) - 1n;

/** The options of `seam train` that make up a job spec; `seam sweep create` takes them for its base. */
export const JOB_SPEC_OPTIONS = {
  dataset: { type: "string" },
  "feature-service": { type: "string" },
  "entity-dataset": { type: "string" },
  "timestamp-column": { type: "string" },
  "output-dataset": { type: "string" },
  label: { type: "string" },
  task: { type: "string" },
  "model-name": { type: "string" },
  features: { type: "string" },
  hidden: { type: "string" },
  activation: { type: "string" },
  dropout: { type: "string" },
  optimizer: { type: "string" },
  "learning-rate": { type: "string" },
  epochs: { type: "string" },
  "batch-size": { type: "string" },
  "early-stopping": { type: "string" },
  seed: { type: "string" },
  "missing-values": { type: "string" },
  split: { type: "string" },
  alias: { type: "string" },
  description: { type: "string" },
} as const;

/** The values of {@link JOB_SPEC_OPTIONS} as parseArgs returns them. */
export type JobSpecValues = { readonly [K in keyof typeof JOB_SPEC_OPTIONS]?: string | undefined };

/** Options that only go with --feature-service (the entity rows and where the joined data goes). */
const FEATURE_SERVICE_ONLY = ["entity-dataset", "timestamp-column", "output-dataset"] as const;

/**
 * Parses the arguments of `seam train` into a job spec. The command line is checked here
 * (required options, the shape of each value); ranges and the spec against its dataset are
 * the service's to check, so its messages name the spec field. Options left out stay unset,
 * and the service fills in its defaults.
 */
export function parseTrainArgs(argv: string[]): TrainCommand {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...JOB_SPEC_OPTIONS, detach: { type: "boolean" } },
  });
  if (positionals.length > 0)
    throw new UsageError(`train takes options only, got "${positionals.join(" ")}"`);
  return {
    detach: values.detach === true,
    spec: parseJobSpec(
      values,
      "train",
      "seam train --dataset iris --label species --task multiclass --model-name iris-mlp",
    ),
  };
}

/**
 * The job spec the {@link JOB_SPEC_OPTIONS} given describe. `command` names the command in
 * usage messages, and `example` is a whole command line that works.
 */
export function parseJobSpec(values: JobSpecValues, command: string, example: string): JobSpecInit {
  const fromFeatures = values["feature-service"] !== undefined;
  if (fromFeatures && values.dataset !== undefined) {
    throw new UsageError(
      `${command} takes --dataset or --feature-service, not both: the data is a dataset version, or a feature service joined onto an entity dataset`,
    );
  }
  const required: string[] = [];
  if (!fromFeatures && values.dataset === undefined) required.push("dataset or --feature-service");
  // A joined version is new: it has no split to fall back on.
  if (fromFeatures)
    required.push(...(["entity-dataset", "split"] as const).filter((o) => values[o] === undefined));
  required.push(...(["label", "task", "model-name"] as const).filter((o) => values[o] === undefined));
  if (required.length > 0)
    throw new UsageError(`${command} needs ${required.map((o) => `--${o}`).join(", ")} (e.g. "${example}")`);
  if (fromFeatures && values.features !== undefined) {
    throw new UsageError(
      "--features goes with --dataset: with --feature-service, the feature service's features are the inputs",
    );
  }
  const stray = FEATURE_SERVICE_ONLY.filter((o) => !fromFeatures && values[o] !== undefined);
  if (stray.length > 0)
    throw new UsageError(
      `${stray.map((o) => `--${o}`).join(", ")} ${stray.length === 1 ? "goes" : "go"} with --feature-service`,
    );
  const split = values.split === undefined ? undefined : parseTrainSplit(values.split);
  const earlyStopping =
    values["early-stopping"] === undefined ? undefined : parseEarlyStopping(values["early-stopping"]);
  const label = values.label ?? "";
  const data: Pick<JobSpecInit, "dataset" | "features"> = fromFeatures
    ? { features: featureServiceInput(values, label, split) }
    : {
        dataset: {
          ...parseDatasetRef(values.dataset, "--dataset"),
          labelColumn: label,
          featureColumns: parseNameList(values.features, "features"),
          ...(split === undefined ? {} : { split }),
        },
      };
  return {
    ...data,
    task: parseTask(values.task),
    model: {
      hiddenUnits: values.hidden === undefined ? [] : parseHiddenUnits(values.hidden),
      activation:
        values.activation === undefined ? Activation.UNSPECIFIED : parseActivation(values.activation),
      dropout: values.dropout === undefined ? 0 : parseNumber(values.dropout, "dropout"),
    },
    training: {
      optimizer: values.optimizer === undefined ? Optimizer.UNSPECIFIED : parseOptimizer(values.optimizer),
      learningRate:
        values["learning-rate"] === undefined ? 0 : parseNumber(values["learning-rate"], "learning-rate"),
      epochs: values.epochs === undefined ? 0 : parseCount(values.epochs, "epochs"),
      batchSize: values["batch-size"] === undefined ? 0 : parseCount(values["batch-size"], "batch-size"),
      seed: values.seed === undefined ? 0n : parseSeed(values.seed, "--seed"),
      missingValues:
        values["missing-values"] === undefined
          ? MissingValues.UNSPECIFIED
          : parseMissingValues(values["missing-values"]),
      ...(earlyStopping === undefined ? {} : { earlyStopping }),
    },
    registration: {
      modelName: values["model-name"] ?? "",
      alias: values.alias ?? "",
      description: values.description ?? "",
    },
  };
}

/** The features input of `--feature-service S --entity-dataset D[@ID] …`; the service fills in the defaults. */
function featureServiceInput(
  values: JobSpecValues,
  label: string,
  split: SplitSpecInit | undefined,
): NonNullable<JobSpecInit["features"]> {
  const entity = parseDatasetRef(values["entity-dataset"], "--entity-dataset");
  const timestampColumn = values["timestamp-column"] ?? "";
  const outputDataset = values["output-dataset"] ?? "";
  if (values["feature-service"] === "")
    throw new UsageError("--feature-service needs a feature service name");
  if (values["timestamp-column"] === "") throw new UsageError("--timestamp-column needs a column name");
  if (values["output-dataset"] === "") throw new UsageError("--output-dataset needs a dataset name");
  return {
    featureService: values["feature-service"] ?? "",
    entityDataset: entity.dataset,
    entityVersion: entity.version,
    timestampColumn,
    labelColumn: label,
    outputDataset,
    ...(split === undefined ? {} : { split }),
  };
}

const TASKS: Readonly<Record<string, Task>> = {
  binary: Task.BINARY_CLASSIFICATION,
  "binary-classification": Task.BINARY_CLASSIFICATION,
  binary_classification: Task.BINARY_CLASSIFICATION,
  multiclass: Task.MULTICLASS_CLASSIFICATION,
  "multiclass-classification": Task.MULTICLASS_CLASSIFICATION,
  multiclass_classification: Task.MULTICLASS_CLASSIFICATION,
  regression: Task.REGRESSION,
};

/** Parses `--task binary|multiclass|regression` (also the proto's names, any case). */
export function parseTask(raw: string | undefined): Task {
  const key = (raw ?? "").toLowerCase().replace(/^task_/, "");
  const task = Object.hasOwn(TASKS, key) ? TASKS[key] : undefined;
  if (task === undefined)
    throw new UsageError(`--task must be binary, multiclass or regression, got "${raw ?? ""}"`);
  return task;
}

/** Parses `--activation relu|tanh|sigmoid`. */
export function parseActivation(raw: string): Activation {
  return parseEnumOption(raw, "activation", {
    relu: Activation.RELU,
    tanh: Activation.TANH,
    sigmoid: Activation.SIGMOID,
  });
}

/** Parses `--optimizer adam|sgd`. */
export function parseOptimizer(raw: string): Optimizer {
  return parseEnumOption(raw, "optimizer", { adam: Optimizer.ADAM, sgd: Optimizer.SGD });
}

/** Parses `--missing-values mean|zero`. */
export function parseMissingValues(raw: string): MissingValues {
  return parseEnumOption(raw, "missing-values", { mean: MissingValues.MEAN, zero: MissingValues.ZERO });
}

const STATES: Readonly<Record<string, JobState>> = {
  queued: JobState.QUEUED,
  running: JobState.RUNNING,
  succeeded: JobState.SUCCEEDED,
  failed: JobState.FAILED,
  cancelled: JobState.CANCELLED,
  canceled: JobState.CANCELLED,
};

/** Parses `--state queued|running|succeeded|failed|cancelled` (also the proto's names, any case). */
export function parseJobState(raw: string): JobState {
  const key = raw.toLowerCase().replace(/^job_state_/, "");
  const state = Object.hasOwn(STATES, key) ? STATES[key] : undefined;
  if (state === undefined) {
    throw new UsageError(`--state must be queued, running, succeeded, failed or cancelled, got "${raw}"`);
  }
  return state;
}

/**
 * Parses `--hidden 16,16`: units per hidden layer. "none" (or "") is no hidden layer: a
 * linear or logistic model. Layer and unit limits are the service's to check.
 */
export function parseHiddenUnits(raw: string): number[] {
  if (raw.trim() === "" || raw.trim().toLowerCase() === "none") return [];
  return raw.split(",").map((part) => {
    const text = part.trim();
    if (!/^[1-9][0-9]{0,8}$/.test(text))
      throw new UsageError(`--hidden takes units per layer separated by "," (e.g. "16,16"), got "${raw}"`);
    return Number(text);
  });
}

/** Parses `--early-stopping metric:patience`, e.g. "val_loss:5". */
export function parseEarlyStopping(raw: string): { metric: string; patience: number } {
  const colon = raw.lastIndexOf(":");
  const metric = colon < 0 ? "" : raw.slice(0, colon).trim();
  const patience = colon < 0 ? "" : raw.slice(colon + 1).trim();
  if (metric === "" || !/^[1-9][0-9]{0,8}$/.test(patience)) {
    throw new UsageError(
      `--early-stopping takes metric:patience (e.g. "val_loss:5" or "val_accuracy:10"), got "${raw}"`,
    );
  }
  return { metric, patience: Number(patience) };
}

/**
 * Parses `--split train,val,test[:seed[:key_column]]`, e.g. "0.7,0.15,0.15" or "70,15,15:42":
 * the split recorded on a dataset version that has none yet. The shares are fractions
 * adding up to 1, or percentages adding up to 100; the seed is 0 when left out.
 */
export function parseTrainSplit(raw: string): SplitSpecInit {
  const [sharesText = "", seedText, keyColumn, ...extra] = raw.split(":");
  const usage = `--split takes train,val,test[:seed[:key_column]], e.g. "0.7,0.15,0.15" or "70,15,15:42", got "${raw}"`;
  const shares = sharesText
    .split(",")
    .map((s) => (/^[0-9]*\.?[0-9]+$/.test(s.trim()) ? Number(s) : Number.NaN));
  if (shares.length !== 3 || shares.some((s) => !Number.isFinite(s)) || extra.length > 0 || keyColumn === "")
    throw new UsageError(usage);
  const seed = seedText === undefined ? 0n : parseSeed(seedText, "--split", usage);
  const sum = shares.reduce((a, b) => a + b, 0);
  // Percentages are what people type; the service wants fractions.
  const scale = Math.abs(sum - 100) < 1e-6 ? 100 : 1;
  if (Math.abs(sum / scale - 1) > 1e-6) {
    throw new UsageError(
      `--split: the shares add up to ${Number(sum.toPrecision(12))}; they must add up to 1 (or 100 as percentages)`,
    );
  }
  const [train = 0, validation = 0, test = 0] = shares.map((s) => s / scale);
  return {
    seed,
    trainFraction: train,
    validationFraction: validation,
    testFraction: test,
    keyColumn: keyColumn ?? "",
  };
}

/** Parses `--features a,b,c` into column names; undefined means every column but the label. */
export function parseNameList(raw: string | undefined, option: string): string[] {
  if (raw === undefined) return [];
  const names = raw.split(",").map((c) => c.trim());
  if (names.some((c) => c === ""))
    throw new UsageError(`--${option} takes column names separated by ",", got "${raw}"`);
  return names;
}

/** A uint64 option (`--seed`); `usage` replaces the message when it is part of a bigger value. */
export function parseSeed(raw: string, option: string, usage?: string): bigint {
  if (!/^[0-9]{1,20}$/.test(raw) || BigInt(raw) > MAX_UINT64)
    throw new UsageError(usage ?? `${option} takes a whole number from 0 to 2^64-1, got "${raw}"`);
  return BigInt(raw);
}

/** A number option (`--dropout`, `--learning-rate`); its range is the service's to check. */
export function parseNumber(raw: string, option: string): number {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value))
    throw new UsageError(`--${option} takes a number, got "${raw}"`);
  return value;
}

/** A positive whole number option (`--epochs`, `--batch-size`). */
export function parseCount(raw: string, option: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(raw))
    throw new UsageError(`--${option} takes a whole number above 0, got "${raw}"`);
  return Number(raw);
}

/** One of `choices` by its name (any case); the usage error lists them. */
export function parseEnumOption<T>(raw: string, option: string, choices: Readonly<Record<string, T>>): T {
  const key = raw.toLowerCase();
  const value = Object.hasOwn(choices, key) ? choices[key] : undefined;
  if (value === undefined) {
    const names = Object.keys(choices);
    throw new UsageError(
      `--${option} must be ${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}, got "${raw}"`,
    );
  }
  return value;
}
