/** Text rendering of training jobs for `seam train` and `seam jobs`: states, epochs, specs. Pure. */
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import {
  Activation,
  type EpochMetrics,
  type Job,
  type JobSpec,
  JobState,
  MissingValues,
  Optimizer,
  Task,
} from "@seam/proto/seam/training/v1/training_pb";
import { formatSplitSpec } from "./dataset-format.js";

const BAR_WIDTH = 20;

/** The CLI's name of a task (what `--task` accepts). */
export function taskName(task: Task): string {
  switch (task) {
    case Task.BINARY_CLASSIFICATION:
      return "binary";
    case Task.MULTICLASS_CLASSIFICATION:
      return "multiclass";
    case Task.REGRESSION:
      return "regression";
    case Task.UNSPECIFIED:
      return "-";
    default:
      return `task ${task as number}`;
  }
}

/** The CLI's name of a job state (what `--state` accepts). */
export function stateName(state: JobState): string {
  // A state added to the proto after this CLI was built has no name here yet.
  return state === JobState.UNSPECIFIED
    ? "-"
    : (JobState[state]?.toLowerCase() ?? `state ${state as number}`);
}

/** Whether a job in `state` has ended. */
export function isFinished(state: JobState): boolean {
  return state === JobState.SUCCEEDED || state === JobState.FAILED || state === JobState.CANCELLED;
}

/**
 * The metrics an epoch line shows besides loss and val_loss: validation accuracy and AUC for
 * classification, validation RMSE and R² for regression.
 */
export function mainValidationMetrics(task: Task): string[] {
  return task === Task.REGRESSION ? ["val_rmse", "val_r2"] : ["val_accuracy", "val_auc"];
}

/** A metric value: four decimals, or four significant digits when very large or small. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return value.toPrecision(4);
  return value.toFixed(4);
}

/** A rate for people: "4,210" (whole numbers with separators), "0.52" below 10. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return "-";
  if (perSecond < 10) return perSecond.toFixed(2);
  return Math.round(perSecond).toLocaleString("en-US");
}

/** "name value  name value" for the named metrics present in `metrics`, in that order. */
export function formatMetrics(metrics: Readonly<Record<string, number>>, names?: readonly string[]): string {
  const shown = (names ?? Object.keys(metrics).sort()).filter((n) => Object.hasOwn(metrics, n));
  return shown.map((n) => `${n} ${formatMetric(metrics[n] ?? Number.NaN)}`).join("  ");
}

/**
 * One line per epoch: "epoch  7/60  loss 0.4321  val_loss 0.4012  val_accuracy 0.9565
 * val_auc 0.9901  4,210 samples/s" (the metrics the job's task reports).
 */
export function formatEpochLine(epoch: EpochMetrics, totalEpochs: number, task: Task): string {
  const total = totalEpochs > 0 ? String(totalEpochs) : "?";
  const number = String(epoch.epoch).padStart(total.length);
  const metrics = formatMetrics(epoch.metrics, ["loss", "val_loss", ...mainValidationMetrics(task)]);
  return `epoch ${number}/${total}  ${metrics}  ${formatRate(epoch.samplesPerSecond)} samples/s`;
}

/** What a state change means, as a line: "job job-x running (resumed from epoch 12)". */
export function formatStateChange(id: string, state: JobState, reason: string, modelVersion: string): string {
  switch (state) {
    case JobState.QUEUED:
      return `job ${id} queued${reason === "" ? "" : ` (${reason})`}`;
    case JobState.RUNNING:
      return `job ${id} running${reason === "" ? "" : ` (${reason})`}`;
    case JobState.SUCCEEDED:
      return `job ${id} succeeded${modelVersion === "" ? "" : `: registered ${modelVersion}`}`;
    case JobState.FAILED:
      return `job ${id} failed: ${reason === "" ? "no reason given" : reason}`;
    case JobState.CANCELLED:
      return `job ${id} cancelled${reason === "" ? "" : `: ${reason}`}`;
    case JobState.UNSPECIFIED:
      return `job ${id}${reason === "" ? "" : ` (${reason})`}`;
    default:
      return `job ${id} ${stateName(state)}${reason === "" ? "" : ` (${reason})`}`;
  }
}

/** Where a watched job is, for its status line. */
export interface WatchProgress {
  readonly id: string;
  readonly state: JobState;
  /** Epochs finished so far. */
  readonly epoch: number;
  readonly totalEpochs: number;
  /** Estimated time left in ms, when known. */
  readonly etaMs?: number;
}

