import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Span, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { withSpan } from "@seam/kit/telemetry";
import { type InMemoryTracing, startInMemoryTracing } from "@seam/kit/testing";
import { JobState, SweepState, Task } from "@seam/proto/seam/training/v1/training_pb";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { JobStore } from "./jobs/job-store.js";
import type { TrainingExecutor } from "./runner/executor.js";
import { ThreadExecutor } from "./runner/thread-executor.js";
import { IRIS_DATASET, irisCsv, startTestTraining, type TestTraining } from "./testing/harness.js";

// The job's spans in process, with an in-memory exporter; test/tracing-suite.test.ts checks
// the same across processes over OTLP.

const EPOCHS = 4;
const SPEC = {
  dataset: IRIS_DATASET,
  task: Task.MULTICLASS_CLASSIFICATION,
  model: { hiddenUnits: [8] },
  training: { epochs: EPOCHS, batchSize: 16, seed: 3n },
  registration: { modelName: "iris-traced" },
};

const exporter = new InMemorySpanExporter();
let tracing: InMemoryTracing;

beforeAll(() => {
  tracing = startInMemoryTracing(exporter);
});
afterAll(() => {
  tracing.stop();
});

const ms = (time: [number, number]) => time[0] * 1e3 + time[1] / 1e6;
const named = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan | Span) => span.spanContext().spanId;

describe("a training job's trace", () => {
  let t: TestTraining;
  beforeEach(async () => {
    t = await startTestTraining("embedded");
    await t.uploadCsv("iris", irisCsv());
    exporter.reset();
  });
  afterEach(async () => t.close());

  async function finished(id: string): Promise<void> {
    for await (const _ of t.training.watchJob({ id })) {
      // until the job ends
    }
    // The job span ends just after the last update the watch saw.
    await expect.poll(() => named("training.job").length).toBeGreaterThan(0);
  }

  it("runs under the submitting request's span: data load, one span per epoch, registration", async () => {
    let client: Span | undefined;
    const submitted = await withSpan("client", {}, (span) => {
      client = span;
      return t.training.submitJob({ spec: SPEC });
    });
    const id = submitted.job?.id ?? "";
    await finished(id);
    expect((await t.training.getJob({ id })).job?.state).toBe(JobState.SUCCEEDED);

    const [job, ...others] = named("training.job");
    expect(others).toEqual([]);
    if (job === undefined || client === undefined) throw new Error("no job span");
    expect(job.spanContext().traceId).toBe(client.spanContext().traceId);
    expect(parentOf(job)).toBe(idOf(client));
    expect(job.attributes).toMatchObject({
      "seam.job": id,
      "seam.job.attempt": 1,
      "seam.epochs": EPOCHS,
      "seam.model": "iris-traced",
    });

    const [load] = named("training.load_data");
    expect(load && parentOf(load)).toBe(idOf(job));
    expect(load?.attributes).toMatchObject({ "seam.columns": 4, "seam.rows.train": expect.any(Number) });
    expect(String(load?.attributes["seam.dataset_version"])).toMatch(/^iris@/);

    const epochs = named("training.epoch");
    expect(epochs.map((e) => e.attributes["seam.epoch"])).toEqual([1, 2, 3, 4]);
    let previousEnd = ms(load?.endTime ?? [0, 0]);
    for (const epoch of epochs) {
      expect(parentOf(epoch)).toBe(idOf(job));
      expect(epoch.spanContext().traceId).toBe(client.spanContext().traceId);
      expect(epoch.attributes["seam.metric.loss"]).toEqual(expect.any(Number));
      expect(epoch.attributes["seam.metric.val_loss"]).toEqual(expect.any(Number));
      expect(epoch.attributes["seam.samples_per_second"]).toBeGreaterThan(0);
      // Timed by the worker thread: in order, after the data load, within the job.
      const [start, end] = [ms(epoch.startTime), ms(epoch.endTime)];
      expect(start).toBeGreaterThanOrEqual(previousEnd - 1);
      expect(end).toBeGreaterThanOrEqual(start);
      expect(end).toBeLessThanOrEqual(ms(job.endTime) + 1);
      previousEnd = end;
    }

    const [register] = named("training.register");
    expect(register && parentOf(register)).toBe(idOf(job));
    expect(register?.attributes).toMatchObject({
      "seam.model": "iris-traced",
      "seam.model_version": "iris-traced:1",
    });
    expect(ms(register?.startTime ?? [0, 0])).toBeGreaterThanOrEqual(previousEnd - 1);

    // Names, counts and aggregate metrics only: no class value, no feature value.
    for (const span of exporter.getFinishedSpans()) {
      expect(JSON.stringify(span.attributes)).not.toMatch(/setosa|versicolor|virginica|5\.1,/);
    }
  });

  it("continues a sweep's trace in every trial", async () => {
    let client: Span | undefined;
    const created = await withSpan("client", {}, (span) => {
      client = span;
      return t.training.createSweep({
        spec: {
          base: { ...SPEC, training: { ...SPEC.training, epochs: 2 } },
          parameters: [{ name: "learning_rate", values: ["0.01", "0.05"] }],
          objective: "val_accuracy",
          parallelism: 2,
        },
      });
    });
    const id = created.sweep?.id ?? "";
    await expect
      .poll(async () => (await t.training.getSweep({ id })).sweep?.state, { timeout: 60_000, interval: 100 })
      .not.toBe(SweepState.RUNNING);
    await expect.poll(() => named("training.job").length).toBe(2);
    for (const job of named("training.job")) {
      expect(job.spanContext().traceId).toBe(client?.spanContext().traceId);
      expect(parentOf(job)).toBe(client === undefined ? "" : idOf(client));
    }
  });

  it("starts a new trace for a job submitted outside any trace", async () => {
    const id = (await t.training.submitJob({ spec: SPEC })).job?.id ?? "";
    await finished(id);
    const [job] = named("training.job");
    expect(job).toBeDefined();
    expect(job?.parentSpanContext).toBeUndefined();
    expect(named("training.epoch").every((e) => job !== undefined && parentOf(e) === idOf(job))).toBe(true);
  });
});

