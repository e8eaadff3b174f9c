/**
 * A TrainedModel's forward pass in plain JavaScript: no TensorFlow.js backend needed, so a
 * model can be scored anywhere (test metrics, checks of the ONNX export).
 */
import type { DenseLayer, LayerActivation, TrainedModel } from "../model/trained-model.js";
import { computeMetrics, type Metrics } from "./metrics.js";

function activate(activation: LayerActivation, values: Float32Array, units: number): void {
  switch (activation) {
    case "linear":
      return;
    case "relu":
      for (let i = 0; i < values.length; i++) if ((values[i] as number) < 0) values[i] = 0;
      return;
    case "tanh":
      for (let i = 0; i < values.length; i++) values[i] = Math.tanh(values[i] as number);
      return;
    case "sigmoid":
      for (let i = 0; i < values.length; i++) {
        const z = values[i] as number;
        values[i] = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
      }
      return;
    case "softmax":
      for (let row = 0; row < values.length; row += units) {
        let max = Number.NEGATIVE_INFINITY;
        for (let u = 0; u < units; u++) max = Math.max(max, values[row + u] as number);
        let sum = 0;
        for (let u = 0; u < units; u++) sum += Math.exp((values[row + u] as number) - max);
        for (let u = 0; u < units; u++) values[row + u] = Math.exp((values[row + u] as number) - max) / sum;
      }
      return;
  }
}

/** x · W + b for `rows` rows (row-major), summed in float64, rounded to float32. */
function dense(layer: DenseLayer, x: Float32Array, rows: number): Float32Array {
  const { inputs, units, kernel, bias } = layer;
  const out = new Float32Array(rows * units);
  const acc = new Float64Array(units);
  for (let r = 0; r < rows; r++) {
    for (let u = 0; u < units; u++) acc[u] = bias[u] as number;
    for (let i = 0; i < inputs; i++) {
      const a = x[r * inputs + i] as number;
      if (a === 0) continue; // one-hot inputs are mostly zeros
      const k = i * units;
      for (let u = 0; u < units; u++) acc[u] = (acc[u] as number) + a * (kernel[k + u] as number);
    }
    out.set(acc, r * units);
  }
  return out;
}

function rowsOf(model: TrainedModel, x: Float32Array): number {
  const first = model.layers[0];
  if (first === undefined) throw new RangeError("the model has no layers");
  if (x.length % first.inputs !== 0) {
    throw new RangeError(`inputs of ${x.length} values are not rows of ${first.inputs}`);
  }
  return x.length / first.inputs;
}

/**
 * The output layer's values before its activation (logits for classification, the
 * predictions for regression) for preprocessed inputs `x`, row-major [rows][inputs].
 */
export function outputLogits(model: TrainedModel, x: Float32Array): Float32Array {
  const rows = rowsOf(model, x);
  let values = x;
  model.layers.forEach((layer, i) => {
    values = dense(layer, values, rows);
    if (i < model.layers.length - 1) activate(layer.activation, values, layer.units);
  });
  return values;
}

/**
 * The model's outputs for preprocessed inputs `x` (row-major [rows][inputs]), row-major
 * [rows][outputs]: probability of classes[1] (binary), class probabilities (multiclass),
 * predictions (regression).
 */
export function predict(model: TrainedModel, x: Float32Array): Float32Array {
  const values = outputLogits(model, x);
  const last = model.layers[model.layers.length - 1] as DenseLayer;
  activate(last.activation, values, last.units);
  return values;
}

/**
 * The model's metrics (./metrics.ts) on preprocessed inputs `x` (row-major
 * [rows][inputs], as ./data.ts `transform` makes them) and targets `y` (as ./data.ts
 * `encodeTargets` makes them). Empty when there are no rows.
 */
export function evaluate(model: TrainedModel, x: Float32Array, y: Float32Array): Metrics {
  return computeMetrics(model.task, outputLogits(model, x), y, model.classes.length);
}
