import type { JobRunner } from "./job-runner.js";

/**
 * The JobQueue port: where submitted jobs wait for a runner. Embedded: the process's own
 * JobRunner (worker threads); distributed: BullMQ on Redis (see BullJobQueue).
 */
export interface JobQueue {
  /** Queues a stored QUEUED job. */
  enqueue(id: string): Promise<void>;
  /** Drops a waiting job; a running one stops on the CANCELLED event its runner hears. */
  cancel(id: string): Promise<void>;
}

/** The embedded queue: this process's runner. */
export function embeddedQueue(runner: JobRunner): JobQueue {
  return {
    async enqueue(id) {
      runner.enqueue(id);
    },
    async cancel(id) {
      runner.cancel(id);
    },
  };
}
