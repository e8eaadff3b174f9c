import type { EpochReport, TrainOutcome, TrainTask } from "./executor.js";

/** Parent → worker. */
export type ToTrainWorker = { readonly type: "cancel" };

/** Worker → parent. */
export type FromTrainWorker =
  | { readonly type: "epoch"; readonly report: EpochReport }
  | { readonly type: "checkpoint"; readonly epoch: number; readonly bytes: Uint8Array }
  | { readonly type: "done"; readonly outcome: TrainOutcome }
  | { readonly type: "failed"; readonly message: string; readonly cancelled: boolean };

/** The worker's `workerData`. */
export interface TrainWorkerData {
  readonly task: TrainTask;
}
