import type { Worker } from "node:worker_threads";
import { startWorker } from "@seam/kit/workers";

/** Idle statistics workers kept per entry, ready for the next upload. */
export const DEFAULT_MAX_IDLE_WORKERS = 2;

/**
 * Statistics worker threads, kept warm between uploads. A new worker costs about 0.3 s
 * before it answers (a fresh isolate loading apache-arrow and protobuf-es, then compiling
 * them again): as much as a whole small upload. So a finished upload hands its worker
 * back, and the next one takes it. Idle workers are unref'd (they never keep the process
 * alive); one that crashes or exits while idle is dropped.
 */
export class StatsWorkerPool {
  private readonly idle: Worker[] = [];

  constructor(
    private readonly entry: URL,
    private readonly maxIdle: number = DEFAULT_MAX_IDLE_WORKERS,
  ) {}

  /** An idle worker, or a new one. */
  take(): Worker {
    const worker = this.idle.pop() ?? this.start();
    worker.ref();
    return worker;
  }

  /**
   * Takes back a worker whose last run ended cleanly (nothing in flight), or terminates it
   * when there is no room, or when `reusable` is false (a failed or abandoned run).
   */
  give(worker: Worker, reusable: boolean): Promise<void> {
    if (!reusable || this.idle.length >= this.maxIdle) return worker.terminate().then(() => undefined);
    worker.unref();
    this.idle.push(worker);
    return Promise.resolve();
  }

  /** Starts workers until `count` are idle (at service start, so the first upload finds one). */
  prestart(count = 1): void {
    while (this.idle.length < Math.min(count, this.maxIdle)) {
      const worker = this.start();
      worker.unref();
      this.idle.push(worker);
    }
  }

  private start(): Worker {
    const worker = startWorker(this.entry);
    // Idle, nobody else listens: an error would otherwise be thrown in this process.
    worker.on("error", () => this.drop(worker));
    worker.on("exit", () => this.drop(worker));
    return worker;
  }

  private drop(worker: Worker): void {
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
  }
}

const pools = new Map<string, StatsWorkerPool>();

/** The process's pool of workers running `entry`. */
export function statsWorkerPool(entry: URL): StatsWorkerPool {
  let pool = pools.get(entry.href);
  if (pool === undefined) {
    pool = new StatsWorkerPool(entry);
    pools.set(entry.href, pool);
  }
  return pool;
}
