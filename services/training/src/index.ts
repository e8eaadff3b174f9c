/**
 * The training service: `seam.training.v1.TrainingService`, jobs trained with TensorFlow.js
 * on worker threads, exported to ONNX and registered. `runTraining()` is the process entry
 * point; `startTrainingServer()` hosts it in a given process.
 */
export { type TrainingConfig, trainingConfigSchema } from "./config.js";
export { runTraining } from "./main.js";
export { type RunningTraining, startTrainingServer } from "./server.js";
export { runTrainingWorker } from "./worker.js";
