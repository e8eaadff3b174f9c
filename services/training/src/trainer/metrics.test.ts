import { describe, expect, it } from "vitest";
import { computeMetrics, logLoss, r2, rocAuc } from "./metrics.js";

describe("rocAuc", () => {
  it("is the share of positive/negative pairs ranked right", () => {
    // scikit-learn's roc_auc_score example.
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
  });

  it("counts ties one half", () => {
    // Positives 0.5 and 0.9 against negatives 0.5, 0.5: pairs 0.5+0.5+1+1 of 4.
    expect(rocAuc([0.5, 0.5, 0.5, 0.9], [0, 1, 0, 1])).toBe(0.75);
    expect(rocAuc([1, 1, 1, 1], [0, 1, 0, 1])).toBe(0.5);
    expect(rocAuc([3, 2, 2, 1, 2], [1, 1, 0, 0, 0])).toBeCloseTo(5 / 6, 12);
  });

  it("is undefined with one class, NaN with a NaN score", () => {
    expect(rocAuc([0.1, 0.2], [1, 1])).toBeUndefined();
    expect(rocAuc([Number.NaN, 0.2], [0, 1])).toBeNaN();
  });
});

describe("r2, logLoss", () => {
  it("computes R² as scikit-learn does", () => {
    expect(r2([2.5, 0, 2, 8], [3, -0.5, 2, 7])).toBeCloseTo(0.9486081370449679, 12);
    expect(r2([1, 1], [1, 1])).toBe(1);
    expect(r2([1, 2], [1, 1])).toBe(0);
  });

  it("averages -log of the true class's probability, clipped", () => {
    expect(logLoss([0.9, 0.8, 0.3])).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8) + Math.log(0.3)) / 3, 12);
    expect(logLoss([0])).toBeCloseTo(-Math.log(1e-15), 9);
  });
});

describe("computeMetrics", () => {
  it("binary, from logits: cross-entropy, accuracy at p ≥ 0.5, AUC, log loss", () => {
    const m = computeMetrics("binary", new Float32Array([0, Math.log(3)]), new Float32Array([1, 0]));
    // p = 0.5 (true class 1) and 0.75 (true class 0, so 0.25).
    const expected = -(Math.log(0.5) + Math.log(0.25)) / 2;
    expect(m.loss).toBeCloseTo(expected, 6);
    expect(m.log_loss).toBeCloseTo(expected, 6);
    expect(m.accuracy).toBe(0.5);
    expect(m.auc).toBe(0);
  });

  it("multiclass, from logits: softmax cross-entropy, argmax accuracy, macro one-vs-rest AUC", () => {
    const logits = new Float32Array([0, 0, 0, Math.log(2), 0, 0, 0, 0, 5]);
    const targets = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const m = computeMetrics("multiclass", logits, targets, 3);
    const p9 = Math.exp(5) / (2 + Math.exp(5));
    expect(m.loss).toBeCloseTo((Math.log(3) + Math.log(4) - Math.log(p9)) / 3, 6);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12); // row 0's tie goes to class 0: right; row 1 wrong
    // Class 0 scores (1/3, 1/2, small): positive row 0 beats row 2 but not row 1 → 0.5.
    // Class 1 scores (1/3, 1/4, small): positive row 1 beats row 2, loses to row 0 → 0.5.
    // Class 2 scores (1/3, 1/4, p9): positive row 2 beats both → 1.
    expect(m.auc).toBeCloseTo(2 / 3, 12);
  });

  it("regression: MSE loss, RMSE, MAE, R²", () => {
    const m = computeMetrics(
      "regression",
      new Float32Array([2.5, 0, 2, 8]),
      new Float32Array([3, -0.5, 2, 7]),
    );
    expect(m.loss).toBeCloseTo(0.375, 12);
    expect(m.rmse).toBeCloseTo(Math.sqrt(0.375), 12);
    expect(m.mae).toBeCloseTo(0.5, 12);
    expect(m.r2).toBeCloseTo(0.9486081370449679, 12);
  });

  it("leaves out AUC when the rows hold one class, and everything without rows", () => {
    expect(computeMetrics("binary", new Float32Array([1, 2]), new Float32Array([1, 1]))).not.toHaveProperty(
      "auc",
    );
    expect(computeMetrics("regression", new Float32Array(0), new Float32Array(0))).toEqual({});
  });
});
