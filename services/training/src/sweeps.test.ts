import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { failure } from "@seam/kit/testing";
import {
  JobState,
  type Sweep,
  SweepAlgorithm,
  SweepSpecSchema,
  SweepState,
  Task,
} from "@seam/proto/seam/training/v1/training_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expandTrials } from "./sweeps/trials.js";
import { IRIS_DATASET, irisCsv, startTestTraining, type TestTraining } from "./testing/harness.js";

const BASE = {
  dataset: IRIS_DATASET,
  task: Task.MULTICLASS_CLASSIFICATION,
  model: { hiddenUnits: [8] },
  training: { epochs: 30, batchSize: 16, seed: 3n },
  registration: { modelName: "iris-sweep", alias: "challenger" },
};

let t: TestTraining;

beforeEach(async () => {
  t = await startTestTraining("embedded", { workers: 2 });
  await t.uploadCsv("iris", irisCsv());
});
afterEach(async () => t.close());

async function ended(id: string, timeout = 60_000): Promise<Sweep> {
  await expect
    .poll(async () => (await t.training.getSweep({ id })).sweep?.state, { timeout, interval: 100 })
    .not.toBe(SweepState.RUNNING);
  return (await t.training.getSweep({ id })).sweep as Sweep;
}

describe("trial expansion", () => {
  it("makes every grid combination, and seeded random draws within the ranges", () => {
    const grid = expandTrials(
      create(SweepSpecSchema, {
        parameters: [
          { name: "learning_rate", values: ["0.1", "0.01"] },
          { name: "hidden_units", values: ["", "16,16", "8"] },
        ],
      }),
    );
    expect(grid).toHaveLength(6);
    expect(grid).toContainEqual({ learning_rate: "0.01", hidden_units: "16,16" });
    const random = (seed: bigint) =>
      expandTrials(
        create(SweepSpecSchema, {
          algorithm: SweepAlgorithm.RANDOM,
          trialCount: 20,
          seed,
          parameters: [
            { name: "learning_rate", min: 1e-4, max: 1e-1, logScale: true },
            { name: "activation", values: ["relu", "tanh"] },
          ],
        }),
      );
    const draws = random(1n);
    expect(draws).toHaveLength(20);
    expect(random(1n)).toEqual(draws);
    expect(random(2n)).not.toEqual(draws);
    for (const d of draws) {
      expect(Number(d.learning_rate)).toBeGreaterThanOrEqual(1e-4);
      expect(Number(d.learning_rate)).toBeLessThanOrEqual(1e-1);
      expect(["relu", "tanh"]).toContain(d.activation);
    }
  });
});

