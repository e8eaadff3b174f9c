import { JobState, Task } from "@seam/proto/seam/training/v1/training_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestTraining, type TestTraining } from "./testing/harness.js";

// Generated data with a known rule, with a string column that matters and missing values.
function syntheticCsv(rows: number): string {
  let state = 12345;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const lines = ["x1,x2,color,clicked,score"];
  for (let i = 0; i < rows; i++) {
    const x1 = random() * 4 - 2;
    const x2 = random() * 4 - 2;
    const color = ["red", "blue", "green"][Math.floor(random() * 3)] as string;
    const shift = color === "red" ? 1.5 : color === "blue" ? -1.5 : 0;
    const clicked = x1 + 2 * x2 + shift > 0 ? "yes" : "no";
    const score = 3 * x1 - 2 * x2 + shift + (random() - 0.5) * 0.2;
    // Every 25th row misses x1, every 40th its color: the model must cope, and so must the ONNX graph.
    lines.push(
      `${i % 25 === 0 ? "" : x1.toFixed(4)},${x2.toFixed(4)},${i % 40 === 0 ? "" : color},${clicked},${score.toFixed(4)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

const SPLIT = { seed: 11n, trainFraction: 0.7, validationFraction: 0.15, testFraction: 0.15 };

describe("jobs of every task, with a string column and missing values", () => {
  let t: TestTraining;

  beforeAll(async () => {
    t = await startTestTraining("embedded");
    await t.uploadCsv("clicks", syntheticCsv(800));
  });
  afterAll(async () => t.close());

  async function run(spec: Parameters<TestTraining["training"]["submitJob"]>[0]["spec"]) {
    const id = (await t.training.submitJob({ spec })).job?.id ?? "";
    for await (const _ of t.training.watchJob({ id }));
    const job = (await t.training.getJob({ id })).job;
    expect(job?.reason).toBe("");
    expect(job?.state).toBe(JobState.SUCCEEDED);
    return job;
  }

  it("binary classification reaches AUC ≥ 0.95 and its ONNX export (string input included) matches TF.js", async () => {
    const job = await run({
      dataset: {
        dataset: "clicks",
        labelColumn: "clicked",
        featureColumns: ["x1", "x2", "color"],
        split: SPLIT,
      },
      task: Task.BINARY_CLASSIFICATION,
      model: { hiddenUnits: [16] },
      training: { epochs: 80, batchSize: 32, seed: 5n },
      registration: { modelName: "clicks" },
    });
    expect(job?.testMetrics.auc).toBeGreaterThanOrEqual(0.95);
    expect(job?.onnxMaxAbsDiff).toBeLessThanOrEqual(1e-4);
    const version = (await t.registry.getModelVersion({ modelName: "clicks", version: 1n })).version;
    expect(version?.signature?.inputs.map((i) => [i.name, i.elementType])).toEqual([
      ["x1", "float32"],
      ["x2", "float32"],
      ["color", "string"],
    ]);
  });

  it("regression reaches R² ≥ 0.9 with early stopping on val_loss", async () => {
    const job = await run({
      dataset: { dataset: "clicks", labelColumn: "score", featureColumns: ["x1", "x2", "color"] },
      task: Task.REGRESSION,
      model: { hiddenUnits: [32], activation: 2 },
      training: { epochs: 200, batchSize: 32, seed: 5n, earlyStopping: { metric: "val_loss", patience: 10 } },
      registration: { modelName: "scores" },
    });
    expect(job?.testMetrics.r2).toBeGreaterThanOrEqual(0.9);
    expect(job?.onnxMaxAbsDiff).toBeLessThanOrEqual(1e-4);
  });
});

describe("the TF.js backend", () => {
  it("is the one TRAINING_BACKEND names when it loads, and the job records it", async () => {
    const t = await startTestTraining("embedded", { backend: "cpu" });
    try {
      await t.uploadCsv("clicks", syntheticCsv(200));
      const id =
        (
          await t.training.submitJob({
            spec: {
              dataset: { dataset: "clicks", labelColumn: "clicked", split: SPLIT },
              task: Task.BINARY_CLASSIFICATION,
              training: { epochs: 2 },
              registration: { modelName: "cpu-model" },
            },
          })
        ).job?.id ?? "";
      for await (const _ of t.training.watchJob({ id }));
      const job = (await t.training.getJob({ id })).job;
      expect(job?.state).toBe(JobState.SUCCEEDED);
      expect(job?.backend).toBe("cpu");
    } finally {
      await t.close();
    }
  });
});
