import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import {
  type CancelJobRequest,
  type EpochMetrics,
  type Job,
  JobSchema,
  JobState,
  type ListJobsRequest,
  type SubmitJobRequest,
  Task,
  TrainingService,
  type WatchJobResponse,
} from "@seam/proto/seam/training/v1/training_pb";
import { describe, expect, it } from "vitest";
import { UsageError } from "../args.js";
import type { Output } from "../output.js";
import { runJobsCommand, runTrainCommand, type WatchIo } from "./training.js";
import {
  formatDuration,
  formatEpochLine,
  formatMetric,
  formatStateChange,
  formatWatchStatus,
} from "./training-format.js";

// The commands against an in-memory TrainingService: what they send, print and exit with.
// The end-to-end test through the gateway and the real service is test/training-e2e.test.ts.

const T0 = Date.parse("2024-05-01T12:00:00Z");
const ID = "job-m3x1k2-7f3a";
const VERSION = `iris@${"a".repeat(24)}`;

function capture(tty = false) {
  const lines: string[] = [];
  const out: Output = {
    line: (t) => lines.push(t),
    table: (header, rows) => lines.push([header, ...rows].map((r) => r.join("|")).join("\n")),
    json: (v) => lines.push(JSON.stringify(v)),
  };
  const errors: string[] = [];
  const progress: string[] = [];
  const io: WatchIo = {
    out,
    err: { write: (t: string) => errors.push(t) },
    progress: { isTTY: tty, write: (t: string) => progress.push(t) },
  };
  return { lines, errors, progress, io };
}

function transportFor(impl: Partial<ServiceImpl<typeof TrainingService>>) {
  return createRouterTransport(({ service }) => service(TrainingService, impl));
}

function epoch(n: number, metrics: Record<string, number>, atMs = T0 + n * 1000): EpochMetrics {
  return {
    $typeName: "seam.training.v1.EpochMetrics",
    epoch: n,
    metrics,
    samplesPerSecond: 4210.4,
    time: timestampFromMs(atMs),
  };
}

/** A job's fields without the message's own. */
type JobInit = Exclude<MessageInitShape<typeof JobSchema>, Job>;

function job(init: JobInit = {}): Job {
  return create(JobSchema, {
    id: ID,
    state: JobState.QUEUED,
    createTime: timestampFromMs(T0 - 500),
    datasetVersion: VERSION,
    rows: { train: 105n, validation: 22n, test: 23n },
    spec: {
      dataset: { dataset: "iris", version: "a".repeat(24), labelColumn: "species" },
      task: Task.MULTICLASS_CLASSIFICATION,
      model: { hiddenUnits: [16], activation: 1, dropout: 0 },
      training: { optimizer: 1, learningRate: 0.01, epochs: 2, batchSize: 32, seed: 1n, missingValues: 1 },
      registration: { modelName: "iris-mlp", alias: "champion" },
    },
    ...init,
  });
}

const EPOCHS = [
  epoch(1, { loss: 1.0986, val_loss: 1.05, accuracy: 0.6, val_accuracy: 0.6364, val_auc: 0.8 }),
  epoch(2, { loss: 0.4321, val_loss: 0.4012, accuracy: 0.95, val_accuracy: 0.9545, val_auc: 0.99 }),
];

const SUCCEEDED = job({
  state: JobState.SUCCEEDED,
  startTime: timestampFromMs(T0),
  endTime: timestampFromMs(T0 + 2500),
  epochs: EPOCHS,
  testMetrics: { accuracy: 0.9565217, auc: 0.9987, log_loss: 0.0912 },
  backend: "tensorflow",
  samplesPerSecond: 4000,
  modelVersion: "iris-mlp:3",
  attempts: 1,
  onnxMaxAbsDiff: 1.2e-7,
});

