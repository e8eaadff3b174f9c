/**
 * Model quality figures, computed in plain JavaScript (float64) from the network's raw
 * outputs, so every backend reports the same numbers for the same outputs.
 */
import type { Task } from "../model/trained-model.js";

/**
 * Metric names, as in the training proto's metric maps: loss (the training objective:
 * cross-entropy for classification, mean squared error for regression); accuracy, auc
 * (binary: ROC AUC; multiclass: macro average of one-vs-rest ROC AUCs) and log_loss
 * (cross-entropy of probabilities clipped to [1e-15, 1 - 1e-15], as scikit-learn) for
 * classification; rmse, mae and r2 for regression. Validation figures are `val_` + name.
 */
export type MetricName = "loss" | "accuracy" | "auc" | "log_loss" | "rmse" | "mae" | "r2";

/** Figures by metric name; a figure that is undefined on the rows (AUC with one class) is absent. */
export type Metrics = Readonly<Record<string, number>>;

/** The metrics a task reports. */
export function metricNames(task: Task): readonly MetricName[] {
  return task === "regression" ? ["loss", "rmse", "mae", "r2"] : ["loss", "accuracy", "auc", "log_loss"];
}

/** True when a larger value of the metric is better (accuracy, auc, r2). */
export function higherIsBetter(name: MetricName): boolean {
  return name === "accuracy" || name === "auc" || name === "r2";
}

const LOG_LOSS_EPS = 1e-15;

/**
 * ROC AUC of `scores` for the rows whose `labels` value is 1 against those where it is 0:
 * the probability that a random positive scores above a random negative, ties counting
 * one half (the Mann–Whitney statistic, from average ranks). Undefined when either class
 * has no row; NaN when a score is NaN.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | undefined {
  const n = scores.length;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) return Number.NaN;
    if (labels[i] === 1) positives++;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return undefined;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    const s = scores[order[start] as number];
    while (end < n && scores[order[end] as number] === s) end++;
    // Ranks start..end-1 (0-based) share their average, 1-based: (start + 1 + end) / 2.
    const rank = (start + 1 + end) / 2;
    for (let i = start; i < end; i++) if (labels[order[i] as number] === 1) positiveRankSum += rank;
    start = end;
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean of -log(p) over the probabilities given to each row's true class, p clipped to [1e-15, 1 - 1e-15]. */
export function logLoss(trueClassProbabilities: ArrayLike<number>): number {
  const n = trueClassProbabilities.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, trueClassProbabilities[i] as number));
    sum -= Math.log(p);
  }
  return sum / n;
}

/**
 * Coefficient of determination 1 - SS_res / SS_tot; for constant actual values (SS_tot = 0)
 * 1 when the predictions are exact, else 0 (scikit-learn's force_finite).
 */
export function r2(predictions: ArrayLike<number>, actual: ArrayLike<number>): number {
  const n = actual.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i] as number;
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i] as number;
    ssRes += (a - (predictions[i] as number)) ** 2;
    ssTot += (a - mean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * The task's metrics (see {@link MetricName}) of a network's outputs on `rows` rows.
 * `outputs` are the output layer's values before its activation: logits for
 * classification (1 per row for binary, one per class for multiclass), predictions for
 * regression. `targets` as ./data.ts encodes them: class index for binary, one-hot rows for
 * multiclass, values for regression. No rows → no metrics.
 */
export function computeMetrics(
  task: Task,
  outputs: Float32Array,
  targets: Float32Array,
  classCount = 0,
): Metrics {
  switch (task) {
    case "binary":
      return binaryMetrics(outputs, targets);
    case "multiclass":
      return multiclassMetrics(outputs, targets, classCount);
    case "regression":
      return regressionMetrics(outputs, targets);
  }
}

function binaryMetrics(logits: Float32Array, targets: Float32Array): Metrics {
  const n = targets.length;
  if (n === 0) return {};
  let loss = 0;
  let correct = 0;
  const pTrue = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = logits[i] as number;
    const y = targets[i] as number;
    loss += softplus(z) - z * y;
    const p = sigmoid(z);
    pTrue[i] = y === 1 ? p : 1 - p;
    if (z >= 0 === (y === 1)) correct++;
  }
  const auc = rocAuc(logits, targets);
  return {
    loss: loss / n,
    accuracy: correct / n,
    ...(auc === undefined ? {} : { auc }),
    log_loss: logLoss(pTrue),
  };
}

function multiclassMetrics(logits: Float32Array, targets: Float32Array, k: number): Metrics {
  if (k < 2 || targets.length % k !== 0)
    throw new RangeError(`multiclass metrics need classCount ≥ 2 dividing the targets, got ${k}`);
  const n = targets.length / k;
  if (n === 0) return {};
  const probabilities = new Float64Array(n * k);
  const truth = new Int32Array(n);
  const pTrue = new Float64Array(n);
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = i * k;
    let best = 0;
    let y = 0;
    for (let c = 1; c < k; c++) {
      if ((logits[row + c] as number) > (logits[row + best] as number)) best = c;
      if ((targets[row + c] as number) > (targets[row + y] as number)) y = c;
    }
    const max = logits[row + best] as number;
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp((logits[row + c] as number) - max);
    const logSumExp = max + Math.log(sum);
    for (let c = 0; c < k; c++) probabilities[row + c] = Math.exp((logits[row + c] as number) - logSumExp);
    loss += logSumExp - (logits[row + y] as number);
    truth[i] = y;
    pTrue[i] = probabilities[row + y] as number;
    if (best === y) correct++;
  }
  // Macro one-vs-rest AUC over the classes present with both outcomes in these rows.
  const scores = new Float64Array(n);
  const isClass = new Uint8Array(n);
  let aucSum = 0;
  let aucCount = 0;
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      scores[i] = probabilities[i * k + c] as number;
      isClass[i] = truth[i] === c ? 1 : 0;
    }
    const auc = rocAuc(scores, isClass);
    if (auc !== undefined) {
      aucSum += auc;
      aucCount++;
    }
  }
  return {
    loss: loss / n,
    accuracy: correct / n,
    ...(aucCount === 0 ? {} : { auc: aucSum / aucCount }),
    log_loss: logLoss(pTrue),
  };
}

function regressionMetrics(predictions: Float32Array, targets: Float32Array): Metrics {
  const n = targets.length;
  if (n === 0) return {};
  let squares = 0;
  let absolute = 0;
  for (let i = 0; i < n; i++) {
    const d = (targets[i] as number) - (predictions[i] as number);
    squares += d * d;
    absolute += Math.abs(d);
  }
  return { loss: squares / n, rmse: Math.sqrt(squares / n), mae: absolute / n, r2: r2(predictions, targets) };
}

/** One finished epoch's figures. */
export interface EpochMetrics {
  /** Epoch number, from 1. */
  readonly epoch: number;
  /** On the training rows by {@link MetricName}, on the validation rows as `val_` + name. */
  readonly metrics: Metrics;
  /** Training rows per second of the epoch's batch loop (evaluation not included). */
  readonly samplesPerSecond: number;
  /** When the epoch ended, in milliseconds since the Unix epoch. */
  readonly endTime: number;
}
