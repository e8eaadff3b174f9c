import { parseArgs } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  type Job,
  JobSchema,
  JobState,
  type JobStateChange,
  Task,
  TrainingService,
} from "@seam/proto/seam/training/v1/training_pb";
import { UsageError } from "../args.js";
import type { Output } from "../output.js";
import { createStatusLine, type ProgressStream, type StatusLine } from "../progress.js";
import { formatCell } from "./dataset-format.js";
import { parseJobState, parseTrainArgs } from "./training-args.js";
import {
  describeData,
  elapsedMs,
  epochsTable,
  formatDuration,
  formatEpochLine,
  formatJobSummary,
  formatMetrics,
  formatRate,
  formatStateChange,
  formatTime,
  formatWatchStatus,
  isFinished,
  labelOf,
  stateName,
  taskName,
} from "./training-format.js";

type Training = Client<typeof TrainingService>;

export const TRAIN_USAGE = `seam train --dataset NAME[@ID] --label COL --task binary|multiclass|regression --model-name M [options]
seam train --feature-service S --entity-dataset NAME[@ID] --split train,val,test --label COL --task … --model-name M [options]
                                                    train a model on a dataset version, or on a feature service's features
                                                    joined point-in-time onto entity rows, and register it, then follow
                                                    the job (Ctrl-C cancels it); exit code 1 when it fails or is cancelled
  --timestamp-column event_timestamp                the entity rows' time column (with --feature-service)
  --output-dataset NAME                             dataset the joined rows go to (default: <model name>-training)
  --features a,b,c                                  input columns of a --dataset (default: every column but the label)
  --hidden 16,16 [--activation relu|tanh|sigmoid] [--dropout 0.1]
                                                    units per hidden layer ("none": a linear or logistic model)
  --optimizer adam|sgd --learning-rate R --epochs 50 --batch-size 32 --seed 0
                                                    optimization, defaults shown (the rate: 0.01 for adam, 0.1 for sgd)
  --early-stopping metric:patience                  e.g. val_loss:5 (val_accuracy, val_auc, val_r2: higher is better)
  --missing-values mean|zero                        what a missing number becomes (default: the training mean)
  --split train,val,test[:seed[:key]]               the split to record when the version has none, e.g. 0.7,0.15,0.15
                                                    (required with --feature-service: the joined rows are new)
  --alias A --description D                         of the registered version
  --detach                                          submit and return; \`seam jobs watch <id>\` follows it`;

export const JOBS_USAGE = `seam jobs <command>   (talks to the gateway at SEAM_GATEWAY_URL, default http://127.0.0.1:8080)
  list [--state queued|running|succeeded|failed|cancelled] [--model M] [--json]
                                                    training jobs, newest first
  show <id> [--epochs] [--json]                     a job: its spec, state, last epoch (every one with --epochs),
                                                    test metrics and registered model version
  watch <id>                                        follow a job until it ends, as \`seam train\` does (Ctrl-C stops
                                                    watching; the job goes on); exit code 1 when it fails or is cancelled
  cancel <id>                                       cancel a queued or running job`;

const PAGE_SIZE = 500;

/** How a command that follows a job talks to the terminal. */
export interface WatchIo {
  /** Results: the job's state changes, epochs and outcome. */
  readonly out: Output;
  /** Messages that are not results (stderr). */
  readonly err: ProgressStream;
  /** The status line (stderr); drawn on a TTY only, where it is redrawn in place. */
  readonly progress: ProgressStream;
  /** Aborted on Ctrl-C: `seam train` then cancels the job it submitted. */
  readonly interrupt?: AbortSignal;
}

/**
 * `seam train`: submits a job (SubmitJob) and, unless --detach, follows it (WatchJob) until
 * it ends. Resolves to the exit code: 0 when the job succeeded (or was only submitted), 1
 * when it failed or was cancelled.
 */
export async function runTrainCommand(argv: string[], transport: Transport, io: WatchIo): Promise<number> {
  const { spec, detach } = parseTrainArgs(argv);
  const training = createClient(TrainingService, transport);
  const { job } = await training.submitJob({ spec });
  if (job === undefined) throw new Error("the training service answered without the job");
  io.out.line(`submitted job ${job.id}: ${describeJob(job)}`);
  if (detach) {
    io.out.line(`follow it with: seam jobs watch ${job.id}`);
    return 0;
  }
  return followJob(training, job, io, { cancelOnInterrupt: true });
}

/**
 * Runs one `seam jobs` sub-command against the training service behind `transport`;
 * resolves to the exit code (`watch`: 1 when the job failed or was cancelled).
 */
