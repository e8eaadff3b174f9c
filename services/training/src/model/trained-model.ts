/**
 * A trained model as plain data: what the training loop produces, what checkpoints hold,
 * and what the ONNX export turns into a graph. No TensorFlow.js types here, so the export
 * and the registry upload never need the training backend loaded.
 */

/** What the model predicts. */
export type Task = "binary" | "multiclass" | "regression";

/** Activation of a hidden layer. */
export type HiddenActivation = "relu" | "tanh" | "sigmoid";

/** Activation of any dense layer: hidden ones, or the output layer's (fixed by the task). */
export type LayerActivation = HiddenActivation | "linear" | "softmax";

/**
 * A numeric input column: standardized as (x - mean) / std (std 1 when the column is
 * constant); a missing value (null, NaN) is replaced by `fill` (raw units) first.
 */
export interface NumericTransform {
  readonly kind: "numeric";
  readonly name: string;
  readonly mean: number;
  readonly std: number;
  readonly fill: number;
}

/**
 * A string input column: one-hot over `vocabulary` (in this order) plus one last slot for
 * anything else — unseen values and missing ones (null).
 */
export interface CategoricalTransform {
  readonly kind: "categorical";
  readonly name: string;
  readonly vocabulary: readonly string[];
}

/** One input column's transform. */
export type FeatureTransform = NumericTransform | CategoricalTransform;

/**
 * Preprocessing fitted on the training split. The model's input vector is the transforms'
 * outputs concatenated in order: 1 value per numeric column, vocabulary.length + 1 per
 * categorical column.
 */
export interface Preprocessing {
  readonly features: readonly FeatureTransform[];
}

/**
 * A dense layer: y = activation(x · W + b). `kernel` is row-major [inputs][units] (the
 * TF.js kernel layout), `bias` has `units` values.
 */
export interface DenseLayer {
  readonly inputs: number;
  readonly units: number;
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly activation: LayerActivation;
}

/**
 * The whole model. Output layer by task: binary → 1 unit, sigmoid (probability of
 * classes[1]); multiclass → classes.length units, softmax; regression → 1 unit, linear.
 */
export interface TrainedModel {
  readonly task: Task;
  readonly labelColumn: string;
  /** Label values in class-index order (classification only; empty for regression). */
  readonly classes: readonly string[];
  readonly preprocessing: Preprocessing;
  readonly layers: readonly DenseLayer[];
}

/** Width of the input vector the preprocessing produces. */
export function inputWidth(preprocessing: Preprocessing): number {
  return preprocessing.features.reduce((n, f) => n + (f.kind === "numeric" ? 1 : f.vocabulary.length + 1), 0);
}
