import {
  decodeCheckpoint,
  encodeCheckpoint,
  selectBackend,
  CancelledError as TrainerCancelledError,
  train,
} from "../trainer/index.js";
import { CancelledError, type TrainHooks, type TrainOutcome, type TrainTask } from "./executor.js";

/** The hooks of a run inside the worker: the executor's, plus the cancel flag. */
export interface RunHooks extends TrainHooks {
  shouldStop(): boolean;
}

/**
 * One training run, where TF.js lives (a worker thread, or this thread in tests): picks the
 * fastest backend that loads, trains, and returns the model with the TF.js outputs on the
 * validation rows for the ONNX check.
 */
export async function runTraining(task: TrainTask, hooks: RunHooks): Promise<TrainOutcome> {
  await selectBackend(task.backend);
  const { settings, data } = task;
  // Date.now(), not performance.now(): the times cross to the main thread, whose performance clock starts elsewhere.
  let epochStart = Date.now();
  try {
    const result = await train(
      {
        task: settings.task,
        hiddenUnits: settings.hiddenUnits,
        activation: settings.activation,
        dropout: settings.dropout,
        optimizer: settings.optimizer,
        learningRate: settings.learningRate,
        epochs: settings.epochs,
        batchSize: settings.batchSize,
        ...(settings.earlyStopping === undefined ? {} : { earlyStopping: settings.earlyStopping }),
        seed: settings.seed,
        missing: settings.missing,
      },
      { columns: data.columns, labelColumn: data.labelColumn, labels: data.labels, splits: data.splits },
      {
        onEpochStart: () => {
          epochStart = Date.now();
        },
        onEpoch: (epoch) =>
          hooks.onEpoch({
            epoch: epoch.epoch,
            metrics: { ...epoch.metrics },
            samplesPerSecond: epoch.samplesPerSecond,
            startTime: epochStart,
            endTime: epoch.endTime,
          }),
        onCheckpoint: (checkpoint) => hooks.onCheckpoint(checkpoint.epoch, encodeCheckpoint(checkpoint)),
        shouldStop: () => hooks.shouldStop(),
        ...(task.checkpoint === undefined ? {} : { initialState: decodeCheckpoint(task.checkpoint) }),
      },
    );
    const width = result.model.layers[result.model.layers.length - 1]?.units ?? 1;
    const rows = [...result.validation.rows];
    return {
      model: result.model,
      testMetrics: { ...result.testMetrics },
      backend: result.backend,
      samplesPerSecond: result.samplesPerSecond,
      validationRows: rows,
      validationPredictions: rows.map((_, i) => result.validation.outputs.slice(i * width, (i + 1) * width)),
    };
  } catch (err) {
    if (err instanceof TrainerCancelledError) throw new CancelledError(err.message);
    throw err;
  }
}
