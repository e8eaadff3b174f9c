import type { Client } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@seam/kit/hosting";
import type { Logger } from "@seam/kit/logging";
import type { Stores } from "@seam/kit/storage";
import { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import type { SweepSchema } from "@seam/proto/seam/training/v1/training_pb";
import type { TrainingConfig } from "./config.js";
import { JobStore } from "./jobs/job-store.js";
import type { RecordStore } from "./jobs/record-store.js";
import { BullJobQueue } from "./runner/bull-queue.js";
import type { TrainingExecutor } from "./runner/executor.js";
import { embeddedQueue, type JobQueue } from "./runner/job-queue.js";
import { JobRunner } from "./runner/job-runner.js";
import { ThreadExecutor } from "./runner/thread-executor.js";
import { SweepRunner, sweepStore } from "./sweeps/sweep-runner.js";

/** What a training process runs on: jobs, the queue, a runner and the clients it calls. */
export interface TrainingRuntime {
  readonly jobs: JobStore;
  readonly queue: JobQueue;
  readonly runner: JobRunner;
  readonly datasets: Client<typeof DatasetService>;
  readonly features: Client<typeof FeatureStoreService>;
  /** Embedded: this process owns the jobs (unfinished ones are requeued at start). */
  /** Sweeps and the controllers this process runs (the service process drives the sweeps it creates). */
  readonly sweeps: { readonly store: RecordStore<typeof SweepSchema>; readonly runner: SweepRunner };
  readonly embedded: boolean;
  /** Stops taking jobs, lets running ones go (they resume elsewhere or at the next start), closes the clients. */
  close(): Promise<void>;
}

/**
 * Builds the runtime of a training process. Embedded stores: the JobQueue is this process's
 * runner. Redis: the queue is BullMQ on that Redis, and this process trains jobs from it
 * when TRAINING_WORKERS > 0 (`seam worker training` processes do the same on other hosts).
 */
export function createTrainingRuntime(
  config: TrainingConfig,
  stores: Stores,
  logger: Logger,
  executor: TrainingExecutor = new ThreadExecutor(),
): TrainingRuntime {
  const datasetsTransport = createGrpcTransport({ address: config.SEAM_DATASETS_ADDRESS });
  const registryTransport = createGrpcTransport({ address: config.SEAM_REGISTRY_ADDRESS });
  const featuresTransport = createGrpcTransport({ address: config.SEAM_FEATURES_ADDRESS });
  const datasets = createClient(DatasetService, datasetsTransport);
  const features = createClient(FeatureStoreService, featuresTransport);
  const jobs = new JobStore(stores.meta);
  const registry = createClient(ModelRegistryService, registryTransport);
  const runner = new JobRunner({
    jobs,
    events: stores.events,
    blobs: stores.blobs,
    datasets,
    registry,
    features,
    executor,
    logger,
    concurrency: Math.max(1, config.TRAINING_WORKERS),
    ...(config.TRAINING_BACKEND === undefined ? {} : { backend: config.TRAINING_BACKEND }),
  });
  let bull: BullJobQueue | undefined;
  let queue: JobQueue;
  if (stores.kind === "redis" && config.REDIS_URL !== undefined) {
    const distributed = new BullJobQueue({
      redisUrl: config.REDIS_URL,
      ...(config.TRAINING_WORKERS > 0 ? { runner, concurrency: config.TRAINING_WORKERS } : {}),
      lockMs: config.TRAINING_LOCK_MS,
      logger,
    });
    bull = distributed;
    queue = {
      enqueue: (id) => distributed.enqueue(id),
      async cancel(id) {
        runner.cancel(id);
        await distributed.cancel(id);
      },
    };
  } else {
    queue = embeddedQueue(runner);
  }
  const sweepsStore = sweepStore(stores.meta);
  const sweepRunner = new SweepRunner({
    sweeps: sweepsStore,
    jobs,
    queue,
    events: stores.events,
    blobs: stores.blobs,
    registry,
    logger,
  });
  return {
    jobs,
    queue,
    runner,
    datasets,
    features,
    sweeps: { store: sweepsStore, runner: sweepRunner },
    embedded: bull === undefined,
    async close() {
      await sweepRunner.close();
      await runner.close();
      await bull?.close();
      datasetsTransport.close();
      registryTransport.close();
      featuresTransport.close();
    },
  };
}
