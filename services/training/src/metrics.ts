import { createInstruments } from "@seam/kit/telemetry";
import { JobState } from "@seam/proto/seam/training/v1/training_pb";
import { JobStore } from "./jobs/job-store.js";
import type { TrainingExecutor } from "./runner/executor.js";

/** Upper bounds of the samples/s buckets: a tiny CPU model up to a large batch on a GPU. */
const SAMPLES_PER_SECOND_BUCKETS = [
  100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 1e6,
];

const otel = createInstruments("@seam/training", (meter) => ({
  transitions: meter.createCounter("seam.training.job.transitions", {
    description: "Jobs entering each state (queued, running, succeeded, failed, cancelled), as committed",
  }),
  running: meter.createUpDownCounter("seam.training.runs.active", {
    description: "Training runs in progress in this process",
    unit: "{run}",
  }),
  samplesPerSecond: meter.createHistogram("seam.training.epoch.samples_per_second", {
    description: "Training throughput of each epoch",
    unit: "{sample}/s",
    advice: { explicitBucketBoundaries: SAMPLES_PER_SECOND_BUCKETS },
  }),
}));

/** Metric attribute value of each job state. */
const STATE_NAMES: Record<JobState, string> = {
  [JobState.UNSPECIFIED]: "unspecified",
  [JobState.QUEUED]: "queued",
  [JobState.RUNNING]: "running",
  [JobState.SUCCEEDED]: "succeeded",
  [JobState.FAILED]: "failed",
  [JobState.CANCELLED]: "cancelled",
};

function jobEntered(state: JobState): void {
  otel().transitions.add(1, { "seam.training.job.state": STATE_NAMES[state] ?? "unknown" });
}

/**
 * The job store, counting every state a job enters (`seam.training.job.transitions`, attribute
 * `seam.training.job.state`) where the change is committed: each transition counts once
 * across all replicas and workers, so the counters sum. Per state: the rate of jobs submitted,
 * started, succeeded, failed or cancelled.
 */
export class MeteredJobStore extends JobStore {
  override async create(...args: Parameters<JobStore["create"]>): ReturnType<JobStore["create"]> {
    const created = await super.create(...args);
    jobEntered(created.state);
    return created;
  }

  override async update(...[id, change]: Parameters<JobStore["update"]>): ReturnType<JobStore["update"]> {
    // The store retries `change` on a conflicting write; the last attempt is what was committed.
    let before: JobState | undefined;
    const updated = await super.update(id, (job) => {
      before = job.state;
      return change(job);
    });
    if (before !== undefined && updated.state !== before) jobEntered(updated.state);
    return updated;
  }
}

/**
 * Wraps an executor to record its runs: `seam.training.runs.active` (runs in progress in
 * this process, up while a run's outcome is pending) and, per epoch,
 * `seam.training.epoch.samples_per_second` (attribute `seam.training.task`).
 */
export function meteredExecutor(executor: TrainingExecutor): TrainingExecutor {
  return {
    start(task, hooks) {
      const attributes = { "seam.training.task": task.settings.task };
      otel().running.add(1);
      const run = executor.start(task, {
        ...hooks,
        onEpoch(report) {
          otel().samplesPerSecond.record(report.samplesPerSecond, attributes);
          return hooks.onEpoch(report);
        },
      });
      const ended = (): void => {
        otel().running.add(-1);
      };
      void run.outcome.then(ended, ended);
      return run;
    },
    close: () => executor.close(),
  };
}
