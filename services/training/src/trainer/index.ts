/**
 * The training core: backend selection, data preparation, the training loop, metrics and
 * checkpoints. Backend-agnostic and free of service code, so it runs in a worker thread.
 */
export { type BackendName, backendNames, selectBackend } from "./backend.js";
export { type Checkpoint, decodeCheckpoint, encodeCheckpoint, type OptimizerState } from "./checkpoint.js";
export {
  type ColumnData,
  defaultPreprocessingOptions,
  type EncodedSplit,
  encodeTargets,
  fitClasses,
  fitPreprocessing,
  labelledRows,
  type MissingValues,
  type PreparedData,
  type PreprocessingOptions,
  prepareData,
  type SplitRows,
  type TrainingData,
  targetWidth,
  transform,
} from "./data.js";
export { evaluate, outputLogits, predict } from "./evaluate.js";
export {
  computeMetrics,
  type EpochMetrics,
  higherIsBetter,
  logLoss,
  type MetricName,
  type Metrics,
  metricNames,
  r2,
  rocAuc,
} from "./metrics.js";
export {
  CancelledError,
  DivergedError,
  type EarlyStoppingSpec,
  type TrainHooks,
  type TrainResult,
  type TrainSpec,
  train,
} from "./train.js";