describe("a failed run", () => {
  it("marks its job span ERROR with the job's reason", async () => {
    const broken: TrainingExecutor = {
      start: () => ({ outcome: Promise.reject(new Error("the trainer broke")), cancel() {} }),
      close: async () => {},
    };
    const t = await startTestTraining("embedded", { executor: broken });
    try {
      await t.uploadCsv("iris", irisCsv());
      exporter.reset();
      let client: Span | undefined;
      const submitted = await withSpan("client", {}, (span) => {
        client = span;
        return t.training.submitJob({ spec: SPEC });
      });
      const id = submitted.job?.id ?? "";
      await expect.poll(() => named("training.job").length).toBe(1);
      const job = (await t.training.getJob({ id })).job;
      expect(job).toMatchObject({ state: JobState.FAILED, reason: "the trainer broke" });
      const [span] = named("training.job");
      expect(span && parentOf(span)).toBe(client && idOf(client));
      expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "the trainer broke" });
      expect(named("training.load_data")).toHaveLength(1);
      expect(named("training.register")).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe("JobStore trace contexts", () => {
  it("keeps a job's trace context beside it, and none for a job stored without", async () => {
    const t = await startTestTraining("embedded");
    try {
      const jobs = new JobStore(t.stores.meta, "tracing-test/");
      const { create } = await import("@bufbuild/protobuf");
      const { JobSchema } = await import("@seam/proto/seam/training/v1/training_pb");
      const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      await jobs.create(create(JobSchema, { id: "job-000000001-aaaaaa" }), { traceparent });
      await jobs.create(create(JobSchema, { id: "job-000000002-bbbbbb" }));
      expect(await jobs.traceContext("job-000000001-aaaaaa")).toEqual({ traceparent });
      expect(await jobs.traceContext("job-000000002-bbbbbb")).toEqual({});
      // The context lives outside the jobs' prefix: listing jobs does not trip over it.
      expect((await jobs.list(10, undefined, () => true)).map((j) => j.id)).toEqual([
        "job-000000002-bbbbbb",
        "job-000000001-aaaaaa",
      ]);
    } finally {
      await t.close();
    }
  });
});

// Killing a worker needs a real one: the compiled entry (`npm test` builds before testing).
const built = existsSync(fileURLToPath(new URL("../dist/runner/train-worker.js", import.meta.url)));

describe.runIf(built)("a job resumed after its worker was lost", () => {
  let t: TestTraining;
  let executor: ThreadExecutor;
  beforeEach(async () => {
    executor = new ThreadExecutor({ worker: new URL("../dist/runner/train-worker.js", import.meta.url) });
    t = await startTestTraining("embedded", { executor });
    await t.uploadCsv("iris", irisCsv());
    exporter.reset();
  });
  afterEach(async () => t.close());

  it("continues the submit's trace: one job span per run, under the same parent", async () => {
    let client: Span | undefined;
    const spec = { ...SPEC, training: { epochs: 30, batchSize: 4, seed: 3n } };
    const id =
      (
        await withSpan("client", {}, (span) => {
          client = span;
          return t.training.submitJob({ spec });
        })
      ).job?.id ?? "";
    let checkpoint = 0;
    for await (const event of t.training.watchJob({ id })) {
      if (event.event.case !== "epoch" || event.event.value.epoch < 3) continue;
      checkpoint = (await t.training.getJob({ id })).job?.checkpointEpoch ?? 0;
      if (checkpoint >= 3) break;
    }
    await [...executor.threads][0]?.terminate();
    for await (const _ of t.training.watchJob({ id })) {
      // until the job ends
    }
    expect((await t.training.getJob({ id })).job).toMatchObject({ state: JobState.SUCCEEDED, attempts: 2 });
    await expect.poll(() => named("training.job").length).toBe(2);

    const runs = named("training.job").sort(
      (a, b) => Number(a.attributes["seam.job.attempt"]) - Number(b.attributes["seam.job.attempt"]),
    );
    const [lost, resumed] = runs as [ReadableSpan, ReadableSpan];
    for (const run of runs) {
      expect(run.spanContext().traceId).toBe(client?.spanContext().traceId);
      expect(parentOf(run)).toBe(client && idOf(client));
    }
    expect(lost.status.message).toMatch(/worker/);
    expect(resumed.attributes["seam.resumed_from_epoch"]).toBeGreaterThanOrEqual(3);
    const epochsOf = (run: ReadableSpan) =>
      named("training.epoch")
        .filter((e) => parentOf(e) === idOf(run))
        .map((e) => Number(e.attributes["seam.epoch"]));
    const from = Number(resumed.attributes["seam.resumed_from_epoch"]);
    expect(epochsOf(resumed)).toEqual(Array.from({ length: 30 - from }, (_, i) => from + 1 + i));
    expect(epochsOf(lost).slice(0, from)).toEqual(Array.from({ length: from }, (_, i) => i + 1));
  });
});
