import {
  type DenseLayer,
  type FeatureTransform,
  inputWidth,
  type Preprocessing,
  type TrainedModel,
} from "../model/trained-model.js";
import { checkModel } from "./check-model.js";
import { categoricalValue, numericValue, type RawRow } from "./raw-values.js";

const f32 = Math.fround;

/**
 * The model's forward pass in plain JavaScript, preprocessing included, with the float32
 * rounding the ONNX graph applies (inputs, constants and each op's result rounded to
 * float32; dot products summed in double, then rounded). Gives per row the output vector:
 * [probability of classes[1]] for binary, one probability per class for multiclass,
 * [prediction] for regression. Missing values follow the ONNX export: null, an absent key
 * or NaN → `fill` for numeric columns; null, an absent key or "" → the unknown slot for
 * categorical ones. Throws like {@link exportOnnx} for an inconsistent model.
 */
export function predictReference(model: TrainedModel, rows: ReadonlyArray<RawRow>): Float32Array[] {
  checkModel(model);
  return rows.map((row) => {
    let x = preprocess(model.preprocessing, row);
    for (const layer of model.layers) x = dense(layer, x);
    return x;
  });
}

function preprocess(preprocessing: Preprocessing, row: RawRow): Float32Array {
  const x = new Float32Array(inputWidth(preprocessing));
  let offset = 0;
  for (const feature of preprocessing.features) offset += encode(feature, row, x, offset);
  return x;
}

/** Writes one feature's encoding at x[offset…] and returns its width. */
function encode(feature: FeatureTransform, row: RawRow, x: Float32Array, offset: number): number {
  switch (feature.kind) {
    case "numeric": {
      let v = f32(numericValue(row, feature));
      if (Number.isNaN(v)) v = f32(feature.fill);
      x[offset] = f32(f32(v - f32(feature.mean)) / f32(feature.std));
      return 1;
    }
    case "categorical": {
      const index = feature.vocabulary.indexOf(categoricalValue(row, feature));
      // x is zero-filled; "" is never in the vocabulary, so missing lands in the last slot.
      x[offset + (index < 0 ? feature.vocabulary.length : index)] = 1;
      return feature.vocabulary.length + 1;
    }
  }
}

function dense(layer: DenseLayer, x: Float32Array): Float32Array {
  const { inputs, units, kernel, bias } = layer;
  const y = new Float32Array(units);
  for (let u = 0; u < units; u++) {
    let sum = 0;
    for (let i = 0; i < inputs; i++) sum += (x[i] as number) * (kernel[i * units + u] as number);
    y[u] = f32(f32(sum) + (bias[u] as number));
  }
  switch (layer.activation) {
    case "linear":
      break;
    case "relu":
      for (let u = 0; u < units; u++) y[u] = Math.max(0, y[u] as number);
      break;
    case "tanh":
      for (let u = 0; u < units; u++) y[u] = Math.tanh(y[u] as number);
      break;
    case "sigmoid":
      for (let u = 0; u < units; u++) y[u] = 1 / (1 + Math.exp(-(y[u] as number)));
      break;
    case "softmax": {
      const max = y.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY);
      const exps = Array.from(y, (v) => Math.exp(v - max));
      const total = exps.reduce((s, v) => s + v, 0);
      for (let u = 0; u < units; u++) y[u] = (exps[u] as number) / total;
      break;
    }
  }
  return y;
}