describe("sweeps", () => {
  it("runs every trial and registers the truly best one (a learning rate that learns beats one that cannot)", async () => {
    const { sweep } = await t.training.createSweep({
      spec: {
        base: BASE,
        parameters: [{ name: "learning_rate", values: ["0.000001", "0.05"] }],
        objective: "val_accuracy",
        parallelism: 2,
      },
    });
    const done = await ended(sweep?.id ?? "");
    const reasons = await Promise.all(
      done.trials.map(async (tr) => (await t.training.getJob({ id: tr.jobId })).job?.reason),
    );
    expect(reasons).toEqual(["", ""]);
    expect(done.reason).toBe("");
    expect(done.state).toBe(SweepState.SUCCEEDED);
    expect(done.trials.map((tr) => tr.state)).toEqual([JobState.SUCCEEDED, JobState.SUCCEEDED]);
    expect(done.bestTrial).toBe(2);
    expect(done.trials[1]?.objective).toBeGreaterThan(done.trials[0]?.objective ?? 1);
    expect(done.modelVersion).toBe("iris-sweep:1");
    const version = (await t.registry.getModelVersion({ modelName: "iris-sweep", version: 1n })).version;
    expect(version?.lineage).toMatchObject({ sweep: done.id, trainingJob: done.trials[1]?.jobId });
    expect(version?.params.learning_rate).toBe("0.05");
    expect(version?.aliases).toEqual(["challenger"]);
    // Trials are not registered on their own.
    expect((await t.registry.listModelVersions({ modelName: "iris-sweep" })).versions).toHaveLength(1);
    const trialJob = (await t.training.getJob({ id: done.trials[0]?.jobId ?? "" })).job;
    expect(trialJob).toMatchObject({ sweepId: done.id, trial: 1, modelVersion: "" });
  });

  it("stops a trial that the median rule condemns", async () => {
    const { sweep } = await t.training.createSweep({
      spec: {
        base: { ...BASE, training: { epochs: 150, batchSize: 2, seed: 3n } },
        parameters: [{ name: "learning_rate", values: ["0.05", "0.04", "0.0000001"] }],
        objective: "val_loss",
        parallelism: 1,
        medianStopping: true,
        medianStoppingMinEpochs: 3,
      },
    });
    const done = await ended(sweep?.id ?? "", 120_000);
    expect(done.state).toBe(SweepState.SUCCEEDED);
    const slow = done.trials[2];
    expect(slow?.stoppedEarly).toBe(true);
    expect(slow?.state).toBe(JobState.CANCELLED);
    const job = (await t.training.getJob({ id: slow?.jobId ?? "" })).job;
    expect(job?.reason).toMatch(/^stopped by the median rule at epoch \d+/);
    expect(job?.epochs.length).toBeLessThan(150);
    expect([1, 2]).toContain(done.bestTrial);
  });

  it("refuses bad sweeps with INVALID_ARGUMENT and cancels a running one with its trials", async () => {
    const bad: Array<[MessageInitShape<typeof SweepSpecSchema>, string]> = [
      [{ base: BASE, parameters: [] }, "at least one parameter"],
      [{ base: BASE, parameters: [{ name: "momentum", values: ["0.9"] }] }, '"momentum" is not one of'],
      [{ base: BASE, parameters: [{ name: "learning_rate", values: ["fast"] }] }, 'learning_rate="fast"'],
      [
        { base: BASE, parameters: [{ name: "hidden_units", values: ["5000"] }] },
        "hidden_units[0] must be between 1 and 4096",
      ],
      [
        { base: BASE, parameters: [{ name: "dropout", values: ["0.1"] }], objective: "accuracy" },
        "spec.objective must be one of",
      ],
      [
        {
          base: BASE,
          parameters: [{ name: "learning_rate", min: 0.1, max: 0.01 }],
          algorithm: SweepAlgorithm.RANDOM,
          trialCount: 3,
        },
        "min < max",
      ],
    ];
    for (const [spec, message] of bad) {
      const err = await failure(t.training.createSweep({ spec }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain(message);
    }
    expect((await t.training.listSweeps({})).sweeps).toEqual([]);

    const { sweep } = await t.training.createSweep({
      spec: {
        base: { ...BASE, training: { epochs: 5000, batchSize: 2 } },
        parameters: [{ name: "learning_rate", values: ["0.01", "0.02", "0.03"] }],
        parallelism: 2,
      },
    });
    const id = sweep?.id ?? "";
    await expect
      .poll(
        async () => (await t.training.getSweep({ id })).sweep?.trials.filter((tr) => tr.jobId !== "").length,
        { timeout: 10_000 },
      )
      .toBe(2);
    const cancelled = await t.training.cancelSweep({ id });
    expect(cancelled.sweep?.state).toBe(SweepState.CANCELLED);
    expect(cancelled.sweep?.trials.map((tr) => tr.state)).toEqual(Array(3).fill(JobState.CANCELLED));
    for (const trial of cancelled.sweep?.trials ?? []) {
      if (trial.jobId === "") continue;
      expect((await t.training.getJob({ id: trial.jobId })).job?.state).toBe(JobState.CANCELLED);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect((await t.training.getSweep({ id })).sweep?.trials.filter((tr) => tr.jobId !== "")).toHaveLength(2); // no new trial starts
    expect(await failure(t.training.getSweep({ id: "sweep-000000000-000000" }))).toMatchObject({
      code: Code.NotFound,
    });
    expect((await t.training.listSweeps({})).sweeps.map((s) => s.id)).toEqual([id]);
  });
});