export async function runJobsCommand(argv: string[], transport: Transport, io: WatchIo): Promise<number> {
  const [command, ...rest] = argv;
  const training = createClient(TrainingService, transport);
  switch (command) {
    case "list":
      await listJobs(training, rest, io.out);
      return 0;
    case "show":
      await showJob(training, rest, io.out);
      return 0;
    case "watch": {
      const id = jobIdOf(rest, "watch");
      const { job } = await training.getJob({ id });
      if (job === undefined) throw new Error("the training service answered without the job");
      return followJob(training, job, io, { cancelOnInterrupt: false });
    }
    case "cancel":
      await cancelJob(training, rest, io.out);
      return 0;
    default:
      throw new UsageError(
        command === undefined ? "missing jobs command" : `unknown jobs command "${command}"`,
      );
  }
}

/**
 * "iris-mlp from iris@…, multiclass on species, 60 epochs, 105/22/23 rows" (a features job:
 * "… from feature service driver_ranking on trips@…, …").
 */
function describeJob(job: Job): string {
  const spec = job.spec;
  const parts = [
    `${spec?.registration?.modelName ?? "?"} from ${describeData(spec, job.datasetVersion)}`,
    `${taskName(spec?.task ?? Task.UNSPECIFIED)} on ${labelOf(spec)}`,
    `${spec?.training?.epochs ?? "?"} epochs`,
  ];
  if (job.rows !== undefined)
    parts.push(`${job.rows.train}/${job.rows.validation}/${job.rows.test} train/validation/test rows`);
  return parts.join(", ");
}

/**
 * Follows a job with WatchJob: a line per state change and epoch on `out`, a status line
 * with the epoch bar on a TTY, then the outcome. With `cancelOnInterrupt`, an interrupt
 * cancels the job; otherwise it only ends the watch.
 */
