import type { Task, TrainedModel } from "../model/trained-model.js";
import type { LoadedData } from "./load-data.js";

/** The trainer's settings of one job, resolved from its spec. */
export interface TrainSettings {
  readonly task: Task;
  readonly hiddenUnits: number[];
  readonly activation: "relu" | "tanh" | "sigmoid";
  readonly dropout: number;
  readonly optimizer: "adam" | "sgd";
  readonly learningRate: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly earlyStopping?: { readonly metric: string; readonly patience: number };
  readonly seed: number;
  readonly missing: "mean" | "zero";
}

/** One epoch's figures as the trainer reports them. */
export interface EpochReport {
  readonly epoch: number;
  readonly metrics: Record<string, number>;
  readonly samplesPerSecond: number;
  /** When the epoch started and ended, in milliseconds since the Unix epoch (one clock for all threads). */
  readonly startTime: number;
  readonly endTime: number;
}

/** What one training run needs. */
export interface TrainTask {
  readonly settings: TrainSettings;
  readonly data: LoadedData;
  /** A checkpoint to resume from (its bytes, as `onCheckpoint` gave them). */
  readonly checkpoint?: Uint8Array;
  /** TF.js backend to try first (TRAINING_BACKEND); the fastest that loads otherwise. */
  readonly backend?: "tensorflow" | "wasm" | "cpu";
}

/** What a finished run produced. */
export interface TrainOutcome {
  readonly model: TrainedModel;
  readonly testMetrics: Record<string, number>;
  readonly backend: string;
  readonly samplesPerSecond: number;
  /** The validation rows (indexes into the task's data) the predictions below are for. */
  readonly validationRows: number[];
  /** The TF.js model's outputs on those rows (one vector per row), to check the ONNX export against. */
  readonly validationPredictions: Float32Array[];
}

/** Callbacks of a run; awaited before the next epoch starts. */
export interface TrainHooks {
  onEpoch(report: EpochReport): Promise<void>;
  onCheckpoint(epoch: number, bytes: Uint8Array): Promise<void>;
}

/** A running training. */
export interface TrainingRun {
  /** Resolves with the outcome; rejects with CancelledError, WorkerLostError or the training's error. */
  readonly outcome: Promise<TrainOutcome>;
  /** Asks the run to stop (within one batch); `outcome` then rejects with CancelledError. */
  cancel(): void;
}

/** Runs trainings somewhere: worker threads of this process (embedded), later other hosts. */
export interface TrainingExecutor {
  start(task: TrainTask, hooks: TrainHooks): TrainingRun;
  close(): Promise<void>;
}

/** The run was cancelled. */
export class CancelledError extends Error {
  override readonly name = "CancelledError";
}

/** The worker running the training went away (crashed, killed): the job may resume elsewhere. */
export class WorkerLostError extends Error {
  override readonly name = "WorkerLostError";
}
