import { create } from "@bufbuild/protobuf";
import { shutdownTelemetry, startMetricsEndpoint, startTelemetry } from "@seam/kit/telemetry";
import {
  findSamples,
  openTestStores,
  type PrometheusSample,
  parsePrometheusText,
  type TestStores,
} from "@seam/kit/testing";
import { JobSchema, JobState } from "@seam/proto/seam/training/v1/training_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newJobId } from "./jobs/job-store.js";
import { MeteredJobStore, meteredExecutor } from "./metrics.js";
import type {
  EpochReport,
  TrainHooks,
  TrainingExecutor,
  TrainOutcome,
  TrainTask,
} from "./runner/executor.js";

describe("training metrics", () => {
  let stores: TestStores;
  let url: string;

  beforeAll(async () => {
    await startTelemetry({ serviceName: "training-metrics-test", env: { SEAM_METRICS_PORT: "0" } });
    url = (await startMetricsEndpoint()) as string;
    stores = await openTestStores("embedded");
  });

  afterAll(async () => {
    await stores?.close();
    await shutdownTelemetry();
  });

  async function scrape(): Promise<PrometheusSample[]> {
    return parsePrometheusText(await (await fetch(url)).text());
  }

  const entered = (samples: PrometheusSample[], state: string): number =>
    findSamples(samples, "seam_training_job_transitions_total", { seam_training_job_state: state })[0]
      ?.value ?? 0;

  it("counts each state a job enters once, however often it is updated in that state", async () => {
    const jobs = new MeteredJobStore(stores.meta, "metrics-test/");
    const id = newJobId();
    await jobs.create(create(JobSchema, { id, state: JobState.QUEUED }));
    await jobs.update(id, (job) => {
      job.state = JobState.RUNNING;
      return true;
    });
    // Epoch progress: updates that leave the state as it is.
    for (let epoch = 1; epoch <= 3; epoch++) {
      await jobs.update(id, (job) => {
        job.checkpointEpoch = epoch;
        return true;
      });
    }
    // A refused change (the runner after a cancel) counts nothing.
    await jobs.update(id, () => false);
    await jobs.update(id, (job) => {
      job.state = JobState.SUCCEEDED;
      return true;
    });

    const samples = await scrape();
    expect(entered(samples, "queued")).toBe(1);
    expect(entered(samples, "running")).toBe(1);
    expect(entered(samples, "succeeded")).toBe(1);
    expect(entered(samples, "failed")).toBe(0);
  });

  it("reports runs in progress and each epoch's samples per second", async () => {
    let finish: (outcome: TrainOutcome) => void = () => {};
    let hooksSeen: TrainHooks | undefined;
    const fake: TrainingExecutor = {
      start(_task, hooks) {
        hooksSeen = hooks;
        return { outcome: new Promise((resolve) => (finish = resolve)), cancel() {} };
      },
      close: () => Promise.resolve(),
    };
    const epochs: EpochReport[] = [];
    const executor = meteredExecutor(fake);
    const run = executor.start({ settings: { task: "binary" } } as TrainTask, {
      onEpoch: async (report) => {
        epochs.push(report);
      },
      onCheckpoint: async () => {},
    });
    const report = { epoch: 1, metrics: {}, samplesPerSecond: 4200, startTime: 0, endTime: 1 };
    await hooksSeen?.onEpoch(report);
    expect(epochs).toEqual([report]);

    let samples = await scrape();
    expect(findSamples(samples, "seam_training_runs_active")[0]?.value).toBe(1);
    const perEpoch = { seam_training_task: "binary" };
    expect(findSamples(samples, "seam_training_epoch_samples_per_second_count", perEpoch)[0]?.value).toBe(1);
    expect(findSamples(samples, "seam_training_epoch_samples_per_second_sum", perEpoch)[0]?.value).toBe(4200);

    finish({} as TrainOutcome);
    await run.outcome;
    await new Promise((resolve) => setImmediate(resolve));
    samples = await scrape();
    expect(findSamples(samples, "seam_training_runs_active")[0]?.value).toBe(0);
  });
});
