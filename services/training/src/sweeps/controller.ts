import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { Logger } from "@seam/kit/logging";
import type { BlobStore, EventBus } from "@seam/kit/storage";
import type { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import {
  Direction,
  type Job,
  JobSchema,
  JobState,
  type Sweep,
  type SweepSchema,
  SweepState,
  type Trial,
} from "@seam/proto/seam/training/v1/training_pb";
import { publishJob } from "../jobs/events.js";
import { type JobStore, newJobId } from "../jobs/job-store.js";
import type { RecordStore } from "../jobs/record-store.js";
import type { JobQueue } from "../runner/job-queue.js";
import { registerModel } from "../runner/register.js";
import { trialSpec } from "./trials.js";

const TERMINAL_JOB = new Set([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED]);
/** How often a sweep looks at its trials. */
const TICK_MS = 200;

/** What a sweep controller works with. */
export interface SweepDeps {
  readonly sweeps: RecordStore<typeof SweepSchema>;
  readonly jobs: JobStore;
  readonly queue: JobQueue;
  readonly events: EventBus;
  readonly blobs: BlobStore;
  readonly registry: Client<typeof ModelRegistryService>;
  readonly logger: Logger;
}

/** The objective of a trial: its best value over its epochs up to `uptoEpoch`, or undefined. */
export function bestObjective(
  job: Job,
  metric: string,
  minimize: boolean,
  uptoEpoch = Number.POSITIVE_INFINITY,
): number | undefined {
  let best: number | undefined;
  for (const epoch of job.epochs) {
    if (epoch.epoch > uptoEpoch) break;
    const value = epoch.metrics[metric];
    if (value === undefined || Number.isNaN(value)) continue;
    if (best === undefined || (minimize ? value < best : value > best)) best = value;
  }
  return best;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Drives one sweep until it ends: starts trials as jobs (at most `parallelism` running),
 * follows their epochs, stops trials the median rule condemns, and when every trial has
 * ended registers the best one's model. It reads everything from the stores each tick, so
 * any process (embedded: the service at its next start) can pick a sweep up where it was.
 */
export async function driveSweep(id: string, deps: SweepDeps, signal: AbortSignal): Promise<void> {
  const { sweeps, jobs, logger } = deps;
  // An ended trial's job no longer changes: read it once, not on every tick.
  const ended = new Map<number, Job>();
  while (!signal.aborted) {
    const sweep = await sweeps.get(id);
    if (sweep.state !== SweepState.RUNNING) return;
    const spec = sweep.spec;
    if (spec === undefined || spec.base === undefined) throw new Error(`sweep ${id} has no spec`);
    const minimize = spec.direction === Direction.MINIMIZE;
    const trialJobs = new Map<number, Job>();
    for (const trial of sweep.trials) {
      if (trial.jobId === "") continue;
      const job = ended.get(trial.number) ?? (await jobs.get(trial.jobId));
      if (TERMINAL_JOB.has(job.state)) ended.set(trial.number, job);
      trialJobs.set(trial.number, job);
    }

    // The median rule: a running trial worse than the median of the others at its epoch stops.
    const stops: Array<{ trial: Trial; reason: string }> = [];
    if (spec.medianStopping) {
      for (const trial of sweep.trials) {
        const job = trialJobs.get(trial.number);
        const epoch = job?.epochs[job.epochs.length - 1]?.epoch ?? 0;
        if (job === undefined || job.state !== JobState.RUNNING || epoch < spec.medianStoppingMinEpochs)
          continue;
        const mine = bestObjective(job, spec.objective, minimize, epoch);
        const others = sweep.trials.flatMap((other) => {
          const otherJob = trialJobs.get(other.number);
          if (other.number === trial.number || otherJob === undefined || otherJob.epochs.length < epoch)
            return [];
          const value = bestObjective(otherJob, spec.objective, minimize, epoch);
          return value === undefined ? [] : [value];
        });
        if (mine === undefined || others.length === 0) continue;
        const middle = median(others);
        if (minimize ? mine > middle : mine < middle) {
          stops.push({
            trial,
            reason: `stopped by the median rule at epoch ${epoch}: best ${spec.objective} ${mine.toPrecision(4)} vs the other trials' median ${middle.toPrecision(4)}`,
          });
        }
      }
    }
    for (const { trial, reason } of stops) {
      const stopped = await jobs.update(trial.jobId, (j) => {
        if (TERMINAL_JOB.has(j.state)) return false;
        j.state = JobState.CANCELLED;
        j.reason = reason;
        j.endTime = timestampNow();
        return true;
      });
      await deps.queue.cancel(trial.jobId);
      await publishJob(deps.events, stopped);
      trialJobs.set(trial.number, stopped);
    }

    // Start waiting trials while there is room.
    let active = [...trialJobs.values()].filter((j) => !TERMINAL_JOB.has(j.state)).length;
    const started = new Map<number, string>();
    for (const trial of sweep.trials) {
      if (active >= spec.parallelism) break;
      if (trial.jobId !== "") continue;
      const job = create(JobSchema, {
        id: newJobId(),
        spec: trialSpec(spec.base, trial.parameters, trial.number),
        state: JobState.QUEUED,
        createTime: timestampNow(),
        // The base's dataset version is pinned at creation; a features trial learns its own.
        datasetVersion:
          spec.base.dataset === undefined ? "" : `${spec.base.dataset.dataset}@${spec.base.dataset.version}`,
        sweepId: id,
        trial: trial.number,
      });
      const stored = await jobs.create(job, await jobs.traceContext(id));
      await publishJob(deps.events, stored);
      await deps.queue.enqueue(stored.id);
      started.set(trial.number, stored.id);
      trialJobs.set(trial.number, stored);
      active++;
    }

    // Record what the trials are at; pick the best so far.
    const stoppedEarly = new Set(stops.map((s) => s.trial.number));
    let finished = false;
    const updated = await sweeps.update(id, (s) => {
      if (s.state !== SweepState.RUNNING) return false;
      let best: { number: number; value: number } | undefined;
      for (const trial of s.trials) {
        const jobId = started.get(trial.number);
        if (jobId !== undefined) trial.jobId = jobId;
        const job = trialJobs.get(trial.number);
        if (job === undefined) continue;
        trial.state = job.state;
        if (stoppedEarly.has(trial.number)) trial.stoppedEarly = true;
        const value = bestObjective(job, spec.objective, minimize);
        if (value !== undefined) trial.objective = value;
        if (
          job.state === JobState.SUCCEEDED &&
          value !== undefined &&
          (best === undefined || (minimize ? value < best.value : value > best.value))
        ) {
          best = { number: trial.number, value };
        }
      }
      s.bestTrial = best?.number ?? 0;
      finished = s.trials.every((t) => t.jobId !== "" && TERMINAL_JOB.has(t.state));
      return true;
    });
    if (finished) {
      await finish(updated, deps);
      return;
    }
    await sleep(TICK_MS, undefined, { signal }).catch(() => {});
  }
  logger.debug({ sweep: id }, "sweep controller stopped");
}

/** Registers the best trial's model and ends the sweep (FAILED when no trial succeeded). */
async function finish(sweep: Sweep, deps: SweepDeps): Promise<void> {
  const best = sweep.trials.find((t) => t.number === sweep.bestTrial);
  let state = SweepState.FAILED;
  let reason = "no trial succeeded";
  let modelVersion = "";
  if (best !== undefined) {
    try {
      const job = await deps.jobs.get(best.jobId);
      const parts: Uint8Array[] = [];
      for await (const part of deps.blobs.get(job.artifactSha256)) parts.push(part);
      const registration = job.spec?.registration ?? sweep.spec?.base?.registration;
      modelVersion = await registerModel(
        deps.registry,
        job,
        Buffer.concat(parts),
        job.testMetrics,
        registration,
      );
      state = SweepState.SUCCEEDED;
      reason = "";
    } catch (err) {
      reason = `registering the best trial (${best.number}) failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  await deps.sweeps.update(sweep.id, (s) => {
    if (s.state !== SweepState.RUNNING) return false;
    s.state = state;
    s.reason = reason;
    s.modelVersion = modelVersion;
    s.endTime = timestampNow();
    return true;
  });
  deps.logger.info(
    { sweep: sweep.id, best_trial: sweep.bestTrial, model_version: modelVersion },
    "sweep ended",
  );
}
