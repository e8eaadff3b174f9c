/**
 * The prediction log: a sample of predictions appended, in the background, to a dataset
 * of the dataset service (one NDJSON version per flush, chained by `parents`).
 */
export {
  PREDICTION_LOG_COLUMNS,
  PredictionLog,
  type PredictionLogOptions,
  type PredictionLogStats,
  type PredictionRecord,
} from "./prediction-log.js";
