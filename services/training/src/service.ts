import { clone, create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { nextOrAbort } from "@seam/kit/async";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "@seam/kit/errors";
import { createLogger, type Logger } from "@seam/kit/logging";
import { decodePageToken, encodePageToken, pageSizeOf } from "@seam/kit/naming";
import type { EventBus } from "@seam/kit/storage";
import type { DatasetService, DatasetVersion } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import {
  type CancelJobRequest,
  type CancelJobResponseSchema,
  type CancelSweepRequest,
  type CancelSweepResponseSchema,
  type CreateSweepRequest,
  type CreateSweepResponseSchema,
  Direction,
  type GetJobRequest,
  type GetJobResponseSchema,
  type GetSweepRequest,
  type GetSweepResponseSchema,
  type Job,
  JobSchema,
  type JobSpec,
  JobState,
  type ListJobsRequest,
  type ListJobsResponseSchema,
  type ListSweepsRequest,
  type ListSweepsResponseSchema,
  type SubmitJobRequest,
  type SubmitJobResponseSchema,
  SweepSchema,
  SweepSpecSchema,
  SweepState,
  type TrainingService,
  type WatchJobRequest,
  type WatchJobResponseSchema,
} from "@seam/proto/seam/training/v1/training_pb";
import { publishJob, subscribeJob } from "./jobs/events.js";
import { checkFeatureInput } from "./jobs/feature-input.js";
import { isJobId, type JobStore, newJobId, newRecordId } from "./jobs/job-store.js";
import type { RecordStore } from "./jobs/record-store.js";
import { lowerIsBetter, normalizeSpec, resolveColumns, stoppingMetrics } from "./jobs/validate-spec.js";
import type { JobQueue } from "./runner/job-queue.js";
import { captureTraceContext } from "./runner/job-tracing.js";
import type { SweepRunner } from "./sweeps/sweep-runner.js";
import { expandTrials, trialSpec } from "./sweeps/trials.js";

type Init<S extends DescMessage> = MessageInitShape<S>;
type WatchEvent = Init<typeof WatchJobResponseSchema>;

/** What the training service runs on. */
export interface TrainingDeps {
  readonly jobs: JobStore;
  readonly events: EventBus;
  readonly queue: JobQueue;
  readonly datasets: Client<typeof DatasetService>;
  /** The feature store: a features job's feature service is checked against it. */
  readonly features: Client<typeof FeatureStoreService>;
  /** Where sweeps are kept, and who drives them. */
  readonly sweeps: { readonly store: RecordStore<typeof SweepSchema>; readonly runner: SweepRunner };
  readonly logger?: Logger;
}

const TERMINAL = new Set([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED]);

/**
 * `seam.training.v1.TrainingService`: submit (validated against the dataset before anything
 * is queued), get, list, cancel, and watch jobs that the JobRunner trains on worker threads.
 */
export class TrainingServiceImpl implements ServiceImpl<typeof TrainingService> {
  private readonly logger: Logger;

  constructor(private readonly deps: TrainingDeps) {
    this.logger = deps.logger ?? createLogger({ service: "training", level: "silent" });
  }

  async submitJob(req: SubmitJobRequest, ctx: HandlerContext): Promise<Init<typeof SubmitJobResponseSchema>> {
    const spec = normalizeSpec(req.spec);
    // A features job learns its dataset version when the runner has joined its data.
    const version = spec.features === undefined ? await this.resolveDataset(spec, ctx.signal) : undefined;
    if (spec.features !== undefined) await checkFeatureInput(spec, this.deps, ctx.signal);
    const job = create(JobSchema, {
      id: newJobId(),
      spec,
      state: JobState.QUEUED,
      createTime: timestampNow(),
      datasetVersion: version?.ref ?? "",
      rows: version?.splits?.counts,
    });
    // The run continues this request's trace, whichever process runs it and however much later.
    const stored = await this.deps.jobs.create(job, captureTraceContext());
    await publishJob(this.deps.events, stored);
    await this.deps.queue.enqueue(stored.id);
    this.logger.info(
      {
        job: stored.id,
        dataset_version: stored.datasetVersion,
        feature_service: spec.features?.featureService,
      },
      "job queued",
    );
    return { job: stored };
  }

  /**
   * Checks spec.dataset against its version (recording the spec's split on a version
   * without splits) and pins the version id; returns the version.
   */
  private async resolveDataset(spec: JobSpec, signal: AbortSignal): Promise<DatasetVersion> {
    const input = spec.dataset;
    if (input === undefined) throw new Error("normalizeSpec requires spec.dataset");
    let version = await this.version(input.dataset, input.version, signal);
    resolveColumns(spec, version);
    if (version.splits === undefined) {
      if (input.split === undefined) {
        throw new InvalidArgumentError(
          `spec.dataset: ${version.ref} has no train/validation/test splits; set spec.dataset.split (or record one with SplitDatasetVersion)`,
        );
      }
      version = await this.recordSplit(version, input.split, signal);
      resolveColumns(spec, version); // now also checks that no split is empty
    }
    input.version = version.id;
    return version;
  }

  async getJob(req: GetJobRequest): Promise<Init<typeof GetJobResponseSchema>> {
    return { job: await this.deps.jobs.get(checkJobId(req.id)) };
  }

  async listJobs(req: ListJobsRequest): Promise<Init<typeof ListJobsResponseSchema>> {
    const size = pageSizeOf(req.pageSize);
    const after = decodePageToken(req.pageToken, "j1:", isJobId);
    const jobs = await this.deps.jobs.list(size + 1, after, (job) => {
      if (req.state !== JobState.UNSPECIFIED && job.state !== req.state) return false;
      return req.modelName === "" || job.spec?.registration?.modelName === req.modelName;
    });
    const page = jobs.slice(0, size);
    for (const job of page) job.epochs = [];
    return {
      jobs: page,
      nextPageToken: jobs.length > size ? encodePageToken("j1:", page[page.length - 1]?.id ?? "") : "",
    };
  }

  async cancelJob(req: CancelJobRequest): Promise<Init<typeof CancelJobResponseSchema>> {
    const id = checkJobId(req.id);
    const job = await this.deps.jobs.update(id, (j) => {
      if (j.state === JobState.CANCELLED) return false;
      if (TERMINAL.has(j.state)) {
        throw new FailedPreconditionError(
          `job ${id} has already ${j.state === JobState.SUCCEEDED ? "succeeded" : "failed"}`,
        );
      }
      j.state = JobState.CANCELLED;
      j.reason = "cancelled by a client";
      j.endTime = timestampNow();
      return true;
    });
    await this.deps.queue.cancel(id);
    await publishJob(this.deps.events, job);
    return { job };
  }

  async createSweep(
    req: CreateSweepRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof CreateSweepResponseSchema>> {
    if (req.spec === undefined) throw new InvalidArgumentError("spec is required");
    const spec = clone(SweepSpecSchema, req.spec);
    const base = normalizeSpec(spec.base);
    if (base.features === undefined) {
      const version = await this.resolveDataset(base, ctx.signal);
      if (base.dataset !== undefined) base.dataset.version = version.id; // every trial trains on the same version
    } else {
      await checkFeatureInput(base, this.deps, ctx.signal);
    }
    spec.base = base;
    if (spec.objective === "") spec.objective = "val_loss";
    const allowed = stoppingMetrics(base.task).filter((m) => m.startsWith("val_"));
    if (!allowed.includes(spec.objective)) {
      throw new InvalidArgumentError(
        `spec.objective must be one of ${allowed.join(", ")}, got ${JSON.stringify(spec.objective)}`,
      );
    }
    if (spec.direction === Direction.UNSPECIFIED) {
      spec.direction = lowerIsBetter(spec.objective) ? Direction.MINIMIZE : Direction.MAXIMIZE;
    }
    if (spec.parallelism === 0) spec.parallelism = 2;
    if (!(spec.parallelism >= 1 && spec.parallelism <= 16)) {
      throw new InvalidArgumentError(`spec.parallelism must be between 1 and 16, got ${spec.parallelism}`);
    }
    if (spec.medianStoppingMinEpochs === 0) spec.medianStoppingMinEpochs = 5;
    if (spec.medianStoppingMinEpochs < 1)
      throw new InvalidArgumentError("spec.median_stopping_min_epochs must be at least 1");
    // Every trial's spec is checked now, so a bad value fails the create, not a trial later.
    const trials = expandTrials(spec).map((parameters, i) => {
      trialSpec(base, parameters, i + 1);
      return { number: i + 1, parameters, state: JobState.QUEUED };
    });
    const id = newRecordId("sweep");
    const sweep = create(SweepSchema, {
      id,
      spec,
      state: SweepState.RUNNING,
      trials,
      createTime: timestampNow(),
    });
    // Its trials continue this request's trace, as a job continues its submit's.
    await this.deps.sweeps.store.create(id, sweep, this.deps.jobs.traceEntries(id, captureTraceContext()));
    this.deps.sweeps.runner.start(id);
    this.logger.info({ sweep: id, trials: trials.length }, "sweep started");
    return { sweep };
  }

  async getSweep(req: GetSweepRequest): Promise<Init<typeof GetSweepResponseSchema>> {
    return { sweep: await this.deps.sweeps.store.get(checkSweepId(req.id)) };
  }

  async listSweeps(req: ListSweepsRequest): Promise<Init<typeof ListSweepsResponseSchema>> {
    const size = pageSizeOf(req.pageSize);
    const after = decodePageToken(req.pageToken, "s1:", (id) => SWEEP_ID.test(id));
    const sweeps = await this.deps.sweeps.store.list(size + 1, after, () => true);
    const page = sweeps.slice(0, size);
    return {
      sweeps: page,
      nextPageToken: sweeps.length > size ? encodePageToken("s1:", page[page.length - 1]?.id ?? "") : "",
    };
  }

  async cancelSweep(req: CancelSweepRequest): Promise<Init<typeof CancelSweepResponseSchema>> {
    const id = checkSweepId(req.id);
    const sweep = await this.deps.sweeps.store.update(id, (s) => {
      if (s.state === SweepState.CANCELLED) return false;
      if (s.state !== SweepState.RUNNING) throw new FailedPreconditionError(`sweep ${id} has already ended`);
      s.state = SweepState.CANCELLED;
      s.reason = "cancelled by a client";
      s.endTime = timestampNow();
      // Trials not ended yet end with it (their jobs are cancelled below).
      for (const trial of s.trials) if (!TERMINAL.has(trial.state)) trial.state = JobState.CANCELLED;
      return true;
    });
    // Its trials still queued or running stop too.
    for (const trial of sweep.trials) {
      if (trial.jobId === "") continue;
      const job = await this.deps.jobs.update(trial.jobId, (j) => {
        if (TERMINAL.has(j.state)) return false;
        j.state = JobState.CANCELLED;
        j.reason = `its sweep ${id} was cancelled`;
        j.endTime = timestampNow();
        return true;
      });
      await this.deps.queue.cancel(trial.jobId);
      await publishJob(this.deps.events, job);
    }
    return { sweep };
  }

  async *watchJob(req: WatchJobRequest, ctx: HandlerContext): AsyncGenerator<WatchEvent> {
    const id = checkJobId(req.id);
    // Subscribe before reading the job, so nothing between the read and the feed is lost.
    const feed = (await subscribeJob(this.deps.events, id, ctx.signal))[Symbol.asyncIterator]();
    const first = await this.deps.jobs.get(id);
    const seen = { state: JobState.UNSPECIFIED, epoch: 0, revision: 0n };
    yield* eventsSince(first, seen, true);
    let job = first;
    while (!TERMINAL.has(job.state)) {
      const next = await nextOrAbort(feed, ctx.signal);
      if (next.done === true) return;
      if (next.value.revision <= seen.revision) continue;
      job = next.value;
      yield* eventsSince(job, seen, false);
    }
  }

  private async version(dataset: string, version: string, signal: AbortSignal): Promise<DatasetVersion> {
    try {
      const response = await this.deps.datasets.getDatasetVersion({ dataset, version }, { signal });
      if (response.version === undefined) throw new Error("the dataset service returned no version");
      return response.version;
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.NotFound) {
        throw new InvalidArgumentError(`spec.dataset: ${err.rawMessage}`);
      }
      throw err;
    }
  }

  private async recordSplit(
    version: DatasetVersion,
    split: NonNullable<NonNullable<SubmitJobRequest["spec"]>["dataset"]>["split"],
    signal: AbortSignal,
  ): Promise<DatasetVersion> {
    try {
      const response = await this.deps.datasets.splitDatasetVersion(
        { dataset: version.dataset, version: version.id, ...(split === undefined ? {} : { spec: split }) },
        { signal },
      );
      if (response.version === undefined) throw new Error("the dataset service returned no version");
      return response.version;
    } catch (err) {
      if (
        err instanceof ConnectError &&
        (err.code === Code.InvalidArgument || err.code === Code.FailedPrecondition)
      ) {
        throw new InvalidArgumentError(`spec.dataset.split: ${err.rawMessage}`);
      }
      throw err;
    }
  }
}

/**
 * The watch events a job version adds to what the watcher has seen: new state changes and
 * epochs, in the order they happened.
 */
function* eventsSince(
  job: Job,
  seen: { state: JobState; epoch: number; revision: bigint },
  replayed: boolean,
): Generator<WatchEvent> {
  seen.revision = job.revision;
  if (seen.state === JobState.UNSPECIFIED) {
    seen.state = JobState.QUEUED;
    yield { event: { case: "state", value: { state: JobState.QUEUED, time: job.createTime } }, replayed };
  }
  const running = job.state !== JobState.QUEUED && job.startTime !== undefined;
  if (running && seen.state === JobState.QUEUED) {
    seen.state = JobState.RUNNING;
    // The job's reason describes its current state: only a running job's says why it runs (resumed …).
    const reason = job.state === JobState.RUNNING ? job.reason : "";
    yield {
      event: { case: "state", value: { state: JobState.RUNNING, reason, time: job.startTime } },
      replayed,
    };
  } else if (job.state === JobState.QUEUED && seen.state === JobState.RUNNING) {
    // Requeued after a lost worker.
    seen.state = JobState.QUEUED;
    yield {
      event: { case: "state", value: { state: JobState.QUEUED, reason: job.reason, time: timestampNow() } },
      replayed,
    };
  }
  for (const epoch of job.epochs) {
    if (epoch.epoch <= seen.epoch) continue;
    seen.epoch = epoch.epoch;
    yield { event: { case: "epoch", value: epoch }, replayed };
  }
  if (TERMINAL.has(job.state) && seen.state !== job.state) {
    seen.state = job.state;
    yield {
      event: {
        case: "state",
        value: { state: job.state, reason: job.reason, time: job.endTime, modelVersion: job.modelVersion },
      },
      replayed,
    };
  }
}

const SWEEP_ID = /^sweep-[0-9a-z]{9}-[0-9a-f]{6}$/;

function checkSweepId(id: string): string {
  if (id === "") throw new InvalidArgumentError("id is required");
  if (!SWEEP_ID.test(id)) throw new NotFoundError(`sweep ${id} not found`);
  return id;
}

function checkJobId(id: string): string {
  if (id === "") throw new InvalidArgumentError("id is required");
  if (!isJobId(id)) throw new NotFoundError(`job ${id} not found`);
  return id;
}