/** The events of a job that runs two epochs and succeeds, as WatchJob sends them. */
function* successEvents(replayed = false): Generator<Omit<WatchJobResponse, "$typeName">> {
  yield { event: { case: "state", value: state(JobState.QUEUED, T0 - 500) }, replayed };
  yield { event: { case: "state", value: state(JobState.RUNNING, T0) }, replayed };
  for (const e of EPOCHS) yield { event: { case: "epoch", value: e }, replayed };
  yield {
    event: { case: "state", value: state(JobState.SUCCEEDED, T0 + 2500, "", "iris-mlp:3") },
    replayed,
  };
}

function state(s: JobState, ms: number, reason = "", modelVersion = "") {
  return {
    $typeName: "seam.training.v1.JobStateChange" as const,
    state: s,
    reason,
    time: timestampFromMs(ms),
    modelVersion,
  };
}

const TRAIN = ["--dataset", "iris", "--label", "species", "--task", "multiclass", "--model-name", "iris-mlp"];

describe("seam train", () => {
  it("submits the spec, prints each state change and epoch, then the registered version and test metrics", async () => {
    let submitted: SubmitJobRequest | undefined;
    const transport = transportFor({
      submitJob(req) {
        submitted = req;
        return { job: job() };
      },
      async *watchJob(req) {
        expect(req.id).toBe(ID);
        yield* successEvents();
      },
      getJob: () => ({ job: SUCCEEDED }),
    });
    const io = capture();
    const code = await runTrainCommand([...TRAIN, "--epochs", "2", "--alias", "champion"], transport, io.io);
    expect(code).toBe(0);
    expect(submitted?.spec?.training?.epochs).toBe(2);
    expect(submitted?.spec?.registration?.alias).toBe("champion");
    expect(io.lines).toEqual([
      `submitted job ${ID}: iris-mlp from ${VERSION}, multiclass on species, 2 epochs, 105/22/23 train/validation/test rows`,
      `job ${ID} queued`,
      `job ${ID} running`,
      "epoch 1/2  loss 1.0986  val_loss 1.0500  val_accuracy 0.6364  val_auc 0.8000  4,210 samples/s",
      "epoch 2/2  loss 0.4321  val_loss 0.4012  val_accuracy 0.9545  val_auc 0.9900  4,210 samples/s",
      `job ${ID} succeeded: registered iris-mlp:3`,
      "  model:   iris-mlp:3 (alias champion)",
      "  test:    accuracy 0.9565  auc 0.9987  log_loss 0.0912",
      "  trained: 2 epochs in 2.5s on tensorflow, 4,000 samples/s",
    ]);
    // Not a TTY: the epoch lines say it all, no status line.
    expect(io.progress).toEqual([]);
    expect(io.errors).toEqual([]);
  });

  it("draws the epoch bar on a TTY and takes it off before every line it prints", async () => {
    const transport = transportFor({
      submitJob: () => ({ job: job() }),
      async *watchJob() {
        yield* successEvents();
      },
      getJob: () => ({ job: SUCCEEDED }),
    });
    const io = capture(true);
    expect(await runTrainCommand(TRAIN, transport, io.io)).toBe(0);
    const drawn = io.progress.filter((w) => w !== "\r\x1b[K");
    expect(drawn[0]).toBe(`\r${ID} queued, waiting for a worker\x1b[K`);
    expect(drawn).toContain(`\r${ID} loading data, training epoch 1/2\x1b[K`);
    // Epoch 1 took 1s after the run started: one more to go.
    expect(drawn).toContain(`\r${ID} [##########----------] epoch 1/2  eta 1.0s\x1b[K`);
    expect(drawn).toContain(
      `\r${ID} [####################] exporting to ONNX, checking and registering\x1b[K`,
    );
    // The status line is gone when the outcome is printed.
    expect(io.progress[io.progress.length - 1]).toBe("\r\x1b[K");
  });

  it("returns after submitting with --detach", async () => {
    const transport = transportFor({
      submitJob: () => ({ job: job() }),
      watchJob: () => {
        throw new Error("--detach must not watch");
      },
    });
    const io = capture();
    expect(await runTrainCommand([...TRAIN, "--detach"], transport, io.io)).toBe(0);
    expect(io.lines).toEqual([
      expect.stringMatching(/^submitted job /),
      `follow it with: seam jobs watch ${ID}`,
    ]);
  });

  it("submits a job whose data comes from a feature service, and shows it joined", async () => {
    let submitted: SubmitJobRequest | undefined;
    const entityVersion = "b".repeat(24);
    const features = {
      featureService: "driver_ranking",
      entityDataset: "trips",
      entityVersion,
      timestampColumn: "event_timestamp",
      labelColumn: "completed",
      outputDataset: "trip-mlp-training",
      split: { seed: 0n, trainFraction: 0.8, validationFraction: 0.1, testFraction: 0.1 },
    };
    const spec = {
      features,
      task: Task.BINARY_CLASSIFICATION,
      model: { hiddenUnits: [8], activation: 1, dropout: 0 },
      training: { optimizer: 1, learningRate: 0.01, epochs: 2, batchSize: 32, seed: 0n, missingValues: 1 },
      registration: { modelName: "trip-mlp" },
    };
    const queued = create(JobSchema, { id: ID, state: JobState.QUEUED, spec });
    const joined = create(JobSchema, {
      id: ID,
      state: JobState.RUNNING,
      spec,
      datasetVersion: `trip-mlp-training@${"c".repeat(24)}`,
    });
    const transport = transportFor({
      submitJob(req) {
        submitted = req;
        return { job: queued };
      },
      getJob: () => ({ job: joined }),
    });
    const io = capture();
    const argv = [
      "--feature-service",
      "driver_ranking",
      "--entity-dataset",
      `trips@${entityVersion}`,
      "--split",
      "80,10,10",
      "--label",
      "completed",
      "--task",
      "binary",
      "--model-name",
      "trip-mlp",
      "--detach",
    ];
    expect(await runTrainCommand(argv, transport, io.io)).toBe(0);
    expect(submitted?.spec?.dataset).toBeUndefined();
    expect(submitted?.spec?.features).toMatchObject({
      featureService: "driver_ranking",
      entityDataset: "trips",
      entityVersion,
      labelColumn: "completed",
      timestampColumn: "",
      outputDataset: "",
    });
    expect(io.lines[0]).toBe(
      `submitted job ${ID}: trip-mlp from feature service driver_ranking on trips@${entityVersion}, binary on completed, 2 epochs`,
    );

    const show = capture();
    await runJobsCommand(["show", ID], transport, show.io);
    expect(show.lines.slice(2, 7)).toEqual([
      "  model:       trip-mlp",
      `  features:    service driver_ranking joined onto trips@${entityVersion} at event_timestamp`,
      `  dataset:     trip-mlp-training@${"c".repeat(24)}`,
      "  task:        binary, label completed, features: those of driver_ranking",
      "  split:       seed 0, 80/10/10 by row",
    ]);
  });

  it("exits 1 with the reason when the job fails", async () => {
    const failed = job({ state: JobState.FAILED, reason: "the ONNX export differs", epochs: EPOCHS });
    const transport = transportFor({
      submitJob: () => ({ job: job() }),
      async *watchJob() {
        yield { event: { case: "state", value: state(JobState.QUEUED, T0) } };
        yield { event: { case: "state", value: state(JobState.RUNNING, T0, "resumed from epoch 1") } };
        yield { event: { case: "epoch", value: EPOCHS[1] } };
        yield {
          event: { case: "state", value: state(JobState.FAILED, T0 + 3000, "the ONNX export differs") },
        };
      },
      getJob: () => ({ job: failed }),
    });
    const io = capture();
    expect(await runTrainCommand(TRAIN, transport, io.io)).toBe(1);
    expect(io.lines.slice(1)).toEqual([
      `job ${ID} queued`,
      `job ${ID} running (resumed from epoch 1)`,
      expect.stringMatching(/^epoch 2\/2 {2}loss 0\.4321/),
      `job ${ID} failed: the ONNX export differs`,
    ]);
  });

  it("cancels the job on Ctrl-C and exits 1", async () => {
    let cancelled: CancelJobRequest | undefined;
    const interrupt = new AbortController();
    const transport = transportFor({
      submitJob: () => ({ job: job() }),
      async *watchJob(_req, ctx) {
        yield { event: { case: "state", value: state(JobState.QUEUED, T0) } };
        yield { event: { case: "state", value: state(JobState.RUNNING, T0) } };
        yield { event: { case: "epoch", value: EPOCHS[0] } };
        // Training goes on until the client goes away.
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      },
      cancelJob(req) {
        cancelled = req;
        return {
          job: job({
            state: JobState.CANCELLED,
            reason: "cancelled by a client",
            startTime: timestampFromMs(T0),
          }),
        };
      },
    });
    const io = capture();
    const out = io.io.out;
    const watching = runTrainCommand(TRAIN, transport, {
      ...io.io,
      interrupt: interrupt.signal,
      out: {
        ...out,
        line: (text) => {
          out.line(text);
          if (text.startsWith("epoch 1/")) interrupt.abort();
        },
      },
    });
    expect(await watching).toBe(1);
    expect(cancelled?.id).toBe(ID);
    expect(io.lines.slice(-2)).toEqual([
      `interrupted: cancelling job ${ID}`,
      `job ${ID} cancelled: cancelled by a client`,
    ]);
  });

  it("reports a job that ended before the cancel reached it", async () => {
    const interrupt = new AbortController();
    interrupt.abort();
    const transport = transportFor({
      submitJob: () => ({ job: job() }),
      async *watchJob(_req, ctx) {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        yield* [];
      },
      cancelJob: () => {
        throw new ConnectError(`job ${ID} has already succeeded`, Code.FailedPrecondition);
      },
      getJob: () => ({ job: SUCCEEDED }),
    });
    const io = capture();
    expect(await runTrainCommand(TRAIN, transport, { ...io.io, interrupt: interrupt.signal })).toBe(0);
    expect(io.lines.slice(1, 4)).toEqual([
      `interrupted: cancelling job ${ID}`,
      `job ${ID} succeeded: registered iris-mlp:3`,
      "  model:   iris-mlp:3 (alias champion)",
    ]);
  });

  it("says so when the watch ends before the job does", async () => {
    const transport = transportFor({
      submitJob: () => ({ job: job() }),
      async *watchJob() {
        yield { event: { case: "state", value: state(JobState.QUEUED, T0) } };
      },
    });
    const io = capture();
    expect(await runTrainCommand(TRAIN, transport, io.io)).toBe(1);
    expect(io.errors).toEqual([
      `seam: the watch of job ${ID} ended before the job did; \`seam jobs watch ${ID}\` follows it again\n`,
    ]);
  });

  it("passes the service's refusal on and refuses a bad command line before calling it", async () => {
    const transport = transportFor({
      submitJob: () => {
        throw new ConnectError(
          'spec.dataset.label_column: iris@… has no column "kind"',
          Code.InvalidArgument,
        );
      },
    });
    const io = capture();
    await expect(runTrainCommand(TRAIN, transport, io.io)).rejects.toThrow(/label_column/);
    await expect(runTrainCommand(["--dataset", "iris"], transport, io.io)).rejects.toThrow(UsageError);
  });
});

