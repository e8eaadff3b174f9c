import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { failure } from "@seam/kit/testing";
import type { JobSpecSchema } from "@seam/proto/seam/training/v1/training_pb";
import { type Job, JobState, Task, type WatchJobResponse } from "@seam/proto/seam/training/v1/training_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IRIS_DATASET, irisCsv, startTestTraining, type TestTraining } from "./testing/harness.js";

type SpecInit = MessageInitShape<typeof JobSpecSchema>;

const IRIS_SPEC = {
  dataset: IRIS_DATASET,
  task: Task.MULTICLASS_CLASSIFICATION,
  model: { hiddenUnits: [16] },
  training: { epochs: 60, batchSize: 16, seed: 3n },
  registration: { modelName: "iris-mlp", alias: "champion", description: "iris test" },
} satisfies SpecInit;

let t: TestTraining;

beforeEach(async () => {
  t = await startTestTraining("embedded");
  await t.uploadCsv("iris", irisCsv());
});
afterEach(async () => t.close());

/** Every event of a job's watch until it ends. */
async function watchAll(id: string): Promise<WatchJobResponse[]> {
  const events: WatchJobResponse[] = [];
  for await (const event of t.training.watchJob({ id })) events.push(event);
  return events;
}

describe("SubmitJob validation", () => {
  it.each<[string, SpecInit, string]>([
    [
      "an unknown dataset",
      { ...IRIS_SPEC, dataset: { ...IRIS_SPEC.dataset, dataset: "nope" } },
      'spec.dataset: dataset "nope" not found',
    ],
    [
      "an unknown label column",
      { ...IRIS_SPEC, dataset: { ...IRIS_SPEC.dataset, labelColumn: "kind" } },
      "spec.dataset.label_column: iris@",
    ],
    [
      "an unknown feature column",
      { ...IRIS_SPEC, dataset: { ...IRIS_SPEC.dataset, featureColumns: ["petal"] } },
      "spec.dataset.feature_columns[0]: iris@",
    ],
    [
      "a string label for regression",
      { ...IRIS_SPEC, task: Task.REGRESSION },
      "regression needs int64 or float64",
    ],
    [
      "a float label for classification",
      {
        ...IRIS_SPEC,
        dataset: { ...IRIS_SPEC.dataset, labelColumn: "petal_width", featureColumns: ["sepal_length"] },
      },
      "classification needs string, bool or int64 classes",
    ],
    ["no task", { ...IRIS_SPEC, task: Task.UNSPECIFIED }, "spec.task"],
    [
      "too many units",
      { ...IRIS_SPEC, model: { hiddenUnits: [5000] } },
      "spec.model.hidden_units[0] must be between 1 and 4096",
    ],
    ["a dropout out of range", { ...IRIS_SPEC, model: { dropout: 0.95 } }, "spec.model.dropout"],
    [
      "an unknown early stopping metric",
      { ...IRIS_SPEC, training: { earlyStopping: { metric: "val_r2", patience: 3 } } },
      "spec.training.early_stopping.metric",
    ],
    ["no registration", { ...IRIS_SPEC, registration: undefined }, "spec.registration is required"],
    [
      "a bad alias",
      { ...IRIS_SPEC, registration: { modelName: "m", alias: "Champion!" } },
      "spec.registration.alias",
    ],
    [
      "a version without splits and no split spec",
      { ...IRIS_SPEC, dataset: { dataset: "iris", labelColumn: "species" } },
      "has no train/validation/test splits",
    ],
    [
      "a split without validation rows",
      {
        ...IRIS_SPEC,
        dataset: {
          ...IRIS_SPEC.dataset,
          split: { seed: 1n, trainFraction: 0.9, validationFraction: 0, testFraction: 0.1 },
        },
      },
      "spec.dataset.split.validation_fraction must be above 0",
    ],
  ])("refuses %s with INVALID_ARGUMENT and queues nothing", async (_, spec, message) => {
    const err = await failure(t.training.submitJob({ spec }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(message);
    expect((await t.training.listJobs({})).jobs).toEqual([]);
  });

  it("answers NOT_FOUND for an unknown job id and INVALID_ARGUMENT for none", async () => {
    expect(await failure(t.training.getJob({ id: "job-000000000-000000" }))).toMatchObject({
      code: Code.NotFound,
    });
    expect(await failure(t.training.getJob({ id: "nope" }))).toMatchObject({ code: Code.NotFound });
    expect(await failure(t.training.getJob({ id: "" }))).toMatchObject({ code: Code.InvalidArgument });
  });
});

describe("a training job", () => {
  it("trains Iris to ≥ 0.9 test accuracy, exports ONNX that matches TF.js, and registers it with lineage", async () => {
    const { job: queued } = await t.training.submitJob({ spec: IRIS_SPEC });
    expect(queued?.state).toBe(JobState.QUEUED);
    const id = queued?.id ?? "";
    const events = await watchAll(id);
    const job = (await t.training.getJob({ id })).job as Job;
    expect(job.reason).toBe("");
    expect(job.state).toBe(JobState.SUCCEEDED);
    expect(job.testMetrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(job.epochs).toHaveLength(60);
    expect(Object.keys(job.epochs[0]?.metrics ?? {})).toEqual(
      expect.arrayContaining(["loss", "val_loss", "accuracy", "val_accuracy", "auc", "val_auc", "log_loss"]),
    );
    expect(job.onnxMaxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(job.backend).toMatch(/^(tensorflow|wasm|cpu)$/);
    expect(job.samplesPerSecond).toBeGreaterThan(0);
    expect(job.checkpointSha256).toBe(""); // dropped once the job ended
    const cancelFinished = await failure(t.training.cancelJob({ id }));
    expect(cancelFinished.code).toBe(Code.FailedPrecondition);
    expect(cancelFinished.rawMessage).toBe(`job ${id} has already succeeded`);
    expect(job.datasetVersion).toMatch(/^iris@[0-9a-f]{24}$/);

    // Live watch: QUEUED, RUNNING, 60 epochs in order, SUCCEEDED with the model version.
    const states = events.flatMap((e) => (e.event.case === "state" ? [e.event.value.state] : []));
    expect(states[0]).toBe(JobState.QUEUED);
    expect(states).toContain(JobState.RUNNING);
    expect(states[states.length - 1]).toBe(JobState.SUCCEEDED);
    const epochs = events.flatMap((e) => (e.event.case === "epoch" ? [e.event.value.epoch] : []));
    expect(epochs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));

    // A late watcher gets the whole history, marked replayed, and the stream ends.
    const late = await watchAll(id);
    expect(late.every((e) => e.replayed)).toBe(true);
    expect(late.filter((e) => e.event.case === "epoch")).toHaveLength(60);
    const last = late[late.length - 1]?.event;
    expect(last?.case === "state" ? last.value : undefined).toMatchObject({
      state: JobState.SUCCEEDED,
      modelVersion: job.modelVersion,
    });

    const [modelName, version] = job.modelVersion.split(":");
    expect(modelName).toBe("iris-mlp");
    const registered = (
      await t.registry.getModelVersion({ modelName: "iris-mlp", version: BigInt(version ?? 0) })
    ).version;
    expect(registered?.lineage).toMatchObject({ datasetVersion: job.datasetVersion, trainingJob: id });
    expect(registered?.metrics.test_accuracy).toBe(job.testMetrics.accuracy);
    expect(registered?.params).toMatchObject({ task: "multiclass", hidden_units: "16", epochs: "60" });
    expect(registered?.aliases).toEqual(["champion"]);
    expect(registered?.signature?.inputs.map((i) => i.name)).toEqual([
      "sepal_length",
      "sepal_width",
      "petal_length",
      "petal_width",
    ]);

    const version2 = await t.datasets.getDatasetVersion({ dataset: "iris" });
    expect(version2.version?.splits?.counts?.test).toBeGreaterThan(0n);
    expect((await t.training.listJobs({ state: JobState.SUCCEEDED })).jobs.map((j) => j.id)).toEqual([id]);
    expect((await t.training.listJobs({ modelName: "other" })).jobs).toEqual([]);
  });

  it("lists jobs newest first, a page at a time, filtered by state and model", async () => {
    const ids: string[] = [];
    for (const epochs of [2, 3, 4]) {
      const { job } = await t.training.submitJob({ spec: { ...IRIS_SPEC, training: { epochs, seed: 1n } } });
      ids.push(job?.id ?? "");
    }
    for (const id of ids) await watchAll(id);
    const first = await t.training.listJobs({ pageSize: 2 });
    expect(first.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    expect(first.jobs.every((j) => j.epochs.length === 0)).toBe(true); // the history is GetJob's
    const second = await t.training.listJobs({ pageSize: 2, pageToken: first.nextPageToken });
    expect(second.jobs.map((j) => j.id)).toEqual([ids[0]]);
    expect(second.nextPageToken).toBe("");
    expect(
      (await t.training.listJobs({ modelName: "iris-mlp", state: JobState.SUCCEEDED })).jobs,
    ).toHaveLength(3);
    expect(await failure(t.training.listJobs({ pageToken: "garbage" }))).toMatchObject({
      code: Code.InvalidArgument,
    });
    expect(await failure(t.training.listJobs({ pageSize: 1001 }))).toMatchObject({
      code: Code.InvalidArgument,
    });
  });

  it("stops a running job within one batch when cancelled, and keeps it CANCELLED", async () => {
    const { job } = await t.training.submitJob({
      spec: { ...IRIS_SPEC, training: { epochs: 5000, batchSize: 4 } },
    });
    const id = job?.id ?? "";
    const stream = t.training.watchJob({ id })[Symbol.asyncIterator]();
    for (;;) {
      const next = await stream.next();
      if (next.done === true) throw new Error("the watch ended early");
      if (next.value.event.case === "epoch") break;
    }
    const cancelled = await t.training.cancelJob({ id });
    expect(cancelled.job?.state).toBe(JobState.CANCELLED);
    for (;;) {
      const next = await stream.next();
      if (next.done === true) break;
    }
    const after = (await t.training.getJob({ id })).job as Job;
    expect(after.state).toBe(JobState.CANCELLED);
    expect(after.epochs.length).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.training.getJob({ id })).job?.epochs.length).toBe(after.epochs.length); // nothing trains on
    expect(await failure(t.training.cancelJob({ id: "job-000000000-000000" }))).toMatchObject({
      code: Code.NotFound,
    });
    expect((await t.training.cancelJob({ id })).job?.state).toBe(JobState.CANCELLED); // idempotent
  });
});