/**
 * The status line of a watched job: "job-x [#####---------------] epoch 12/60  eta 41s",
 * or what it waits for ("queued, waiting for a worker"; "exporting and registering" once
 * every epoch is done).
 */
export function formatWatchStatus(p: WatchProgress): string {
  if (p.state === JobState.QUEUED) return `${p.id} queued, waiting for a worker`;
  if (p.state !== JobState.RUNNING) return `${p.id} ${stateName(p.state)}`;
  if (p.epoch === 0)
    return `${p.id} loading data, training epoch 1${p.totalEpochs > 0 ? `/${p.totalEpochs}` : ""}`;
  if (p.totalEpochs > 0 && p.epoch >= p.totalEpochs)
    return `${p.id} ${bar(1)} exporting to ONNX, checking and registering`;
  const fraction = p.totalEpochs > 0 ? p.epoch / p.totalEpochs : 0;
  const eta = p.etaMs === undefined ? "" : `  eta ${formatDuration(p.etaMs)}`;
  return `${p.id} ${bar(fraction)} epoch ${p.epoch}/${p.totalEpochs > 0 ? p.totalEpochs : "?"}${eta}`;
}

function bar(fraction: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
  return `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
}

/** A duration for people: "850ms", "12.3s", "4m 05s", "2h 03m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

/** A time as ISO 8601, "-" when absent. */
export function formatTime(time: Timestamp | undefined): string {
  return time === undefined ? "-" : timestampDate(time).toISOString();
}

/** Milliseconds between two times, undefined when either is absent. */
export function elapsedMs(from: Timestamp | undefined, to: Timestamp | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  return timestampDate(to).getTime() - timestampDate(from).getTime();
}

/**
 * The lines of `seam jobs show` above the epochs: the spec in brief, then where the job is
 * and what it produced.
 */
export function formatJobSummary(job: Job): string[] {
  const spec = job.spec;
  const lines = [`job ${job.id}`];
  const row = (label: string, value: string) => lines.push(`  ${`${label}:`.padEnd(12)} ${value}`);
  row(
    "state",
    formatStateChange(job.id, job.state, job.reason, job.modelVersion).replace(`job ${job.id} `, ""),
  );
  if (spec !== undefined) for (const [label, value] of specRows(spec, job)) row(label, value);
  if (job.rows !== undefined)
    row("rows", `${job.rows.train} train / ${job.rows.validation} validation / ${job.rows.test} test`);
  row("created", formatTime(job.createTime));
  if (job.startTime !== undefined) row("started", formatTime(job.startTime));
  if (job.endTime !== undefined) {
    const took = elapsedMs(job.startTime, job.endTime);
    row("ended", `${formatTime(job.endTime)}${took === undefined ? "" : ` (ran ${formatDuration(took)})`}`);
  }
  if (job.attempts > 1 || (job.checkpointEpoch > 0 && !isFinished(job.state)))
    row(
      "attempts",
      `${job.attempts}${job.checkpointEpoch > 0 ? `, last checkpoint at epoch ${job.checkpointEpoch}` : ""}`,
    );
  if (job.backend !== "") row("backend", `${job.backend}, ${formatRate(job.samplesPerSecond)} samples/s`);
  if (job.state === JobState.SUCCEEDED)
    row("onnx check", `max abs diff ${formatMetric(job.onnxMaxAbsDiff)} vs TensorFlow.js`);
  const totalEpochs = spec?.training?.epochs ?? 0;
  const last = job.epochs[job.epochs.length - 1];
  if (last !== undefined)
    row("last epoch", formatEpochLine(last, totalEpochs, spec?.task ?? Task.UNSPECIFIED));
  if (Object.keys(job.testMetrics).length > 0) row("test", formatMetrics(job.testMetrics));
  return lines;
}

/**
 * Where a job's data comes from, in brief: its dataset version ("iris@…"), or its feature
 * service and entity dataset ("feature service driver_ranking on trips@…").
 */
export function describeData(spec: JobSpec | undefined, datasetVersion: string): string {
  const features = spec?.features;
  if (features !== undefined)
    return `feature service ${features.featureService} on ${ref(features.entityDataset, features.entityVersion)}`;
  const data = spec?.dataset;
  return datasetVersion || (data === undefined ? "?" : ref(data.dataset, data.version));
}

/** The label column of a job, whichever input names it. */
export function labelOf(spec: JobSpec | undefined): string {
  return spec?.features?.labelColumn || spec?.dataset?.labelColumn || "?";
}

function ref(dataset: string, version: string): string {
  return `${dataset}${version === "" ? "" : `@${version}`}`;
}

function specRows(spec: JobSpec, job: Job): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  const data = spec.dataset;
  const registration = spec.registration;
  if (registration !== undefined) {
    const alias = registration.alias === "" ? "" : `, alias ${registration.alias}`;
    const description = registration.description === "" ? "" : ` "${registration.description}"`;
    rows.push(["model", `${registration.modelName}${alias}${description}`]);
  }
  const features = spec.features;
  if (features !== undefined) {
    const entity = ref(features.entityDataset, features.entityVersion);
    rows.push([
      "features",
      `service ${features.featureService} joined onto ${entity} at ${features.timestampColumn || "event_timestamp"}`,
    ]);
    // Once joined, the job trains on the joined version; until then only its dataset is known.
    rows.push(["dataset", job.datasetVersion || `${features.outputDataset || "-"} (once joined)`]);
    rows.push([
      "task",
      `${taskName(spec.task)}, label ${features.labelColumn}, features: those of ${features.featureService}`,
    ]);
    if (features.split !== undefined) rows.push(["split", formatSplitSpec(features.split)]);
  } else if (data !== undefined) {
    const version =
      job.datasetVersion !== ""
        ? job.datasetVersion
        : `${data.dataset}${data.version === "" ? "" : `@${data.version}`}`;
    rows.push(["dataset", version]);
    const features = data.featureColumns.length === 0 ? "every other column" : data.featureColumns.join(", ");
    rows.push(["task", `${taskName(spec.task)}, label ${data.labelColumn}, features: ${features}`]);
    if (data.split !== undefined) rows.push(["split", formatSplitSpec(data.split)]);
  }
  const model = spec.model;
  if (model !== undefined) {
    // Without hidden layers there is nothing for the activation and dropout to act on.
    const dropout = model.dropout > 0 ? `, dropout ${model.dropout}` : "";
    const network =
      model.hiddenUnits.length === 0
        ? `no hidden layer (${spec.task === Task.REGRESSION ? "linear" : "logistic"})`
        : `hidden ${model.hiddenUnits.join(",")} ${activationName(model.activation)}${dropout}`;
    rows.push(["network", network]);
  }
  const t = spec.training;
  if (t !== undefined) {
    const parts = [
      `${optimizerName(t.optimizer)} lr ${t.learningRate}`,
      `${t.epochs} epochs`,
      `batch ${t.batchSize}`,
      `seed ${t.seed}`,
    ];
    if (t.earlyStopping !== undefined)
      parts.push(`early stopping ${t.earlyStopping.metric}:${t.earlyStopping.patience}`);
    parts.push(`missing values: ${t.missingValues === MissingValues.ZERO ? "zero" : "mean"}`);
    rows.push(["training", parts.join(", ")]);
  }
  return rows;
}

function activationName(activation: Activation): string {
  return activation === Activation.UNSPECIFIED
    ? "relu"
    : (Activation[activation]?.toLowerCase() ?? String(activation));
}

function optimizerName(optimizer: Optimizer): string {
  return optimizer === Optimizer.UNSPECIFIED
    ? "adam"
    : (Optimizer[optimizer]?.toLowerCase() ?? String(optimizer));
}

/** The epochs of a job as a table: EPOCH, the task's metrics, SAMPLES/S. */
export function epochsTable(job: Job): { header: string[]; rows: string[][] } {
  const task = job.spec?.task ?? Task.UNSPECIFIED;
  const base = ["loss", "val_loss", ...mainValidationMetrics(task)];
  // Every metric any epoch has, the main ones first.
  const others = [...new Set(job.epochs.flatMap((e) => Object.keys(e.metrics)))]
    .filter((m) => !base.includes(m))
    .sort();
  const names = [...base.filter((m) => job.epochs.some((e) => Object.hasOwn(e.metrics, m))), ...others];
  return {
    header: ["EPOCH", ...names.map((n) => n.toUpperCase()), "SAMPLES/S"],
    rows: job.epochs.map((e) => [
      String(e.epoch),
      ...names.map((n) => (Object.hasOwn(e.metrics, n) ? formatMetric(e.metrics[n] ?? Number.NaN) : "-")),
      formatRate(e.samplesPerSecond),
    ]),
  };
}