async function followJob(
  training: Training,
  job: Job,
  io: WatchIo,
  options: { readonly cancelOnInterrupt: boolean },
): Promise<number> {
  const { id } = job;
  const totalEpochs = job.spec?.training?.epochs ?? 0;
  const task = job.spec?.task ?? Task.UNSPECIFIED;
  const status: StatusLine | undefined =
    io.progress.isTTY === true ? createStatusLine({ stream: io.progress }) : undefined;
  const print = (line: string) => {
    // A line written over a drawn status line would start where the status text ends.
    status?.clear();
    io.out.line(line);
  };

  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  if (io.interrupt?.aborted === true) stop.abort();
  io.interrupt?.addEventListener("abort", onInterrupt, { once: true });
  let state = JobState.UNSPECIFIED;
  let epoch = 0;
  // Where the current run started (its time, and the epoch it resumed after), for the ETA.
  let run: { ms: number; epoch: number } | undefined;
  let etaMs: number | undefined;
  let final: JobStateChange | undefined;
  try {
    for await (const message of training.watchJob({ id }, { signal: stop.signal })) {
      const event = message.event;
      if (event.case === "state") {
        const change = event.value;
        state = change.state;
        print(formatStateChange(id, change.state, change.reason, change.modelVersion));
        if (change.state === JobState.RUNNING && change.time !== undefined)
          run = { ms: timestampDate(change.time).getTime(), epoch };
        if (isFinished(change.state)) final = change;
      } else if (event.case === "epoch") {
        const metrics = event.value;
        epoch = metrics.epoch;
        print(formatEpochLine(metrics, totalEpochs, task));
        etaMs = estimateRemainingMs(run, metrics.epoch, metrics.time, totalEpochs);
      }
      if (final === undefined)
        status?.update(
          formatWatchStatus({ id, state, epoch, totalEpochs, ...(etaMs === undefined ? {} : { etaMs }) }),
        );
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    status?.clear();
    io.interrupt?.removeEventListener("abort", onInterrupt);
  }

  if (final === undefined && stop.signal.aborted) {
    if (!options.cancelOnInterrupt) {
      io.err.write(`seam: stopped watching job ${id}; it goes on (seam jobs cancel ${id} stops it)\n`);
      return 1;
    }
    return cancelInterrupted(training, id, io);
  }
  if (final === undefined) {
    io.err.write(
      `seam: the watch of job ${id} ended before the job did; \`seam jobs watch ${id}\` follows it again\n`,
    );
    return 1;
  }
  const { job: done } = await training.getJob({ id });
  if (done !== undefined) printOutcome(done, io.out);
  return final.state === JobState.SUCCEEDED ? 0 : 1;
}

/** Ctrl-C while `seam train` follows its job: the job is cancelled, and the exit code says so. */
async function cancelInterrupted(training: Training, id: string, io: WatchIo): Promise<number> {
  io.out.line(`interrupted: cancelling job ${id}`);
  try {
    const { job } = await training.cancelJob({ id });
    if (job === undefined) throw new Error("the training service answered without the job");
    io.out.line(formatStateChange(id, job.state, job.reason, job.modelVersion));
    return job.state === JobState.SUCCEEDED ? 0 : 1;
  } catch (err) {
    // It ended between the last event and the cancel: report how.
    if (!(err instanceof ConnectError) || err.code !== Code.FailedPrecondition) throw err;
    const { job } = await training.getJob({ id });
    if (job === undefined) throw err;
    io.out.line(formatStateChange(id, job.state, job.reason, job.modelVersion));
    printOutcome(job, io.out);
    return job.state === JobState.SUCCEEDED ? 0 : 1;
  }
}

/** The ETA from the pace of the current run: its time per epoch so far times the epochs left. */
function estimateRemainingMs(
  run: { ms: number; epoch: number } | undefined,
  epoch: number,
  time: Timestamp | undefined,
  totalEpochs: number,
): number | undefined {
  if (run === undefined || time === undefined || totalEpochs <= 0 || epoch <= run.epoch) return undefined;
  const perEpoch = (timestampDate(time).getTime() - run.ms) / (epoch - run.epoch);
  return perEpoch >= 0 ? perEpoch * Math.max(0, totalEpochs - epoch) : undefined;
}

/** What a finished job produced: the registered version, test metrics, and how training went. */
function printOutcome(job: Job, out: Output): void {
  if (job.state !== JobState.SUCCEEDED) return;
  const alias = job.spec?.registration?.alias ?? "";
  if (job.modelVersion !== "")
    out.line(`  model:   ${job.modelVersion}${alias === "" ? "" : ` (alias ${alias})`}`);
  if (Object.keys(job.testMetrics).length > 0) out.line(`  test:    ${formatMetrics(job.testMetrics)}`);
  const took = elapsedMs(job.startTime, job.endTime);
  const duration = took === undefined ? "" : ` in ${formatDuration(took)}`;
  const backend = job.backend === "" ? "" : ` on ${job.backend}`;
  const rate = job.samplesPerSecond > 0 ? `, ${formatRate(job.samplesPerSecond)} samples/s` : "";
  out.line(`  trained: ${job.epochs.length} epochs${duration}${backend}${rate}`);
}

async function listJobs(training: Training, argv: string[], out: Output): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { state: { type: "string" }, model: { type: "string" }, json: { type: "boolean" } },
  });
  const state = values.state === undefined ? JobState.UNSPECIFIED : parseJobState(values.state);
  const jobs: Job[] = [];
  let pageToken = "";
  do {
    const page = await training.listJobs({
      state,
      modelName: values.model ?? "",
      pageSize: PAGE_SIZE,
      pageToken,
    });
    jobs.push(...page.jobs);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  if (values.json === true) return out.json(jobs.map((j) => toJson(JobSchema, j)));
  if (jobs.length === 0) return out.line("no jobs");
  out.table(
    ["ID", "STATE", "MODEL", "DATASET", "TASK", "EPOCHS", "CREATED", "RESULT"],
    jobs.map((j) => [
      j.id,
      stateName(j.state),
      j.spec?.registration?.modelName ?? "-",
      j.datasetVersion || "-",
      taskName(j.spec?.task ?? Task.UNSPECIFIED),
      String(j.spec?.training?.epochs ?? "-"),
      formatTime(j.createTime),
      j.state === JobState.SUCCEEDED ? j.modelVersion : j.reason === "" ? "-" : formatCell(j.reason),
    ]),
  );
}

async function showJob(training: Training, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { epochs: { type: "boolean" }, json: { type: "boolean" } },
  });
  const id = jobIdOf(positionals, "show");
  const { job } = await training.getJob({ id });
  if (job === undefined) throw new Error("the training service answered without the job");
  if (values.json === true) return out.json(toJson(JobSchema, job));
  for (const line of formatJobSummary(job)) out.line(line);
  if (values.epochs === true) {
    out.line("");
    if (job.epochs.length === 0) return out.line("no epochs yet");
    const table = epochsTable(job);
    out.table(table.header, table.rows);
  }
}

async function cancelJob(training: Training, argv: string[], out: Output): Promise<void> {
  const id = jobIdOf(argv, "cancel");
  const { job } = await training.cancelJob({ id });
  if (job === undefined) throw new Error("the training service answered without the job");
  out.line(formatStateChange(id, job.state, job.reason, job.modelVersion));
  if (job.startTime !== undefined)
    out.line(`a running job stops within one batch (seam jobs watch ${id} shows when)`);
}

function jobIdOf(positionals: readonly string[], command: string): string {
  const [id, ...extra] = positionals;
  if (id === undefined || id === "")
    throw new UsageError(`${command} needs a job id (seam jobs list shows them)`);
  if (extra.length > 0 || id.startsWith("-"))
    throw new UsageError(`${command} takes one job id, got "${positionals.join(" ")}"`);
  return id;
}
