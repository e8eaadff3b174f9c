/**
 * Worker thread entry of a training run: trains the task in `workerData`, posting epochs,
 * checkpoints and the outcome to the parent; a "cancel" message stops it within one batch.
 */
import { parentPort, workerData } from "node:worker_threads";
import { CancelledError } from "./executor.js";
import { runTraining } from "./run-training.js";
import type { FromTrainWorker, ToTrainWorker, TrainWorkerData } from "./worker-protocol.js";

const port = parentPort;
if (port === null) throw new Error("train-worker.js runs as a worker thread");
let cancelled = false;
port.on("message", (message: ToTrainWorker) => {
  if (message.type === "cancel") cancelled = true;
});
const post = (message: FromTrainWorker, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

const { task } = workerData as TrainWorkerData;
try {
  const outcome = await runTraining(task, {
    onEpoch: async (report) => post({ type: "epoch", report }),
    onCheckpoint: async (epoch, bytes) => post({ type: "checkpoint", epoch, bytes }),
    shouldStop: () => cancelled,
  });
  post({ type: "done", outcome });
} catch (err) {
  post({
    type: "failed",
    message: err instanceof Error ? err.message : String(err),
    cancelled: err instanceof CancelledError,
  });
}
port.close();