describe("seam jobs", () => {
  it("lists jobs with the filters given, page after page", async () => {
    const seen: ListJobsRequest[] = [];
    const transport = transportFor({
      listJobs(req) {
        seen.push(req);
        if (req.pageToken === "")
          return { jobs: [job({ id: "job-b", state: JobState.RUNNING })], nextPageToken: "next" };
        return {
          jobs: [
            job({ id: "job-a", state: JobState.SUCCEEDED, modelVersion: "iris-mlp:3" }),
            job({ id: "job-0", state: JobState.FAILED, reason: "spec.dataset: iris has no\nrows" }),
          ],
        };
      },
    });
    const io = capture();
    expect(
      await runJobsCommand(["list", "--state", "running", "--model", "iris-mlp"], transport, io.io),
    ).toBe(0);
    expect(seen.map((r) => [r.state, r.modelName, r.pageToken])).toEqual([
      [JobState.RUNNING, "iris-mlp", ""],
      [JobState.RUNNING, "iris-mlp", "next"],
    ]);
    expect(io.lines[0]?.split("\n")).toEqual([
      "ID|STATE|MODEL|DATASET|TASK|EPOCHS|CREATED|RESULT",
      `job-b|running|iris-mlp|${VERSION}|multiclass|2|2024-05-01T11:59:59.500Z|-`,
      `job-a|succeeded|iris-mlp|${VERSION}|multiclass|2|2024-05-01T11:59:59.500Z|iris-mlp:3`,
      `job-0|failed|iris-mlp|${VERSION}|multiclass|2|2024-05-01T11:59:59.500Z|spec.dataset: iris has no\\nrows`,
    ]);

    const json = capture();
    await runJobsCommand(["list", "--json"], transport, json.io);
    expect(JSON.parse(json.lines[0] ?? "").map((j: { id: string }) => j.id)).toEqual([
      "job-b",
      "job-a",
      "job-0",
    ]);
    await expect(runJobsCommand(["list", "--state", "done"], transport, io.io)).rejects.toThrow(UsageError);
  });

  it("says when there are no jobs", async () => {
    const io = capture();
    await runJobsCommand(["list"], transportFor({ listJobs: () => ({ jobs: [] }) }), io.io);
    expect(io.lines).toEqual(["no jobs"]);
  });

  it("shows a job's spec, state, last epoch, test metrics and version; every epoch with --epochs", async () => {
    const transport = transportFor({
      getJob: (req) => ({ job: create(JobSchema, { ...SUCCEEDED, id: req.id }) }),
    });
    const io = capture();
    await runJobsCommand(["show", ID], transport, io.io);
    expect(io.lines).toEqual([
      `job ${ID}`,
      "  state:       succeeded: registered iris-mlp:3",
      "  model:       iris-mlp, alias champion",
      `  dataset:     ${VERSION}`,
      "  task:        multiclass, label species, features: every other column",
      "  network:     hidden 16 relu",
      "  training:    adam lr 0.01, 2 epochs, batch 32, seed 1, missing values: mean",
      "  rows:        105 train / 22 validation / 23 test",
      "  created:     2024-05-01T11:59:59.500Z",
      "  started:     2024-05-01T12:00:00.000Z",
      "  ended:       2024-05-01T12:00:02.500Z (ran 2.5s)",
      "  backend:     tensorflow, 4,000 samples/s",
      "  onnx check:  max abs diff 1.200e-7 vs TensorFlow.js",
      "  last epoch:  epoch 2/2  loss 0.4321  val_loss 0.4012  val_accuracy 0.9545  val_auc 0.9900  4,210 samples/s",
      "  test:        accuracy 0.9565  auc 0.9987  log_loss 0.0912",
    ]);

    const all = capture();
    await runJobsCommand(["show", ID, "--epochs"], transport, all.io);
    expect(all.lines.slice(-2)).toEqual([
      "",
      [
        "EPOCH|LOSS|VAL_LOSS|VAL_ACCURACY|VAL_AUC|ACCURACY|SAMPLES/S",
        "1|1.0986|1.0500|0.6364|0.8000|0.6000|4,210",
        "2|0.4321|0.4012|0.9545|0.9900|0.9500|4,210",
      ].join("\n"),
    ]);

    const json = capture();
    await runJobsCommand(["show", ID, "--json"], transport, json.io);
    expect(JSON.parse(json.lines[0] ?? "")).toMatchObject({
      id: ID,
      state: "JOB_STATE_SUCCEEDED",
      modelVersion: "iris-mlp:3",
    });
    await expect(runJobsCommand(["show"], transport, io.io)).rejects.toThrow(/show needs a job id/);
  });

  it("watches a finished job from its replayed history, with train's rendering", async () => {
    const transport = transportFor({
      getJob: () => ({ job: SUCCEEDED }),
      async *watchJob() {
        yield* successEvents(true);
      },
    });
    const io = capture();
    expect(await runJobsCommand(["watch", ID], transport, io.io)).toBe(0);
    expect(io.lines).toEqual([
      `job ${ID} queued`,
      `job ${ID} running`,
      expect.stringMatching(/^epoch 1\/2 /),
      expect.stringMatching(/^epoch 2\/2 /),
      `job ${ID} succeeded: registered iris-mlp:3`,
      "  model:   iris-mlp:3 (alias champion)",
      "  test:    accuracy 0.9565  auc 0.9987  log_loss 0.0912",
      "  trained: 2 epochs in 2.5s on tensorflow, 4,000 samples/s",
    ]);
  });

  it("stops watching on Ctrl-C without cancelling the job", async () => {
    const interrupt = new AbortController();
    const transport = transportFor({
      getJob: () => ({ job: job({ state: JobState.RUNNING }) }),
      async *watchJob(_req, ctx) {
        yield { event: { case: "state", value: state(JobState.QUEUED, T0) } };
        interrupt.abort();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      },
      cancelJob: () => {
        throw new Error("watch must not cancel");
      },
    });
    const io = capture();
    expect(await runJobsCommand(["watch", ID], transport, { ...io.io, interrupt: interrupt.signal })).toBe(1);
    expect(io.errors).toEqual([
      `seam: stopped watching job ${ID}; it goes on (seam jobs cancel ${ID} stops it)\n`,
    ]);
  });

  it("cancels a job", async () => {
    let seen: CancelJobRequest | undefined;
    const transport = transportFor({
      cancelJob(req) {
        seen = req;
        return { job: job({ state: JobState.CANCELLED, reason: "cancelled by a client" }) };
      },
    });
    const io = capture();
    expect(await runJobsCommand(["cancel", ID], transport, io.io)).toBe(0);
    expect(seen?.id).toBe(ID);
    expect(io.lines).toEqual([`job ${ID} cancelled: cancelled by a client`]);
    await expect(runJobsCommand(["cancel", ID, "other"], transport, io.io)).rejects.toThrow(/one job id/);
    await expect(runJobsCommand(["stop", ID], transport, io.io)).rejects.toThrow(
      /unknown jobs command "stop"/,
    );
  });
});

