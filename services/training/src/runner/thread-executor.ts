import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import { startWorker } from "@seam/kit/workers";
import {
  CancelledError,
  type TrainHooks,
  type TrainingExecutor,
  type TrainingRun,
  type TrainOutcome,
  type TrainTask,
  WorkerLostError,
} from "./executor.js";
import type { FromTrainWorker, ToTrainWorker, TrainWorkerData } from "./worker-protocol.js";

/** The compiled worker entry next to this module; absent when running from src/ (tests). */
const BUILT_WORKER = new URL("./train-worker.js", import.meta.url);

/** Options of {@link ThreadExecutor}. */
export interface ThreadExecutorOptions {
  /** The worker entry; the compiled train-worker.js by default. "in-process" runs on this thread (tests, debugging). */
  readonly worker?: URL | "in-process";
}

/**
 * The embedded executor: every run in a fresh worker thread (TF.js state and memory go away
 * with it), so training never blocks the event loop of the services hosted in the process.
 * A worker that exits or crashes before reporting its outcome rejects the run with
 * WorkerLostError, which the runner turns into a resume from the last checkpoint.
 */
export class ThreadExecutor implements TrainingExecutor {
  private readonly workers = new Set<Worker>();
  private readonly entry: URL | "in-process";

  constructor(options: ThreadExecutorOptions = {}) {
    const entry = options.worker ?? BUILT_WORKER;
    this.entry = entry !== "in-process" && !existsSync(fileURLToPath(entry)) ? "in-process" : entry;
  }

  /** Running worker threads (a test kills one to check resuming). */
  get threads(): ReadonlySet<Worker> {
    return this.workers;
  }

  start(task: TrainTask, hooks: TrainHooks): TrainingRun {
    return this.entry === "in-process"
      ? startInProcess(task, hooks)
      : this.startThread(this.entry, task, hooks);
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.terminate()));
  }

  private startThread(entry: URL, task: TrainTask, hooks: TrainHooks): TrainingRun {
    const data: TrainWorkerData = { task };
    const worker = startWorker(entry, { workerData: data });
    this.workers.add(worker);
    let cancelRequested = false;
    const outcome = new Promise<TrainOutcome>((resolve, reject) => {
      let settled = false;
      // Messages are handled one after another: a checkpoint is stored before the next epoch's report.
      let chain: Promise<void> = Promise.resolve();
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        this.workers.delete(worker);
        action();
      };
      worker.on("message", (message: FromTrainWorker) => {
        chain = chain
          .then(async () => {
            if (settled) return;
            switch (message.type) {
              case "epoch":
                await hooks.onEpoch(message.report);
                break;
              case "checkpoint":
                await hooks.onCheckpoint(message.epoch, message.bytes);
                break;
              case "done":
                settle(() => resolve(message.outcome));
                break;
              case "failed":
                settle(() =>
                  reject(message.cancelled ? new CancelledError("cancelled") : new Error(message.message)),
                );
                break;
            }
          })
          .catch((err: unknown) => {
            void worker.terminate();
            settle(() => reject(err));
          });
      });
      worker.on("error", (err) => {
        void chain.then(() =>
          settle(() => reject(new WorkerLostError(`the worker crashed: ${err.message}`))),
        );
      });
      worker.on("exit", (code) => {
        void chain.then(() =>
          settle(() =>
            reject(
              cancelRequested
                ? new CancelledError("cancelled")
                : new WorkerLostError(`the worker exited (code ${code})`),
            ),
          ),
        );
      });
    });
    return {
      outcome,
      cancel: () => {
        cancelRequested = true;
        const message: ToTrainWorker = { type: "cancel" };
        worker.postMessage(message);
      },
    };
  }
}

// TF.js keeps one engine per thread: runs on this thread must take turns.
let inProcessTail: Promise<unknown> = Promise.resolve();

function startInProcess(task: TrainTask, hooks: TrainHooks): TrainingRun {
  let cancelled = false;
  const outcome = inProcessTail
    .catch(() => {})
    .then(() => import("./run-training.js"))
    .then(({ runTraining }) => {
      if (cancelled) throw new CancelledError("cancelled");
      return runTraining(task, { ...hooks, shouldStop: () => cancelled });
    });
  inProcessTail = outcome.catch(() => {});
  return {
    outcome,
    cancel: () => {
      cancelled = true;
    },
  };
}
