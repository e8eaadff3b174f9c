import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "./backend.js";
import { SeededDropout } from "./dropout.js";
import { createRandom } from "./random.js";

describe("SeededDropout", () => {
  let model: tf.Sequential;
  let dropout: SeededDropout;
  let x: tf.Tensor;
  beforeAll(async () => {
    await selectBackend();
    model = tf.sequential();
    dropout = new SeededDropout(0.5);
    model.add(
      tf.layers.dense({ units: 1000, inputShape: [1], kernelInitializer: "ones", biasInitializer: "zeros" }),
    );
    model.add(dropout);
    x = tf.ones([2, 1]);
  });
  afterAll(() => {
    model.dispose();
    x.dispose();
  });
  const run = (training: boolean) =>
    tf.tidy(() => [...(model.apply(x, { training }) as tf.Tensor).dataSync()]);

  it("drops each value with the rate and scales the kept ones while training", () => {
    dropout.setRandom(createRandom(1));
    const values = run(true);
    expect(new Set(values)).toEqual(new Set([0, 2]));
    const kept = values.filter((v) => v === 2).length / values.length;
    expect(kept).toBeGreaterThan(0.45);
    expect(kept).toBeLessThan(0.55);
    // A new mask per call (tf.layers.dropout with a seed would repeat its mask).
    expect(run(true)).not.toEqual(values);
  });

  it("draws masks from the generator it is given, and passes values through outside training", () => {
    dropout.setRandom(createRandom(7));
    const first = run(true);
    dropout.setRandom(createRandom(7));
    expect(run(true)).toEqual(first);
    expect(run(false)).toEqual(Array.from({ length: 2000 }, () => 1));
  });
});
