import { hostname } from "node:os";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { Logger } from "@seam/kit/logging";
import type { BlobStore, EventBus } from "@seam/kit/storage";
import type { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import type { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import {
  Activation,
  type Job,
  JobState,
  MissingValues,
  Optimizer,
  Task,
} from "@seam/proto/seam/training/v1/training_pb";
import { publishJob, subscribeJob } from "../jobs/events.js";
import type { JobStore } from "../jobs/job-store.js";
import { resolveColumns } from "../jobs/validate-spec.js";
import type { Task as ModelTask } from "../model/trained-model.js";
import { exportOnnx } from "../onnx/export.js";
import { verifyOnnx } from "../onnx/verify.js";
import { CancelledError, type TrainingExecutor, type TrainSettings, WorkerLostError } from "./executor.js";
import { type JobTrace, startJobTrace } from "./job-tracing.js";
import { type LoadedData, loadData } from "./load-data.js";
import { prepareFeatures } from "./prepare-features.js";
import { registerModel } from "./register.js";

/** This process, as jobs record who runs them. */
const WORKER_ID = `${hostname()}:${process.pid}`;

/** Runs lost to a vanished worker before the job fails instead of resuming again. */
export const MAX_ATTEMPTS = 3;
/** Largest ONNX-vs-TF.js difference on the validation rows a job accepts. */
export const ONNX_TOLERANCE = 1e-4;

/** What the runner works with. */
export interface JobRunnerDeps {
  readonly jobs: JobStore;
  readonly events: EventBus;
  readonly blobs: BlobStore;
  readonly datasets: Client<typeof DatasetService>;
  readonly registry: Client<typeof ModelRegistryService>;
  /** The feature store: joins a features job's data (GetHistoricalFeatures) before it trains. */
  readonly features: Client<typeof FeatureStoreService>;
  readonly executor: TrainingExecutor;
  readonly logger: Logger;
  /** TF.js backend to try first (TRAINING_BACKEND). */
  readonly backend?: "tensorflow" | "wasm" | "cpu";
  /** Jobs run at once; the embedded executor's worker count. */
  readonly concurrency: number;
}

/**
 * The embedded JobQueue: jobs of this process in submit order, `concurrency` at a time, each
 * run on the executor (worker threads) so training never blocks the services' event loop.
 * A run lost with its worker resumes from the last checkpoint, up to MAX_ATTEMPTS runs.
 */
export class JobRunner {
  private readonly queue: string[] = [];
  private readonly running = new Map<string, { cancel(): void; done?: Promise<void> }>();
  private closed = false;

  constructor(private readonly deps: JobRunnerDeps) {}

  /** Queues a stored QUEUED job. */
  enqueue(id: string): void {
    this.queue.push(id);
    this.pump();
  }

  /** Stops a queued or running job of this process (its state is already CANCELLED). */
  cancel(id: string): void {
    const at = this.queue.indexOf(id);
    if (at >= 0) this.queue.splice(at, 1);
    this.running.get(id)?.cancel();
  }

  /** Requeues the unfinished jobs a previous process left (embedded: one process owns the store). */
  async recover(): Promise<number> {
    let recovered = 0;
    for await (const job of this.deps.jobs.all()) {
      if (job.state !== JobState.QUEUED && job.state !== JobState.RUNNING) continue;
      const updated = await this.deps.jobs.update(job.id, (j) => {
        if (j.state !== JobState.RUNNING) return false;
        j.state = JobState.QUEUED;
        j.reason = `requeued after a restart${j.checkpointEpoch > 0 ? `; resumes from epoch ${j.checkpointEpoch}` : ""}`;
        return true;
      });
      await publishJob(this.deps.events, updated);
      this.enqueue(job.id);
      recovered++;
    }
    return recovered;
  }

  /**
   * Stops taking jobs, cancels the running ones (they stay RUNNING and are requeued at the next
   * start) and waits until they have let go of the stores, then stops the executor.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    const runs = [...this.running.values()];
    for (const run of runs) run.cancel();
    await Promise.allSettled(runs.map((run) => run.done));
    await this.deps.executor.close();
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.deps.concurrency && this.queue.length > 0) {
      const id = this.queue.shift() as string;
      const slot: { cancel(): void; done?: Promise<void> } = { cancel: () => {} };
      this.running.set(id, slot);
      slot.done = this.run(id, slot)
        .catch((err: unknown) => this.deps.logger.error({ err, job: id }, "job runner failed"))
        .finally(() => {
          this.running.delete(id);
          this.pump();
        });
    }
  }

  /**
   * Runs one job now, for a distributed queue's processor; resolves when the run has ended.
   * `takeOver`: the queue redelivers a job whose process died mid-run (still RUNNING in the
   * store): it resumes from its last checkpoint, or fails once MAX_ATTEMPTS runs were lost.
   */
  async runNow(id: string, takeOver: boolean): Promise<void> {
    const slot: { cancel(): void; done?: Promise<void> } = { cancel: () => {} };
    this.running.set(id, slot);
    slot.done = this.run(id, slot, takeOver).finally(() => this.running.delete(id));
    await slot.done;
  }

  private async run(id: string, slot: { cancel(): void }, takeOver = false): Promise<void> {
    const { jobs, events } = this.deps;
    const started = await jobs.update(id, (job) => {
      const lost = takeOver && job.state === JobState.RUNNING;
      if (job.state !== JobState.QUEUED && !lost) return false;
      if (lost && job.attempts >= MAX_ATTEMPTS) {
        job.state = JobState.FAILED;
        job.reason = `the training worker was lost ${job.attempts} times (its process ${job.worker} went away); giving up`;
        job.endTime = timestampNow();
        return true;
      }
      const previousWorker = job.worker;
      job.state = JobState.RUNNING;
      job.startTime = timestampNow();
      job.attempts += 1;
      job.worker = WORKER_ID;
      job.reason = lost
        ? `its worker process ${previousWorker} went away; resumed from epoch ${job.checkpointEpoch}`
        : job.checkpointEpoch > 0
          ? `resumed from epoch ${job.checkpointEpoch}`
          : "";
      return true;
    });
    if (started.state === JobState.FAILED && takeOver) {
      await this.dropCheckpoint(started);
      await publishJob(events, started);
      return;
    }
    if (started.state !== JobState.RUNNING || started.worker !== WORKER_ID) return; // cancelled, or another's
    await publishJob(events, started);
    const jobTrace = await startJobTrace(started, jobs);
    try {
      await jobTrace.within(() => this.train(id, slot, started, jobTrace));
    } finally {
      jobTrace.end();
    }
  }

  /** A run this process has started (the job is RUNNING here): load, train, export, register. */
  private async train(id: string, slot: { cancel(): void }, started: Job, jobTrace: JobTrace): Promise<void> {
    const { jobs, events, logger } = this.deps;
    // A cancel on any replica publishes the CANCELLED job: stop this run when it arrives.
    const watching = new AbortController();
    let cancelled = false;
    slot.cancel = () => {
      cancelled = true;
      current?.cancel();
    };
    let current: { cancel(): void } | undefined;
    void subscribeJob(events, id, watching.signal)
      .then(async (updates) => {
        for await (const update of updates) if (update.state === JobState.CANCELLED) slot.cancel();
      })
      .catch(() => {});
    try {
      const data = await jobTrace.loadData(started, () => this.load(started));
      if (cancelled) throw new CancelledError("cancelled");
      const checkpoint =
        started.checkpointSha256 === "" ? undefined : await this.readBlob(started.checkpointSha256);
      const run = this.deps.executor.start(
        {
          settings: settingsOf(started),
          data,
          ...(checkpoint === undefined ? {} : { checkpoint }),
          ...(this.deps.backend === undefined ? {} : { backend: this.deps.backend }),
        },
        {
          onEpoch: async (report) => {
            jobTrace.epoch(report);
            const job = await jobs.update(id, (j) => {
              if (j.state !== JobState.RUNNING || j.worker !== WORKER_ID) return false;
              j.epochs = j.epochs.filter((e) => e.epoch < report.epoch);
              j.epochs.push({
                $typeName: "seam.training.v1.EpochMetrics",
                epoch: report.epoch,
                metrics: report.metrics,
                samplesPerSecond: report.samplesPerSecond,
                time: timestampNow(),
              });
              return true;
            });
            // Another process took the job over (this one stalled): stop, leave it to them.
            if (job.worker !== WORKER_ID) slot.cancel();
            else await publishJob(events, job);
          },
          onCheckpoint: async (epoch, bytes) => {
            const { sha256 } = await this.deps.blobs.put([bytes]);
            let previous = "";
            await jobs.update(id, (j) => {
              if (j.state !== JobState.RUNNING || j.worker !== WORKER_ID) return false;
              previous = j.checkpointSha256;
              j.checkpointSha256 = sha256;
              j.checkpointEpoch = epoch;
              return true;
            });
            if (previous !== "" && previous !== sha256) await this.deps.blobs.delete(previous);
          },
        },
      );
      current = run;
      if (cancelled) run.cancel();
      const outcome = await run.outcome;

      const onnx = exportOnnx(outcome.model);
      const rows = rowsOf(data, outcome.validationRows);
      const check = await verifyOnnx(
        onnx,
        outcome.model,
        rows,
        outcome.validationPredictions,
        ONNX_TOLERANCE,
      );
      if (!check.ok) {
        throw new Error(
          `the ONNX export differs from TensorFlow.js by up to ${check.maxAbsDiff} on the validation rows (tolerance ${ONNX_TOLERANCE})`,
        );
      }
      // A sweep's trial keeps its model as a blob: the sweep registers only its best trial's.
      const artifact = started.sweepId === "" ? undefined : (await this.deps.blobs.put([onnx])).sha256;
      const modelVersion =
        artifact === undefined
          ? await jobTrace.register(started.spec?.registration?.modelName ?? "", () =>
              registerModel(
                this.deps.registry,
                started,
                onnx,
                outcome.testMetrics,
                started.spec?.registration,
              ),
            )
          : "";
      const done = await jobs.update(id, (j) => {
        if (j.state !== JobState.RUNNING || j.worker !== WORKER_ID) return false;
        j.state = JobState.SUCCEEDED;
        j.reason = "";
        j.endTime = timestampNow();
        j.testMetrics = outcome.testMetrics;
        j.backend = outcome.backend;
        j.samplesPerSecond = outcome.samplesPerSecond;
        j.onnxMaxAbsDiff = check.maxAbsDiff;
        j.modelVersion = modelVersion;
        j.artifactSha256 = artifact ?? "";
        return true;
      });
      await this.dropCheckpoint(done);
      await publishJob(events, done);
      logger.info({ job: id, model_version: modelVersion, backend: outcome.backend }, "job succeeded");
    } catch (err) {
      jobTrace.failed(err);
      await this.finishFailed(id, err);
    } finally {
      watching.abort();
    }
  }

  private async finishFailed(id: string, err: unknown): Promise<void> {
    const { jobs, events, logger } = this.deps;
    if (err instanceof WorkerLostError && !this.closed) {
      const job = await jobs.update(id, (j) => {
        if (j.state !== JobState.RUNNING || j.worker !== WORKER_ID) return false;
        if (j.attempts >= MAX_ATTEMPTS) {
          j.state = JobState.FAILED;
          j.reason = `the training worker was lost ${j.attempts} times (last: ${err.message}); giving up`;
          j.endTime = timestampNow();
        } else {
          j.state = JobState.QUEUED;
          j.reason = `the training worker was lost (${err.message}); resuming from epoch ${j.checkpointEpoch}`;
        }
        return true;
      });
      await publishJob(events, job);
      if (job.state === JobState.QUEUED) this.enqueue(id);
      else await this.dropCheckpoint(job);
      logger.warn({ job: id, err }, "training worker lost");
      return;
    }
    if (
      this.closed &&
      !(err instanceof CancelledError && (await jobs.get(id)).state === JobState.CANCELLED)
    ) {
      // Shutting down: leave the job RUNNING; the next start requeues it from its checkpoint.
      return;
    }
    const job = await jobs.update(id, (j) => {
      if (j.state !== JobState.RUNNING || j.worker !== WORKER_ID) return false;
      j.state = err instanceof CancelledError ? JobState.CANCELLED : JobState.FAILED;
      j.reason =
        err instanceof CancelledError ? "cancelled" : err instanceof Error ? err.message : String(err);
      j.endTime = timestampNow();
      return true;
    });
    await this.dropCheckpoint(job);
    await publishJob(events, job);
    if (!(err instanceof CancelledError)) logger.warn({ job: id, err }, "job failed");
  }

  private async dropCheckpoint(job: Job): Promise<void> {
    if (job.checkpointSha256 === "") return;
    const sha = job.checkpointSha256;
    await this.deps.jobs.update(job.id, (j) => {
      if (j.checkpointSha256 === "") return false;
      j.checkpointSha256 = "";
      return true;
    });
    await this.deps.blobs.delete(sha).catch(() => false);
  }

  private async load(job: Job): Promise<LoadedData> {
    // A features job joins its data first; the rest of the run (registration's lineage
    // included) then sees the joined version, as a dataset job sees its own.
    const prepared = await prepareFeatures(job, this.deps);
    job.spec = prepared.spec;
    job.datasetVersion = prepared.datasetVersion;
    const spec = job.spec;
    const input = spec?.dataset;
    if (spec === undefined || input === undefined) throw new Error(`job ${job.id} has no spec`);
    const { version } = await this.deps.datasets.getDatasetVersion({
      dataset: input.dataset,
      version: input.version,
    });
    if (version === undefined) throw new Error("the dataset service returned no version");
    const columns = resolveColumns(spec, version);
    return loadData(this.deps.datasets, input.dataset, input.version, columns, spec.task !== Task.REGRESSION);
  }

  private async readBlob(sha256: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const part of this.deps.blobs.get(sha256)) parts.push(part);
    return Buffer.concat(parts);
  }
}

/** The trainer settings a job's (normalized) spec says. */
export function settingsOf(job: Job): TrainSettings {
  const spec = job.spec;
  const model = spec?.model;
  const training = spec?.training;
  if (spec === undefined || model === undefined || training === undefined)
    throw new Error(`job ${job.id} has no spec`);
  const task: ModelTask =
    spec.task === Task.BINARY_CLASSIFICATION
      ? "binary"
      : spec.task === Task.MULTICLASS_CLASSIFICATION
        ? "multiclass"
        : "regression";
  return {
    task,
    hiddenUnits: [...model.hiddenUnits],
    activation:
      model.activation === Activation.TANH
        ? "tanh"
        : model.activation === Activation.SIGMOID
          ? "sigmoid"
          : "relu",
    dropout: model.dropout,
    optimizer: training.optimizer === Optimizer.SGD ? "sgd" : "adam",
    learningRate: training.learningRate,
    epochs: training.epochs,
    batchSize: training.batchSize,
    ...(training.earlyStopping === undefined
      ? {}
      : {
          earlyStopping: { metric: training.earlyStopping.metric, patience: training.earlyStopping.patience },
        }),
    seed: Number(training.seed % 2n ** 32n),
    missing: training.missingValues === MissingValues.ZERO ? "zero" : "mean",
  };
}

/** Rows as records of raw values, as a serving client would send them. */
function rowsOf(data: LoadedData, rows: readonly number[]): Array<Record<string, number | string | null>> {
  return rows.map((row) => Object.fromEntries(data.columns.map((c) => [c.name, c.values[row] ?? null])));
}
