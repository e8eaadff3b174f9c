import type { Logger } from "@seam/kit/logging";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { JobRunner } from "./job-runner.js";

/** Name of the BullMQ queue of training jobs (keys under the Seam Redis prefix). */
export const TRAINING_QUEUE = "training";

/** Options of {@link BullJobQueue}. */
export interface BullJobQueueOptions {
  readonly redisUrl: string;
  /** Prefix of BullMQ's keys; "seam:bull" by default (BullMQ adds ":<queue>:…"). */
  readonly prefix?: string;
  /** The runner that trains the jobs this process takes; none = this process only enqueues. */
  readonly runner?: JobRunner;
  /** Jobs this process trains at once. */
  readonly concurrency?: number;
  /**
   * How long a worker's hold on a job lasts without renewal: a process killed mid-job loses
   * it after this and another process takes the job over (resuming from its checkpoint).
   */
  readonly lockMs?: number;
  readonly logger: Logger;
}

/**
 * The distributed JobQueue: jobs go into a BullMQ queue on Redis, and every process with a
 * runner (`seam worker training`, or the service itself) takes them, any number on any
 * host. A process that dies mid-job stops renewing its lock; BullMQ's stalled-job check in
 * another process then hands the job over, and the runner resumes it from its last
 * checkpoint (or fails it after MAX_ATTEMPTS lost runs), so no job stays RUNNING.
 */
export class BullJobQueue {
  private readonly queue: Queue;
  private readonly worker: Worker | undefined;
  private readonly connections: Redis[] = [];

  constructor(private readonly options: BullJobQueueOptions) {
    const prefix = options.prefix ?? "seam:bull";
    const connection = this.connect();
    this.queue = new Queue(TRAINING_QUEUE, { connection, prefix });
    const runner = options.runner;
    if (runner !== undefined) {
      const lockDuration = options.lockMs ?? 30_000;
      this.worker = new Worker(
        TRAINING_QUEUE,
        async (job) => {
          const id = (job.data as { id: string }).id;
          // A job BullMQ delivers again after a stall was RUNNING on a process that died.
          await runner.runNow(id, job.attemptsStarted > 1 || job.stalledCounter > 0);
        },
        {
          connection: this.connect(),
          prefix,
          concurrency: options.concurrency ?? 1,
          lockDuration,
          stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
          // Lost runs are counted (and bounded) on the job record by the runner.
          maxStalledCount: 1000,
        },
      );
      this.worker.on("error", (err) => options.logger.warn({ err }, "training queue worker error"));
    }
  }

  /** Adds a stored QUEUED job (its id is the BullMQ job id, so adding twice is a no-op). */
  async enqueue(id: string): Promise<void> {
    await this.queue.add("train", { id }, { jobId: id, removeOnComplete: true, removeOnFail: true });
  }

  /** Removes a waiting job (a running one stops through the cancel event its runner hears). */
  async cancel(id: string): Promise<void> {
    await this.queue.remove(id).catch(() => 0);
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
  }

  // BullMQ blocks on its worker connection: each part gets its own (maxRetriesPerRequest null, as BullMQ requires).
  private connect(): Redis {
    const redis = new Redis(this.options.redisUrl, { maxRetriesPerRequest: null });
    redis.on("error", () => {});
    this.connections.push(redis);
    return redis;
  }
}