describe("training formatting", () => {
  it("formats metrics with four decimals, or four significant digits at the extremes", () => {
    expect(formatMetric(0.95652)).toBe("0.9565");
    expect(formatMetric(12.5)).toBe("12.5000");
    expect(formatMetric(0.00001234)).toBe("0.00001234");
    expect(formatMetric(123456.7)).toBe("1.235e+5");
    expect(formatMetric(0)).toBe("0.0000");
    expect(formatMetric(Number.NaN)).toBe("NaN");
  });

  it("shows the task's main validation metrics per epoch", () => {
    const e = epoch(7, { loss: 2, val_loss: 3, val_rmse: 1.5, val_r2: 0.8, val_mae: 1, rmse: 1 });
    expect(formatEpochLine(e, 120, Task.REGRESSION)).toBe(
      "epoch   7/120  loss 2.0000  val_loss 3.0000  val_rmse 1.5000  val_r2 0.8000  4,210 samples/s",
    );
    expect(formatEpochLine({ ...e, samplesPerSecond: 0 }, 0, Task.BINARY_CLASSIFICATION)).toBe(
      "epoch 7/?  loss 2.0000  val_loss 3.0000  - samples/s",
    );
  });

  it("formats state changes, durations and the status line", () => {
    expect(
      formatStateChange("j", JobState.QUEUED, "the training worker was lost; resuming from epoch 3", ""),
    ).toBe("job j queued (the training worker was lost; resuming from epoch 3)");
    expect(formatStateChange("j", JobState.FAILED, "", "")).toBe("job j failed: no reason given");
    expect(formatDuration(850)).toBe("850ms");
    expect(formatDuration(65_000)).toBe("1m 05s");
    expect(formatDuration(7_380_000)).toBe("2h 03m");
    expect(formatWatchStatus({ id: "j", state: JobState.RUNNING, epoch: 5, totalEpochs: 20 })).toBe(
      "j [#####---------------] epoch 5/20",
    );
  });
});
