import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { JobState, Task } from "@seam/proto/seam/training/v1/training_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_ATTEMPTS } from "./runner/job-runner.js";
import { ThreadExecutor } from "./runner/thread-executor.js";
import { IRIS_DATASET, irisCsv, startTestTraining, type TestTraining } from "./testing/harness.js";

// Killing a worker needs a real one: the compiled entry (`npm test` builds before testing).
const built = existsSync(fileURLToPath(new URL("../dist/runner/train-worker.js", import.meta.url)));

const SPEC = {
  dataset: IRIS_DATASET,
  task: Task.MULTICLASS_CLASSIFICATION,
  model: { hiddenUnits: [16] },
  training: { epochs: 40, batchSize: 8, seed: 3n },
  registration: { modelName: "iris-mlp" },
};

describe.runIf(built)("a job whose worker is killed", () => {
  let t: TestTraining;
  let executor: ThreadExecutor;

  beforeEach(async () => {
    executor = new ThreadExecutor({ worker: new URL("../dist/runner/train-worker.js", import.meta.url) });
    t = await startTestTraining("embedded", { executor });
    await t.uploadCsv("iris", irisCsv());
  });
  afterEach(async () => t.close());

  /** Resolves once the job has a checkpoint at or after `epoch`. */
  async function checkpointAt(id: string, epoch: number): Promise<void> {
    for await (const event of t.training.watchJob({ id })) {
      if (event.event.case !== "epoch" || event.event.value.epoch < epoch) continue;
      const job = (await t.training.getJob({ id })).job;
      if ((job?.checkpointEpoch ?? 0) >= epoch) return;
    }
  }

  it("resumes from its last checkpoint on a new worker and finishes with every epoch once", async () => {
    const id = (await t.training.submitJob({ spec: SPEC })).job?.id ?? "";
    await checkpointAt(id, 5);
    const [worker] = [...executor.threads];
    await worker?.terminate();

    const events = [];
    for await (const event of t.training.watchJob({ id })) events.push(event);
    const job = (await t.training.getJob({ id })).job;
    expect(job?.state).toBe(JobState.SUCCEEDED);
    expect(job?.attempts).toBe(2);
    expect(job?.epochs.map((e) => e.epoch)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(job?.testMetrics.accuracy).toBeGreaterThanOrEqual(0.9);
    const reasons = events.flatMap((e) => (e.event.case === "state" ? [e.event.value.reason] : []));
    expect(reasons.some((r) => /resum/.test(r))).toBe(true);
  });

  it(`fails the job after ${MAX_ATTEMPTS} lost workers instead of leaving it RUNNING`, async () => {
    const id =
      (await t.training.submitJob({ spec: { ...SPEC, training: { epochs: 3000, batchSize: 4, seed: 1n } } }))
        .job?.id ?? "";
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      await checkpointAt(id, 1 + (attempt - 1));
      await [...executor.threads][0]?.terminate();
      await expect
        .poll(async () => (await t.training.getJob({ id })).job?.attempts ?? 0, { timeout: 20_000 })
        .toBeGreaterThanOrEqual(Math.min(attempt + 1, MAX_ATTEMPTS));
    }
    await expect
      .poll(async () => (await t.training.getJob({ id })).job?.state, { timeout: 20_000 })
      .toBe(JobState.FAILED);
    const job = (await t.training.getJob({ id })).job;
    expect(job?.reason).toContain(`lost ${MAX_ATTEMPTS} times`);
    expect(job?.checkpointSha256).toBe("");
  });
});
