import type { Client } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@seam/kit/hosting";
import type { Logger } from "@seam/kit/logging";
import type { Stores } from "@seam/kit/storage";
import { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import type { TrainingConfig } from "./config.js";
import { MeteredJobStore, meteredExecutor } from "./metrics.js";
import { BullJobQueue } from "./runner/bull-queue.js";
import type { TrainingExecutor } from "./runner/executor.js";
import { embeddedQueue, type JobQueue } from "./runner/job-queue.js";
import { JobRunner } from "./runner/job-runner.js";
import { ThreadExecutor } from "./runner/thread-executor.js";
import type { TrainingDeps } from "./service.js";
import { SweepRunner, sweepStore } from "./sweeps/sweep-runner.js";

/** The services a training process calls. */
export interface TrainingClients {
  readonly datasets: Client<typeof DatasetService>;
  readonly registry: Client<typeof ModelRegistryService>;
  readonly features: Client<typeof FeatureStoreService>;
}

/** How {@link assembleTraining} builds the parts. */
export interface AssemblyOptions {
  readonly executor: TrainingExecutor;
  readonly logger: Logger;
  /** Jobs the runner trains at once. */
  readonly concurrency: number;
  /** TF.js backend the runner tries first. */
  readonly backend?: "tensorflow" | "wasm" | "cpu";
  /** A distributed queue over the runner; the runner itself (embedded) when absent. */
  readonly distributed?: (runner: JobRunner) => BullJobQueue;
}

/** What a training process runs on: jobs, the queue, a runner, sweeps and the clients it calls. */
export interface TrainingRuntime {
  readonly runner: JobRunner;
  /** Everything the service needs (TrainingServiceImpl's deps). */
  readonly serviceDeps: TrainingDeps;
  /** Embedded: this process owns the jobs and sweeps (unfinished ones are picked up again at start). */
  readonly embedded: boolean;
  /** Stops the sweeps and the runner (running jobs resume elsewhere or at the next start) and the queue. */
  close(): Promise<void>;
}

/**
 * Wires the training parts over stores and clients: the job store, the runner, the queue
 * (the runner, or a distributed one over it), the sweeps. The process and the tests build
 * them here alike; only the clients and the executor differ.
 */
export function assembleTraining(
  stores: Stores,
  clients: TrainingClients,
  options: AssemblyOptions,
): TrainingRuntime {
  const jobs = new MeteredJobStore(stores.meta);
  const runner = new JobRunner({
    jobs,
    events: stores.events,
    blobs: stores.blobs,
    ...clients,
    executor: meteredExecutor(options.executor),
    logger: options.logger,
    concurrency: options.concurrency,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  });
  const bull = options.distributed?.(runner);
  const queue: JobQueue =
    bull === undefined
      ? embeddedQueue(runner)
      : {
          enqueue: (id) => bull.enqueue(id),
          async cancel(id) {
            runner.cancel(id);
            await bull.cancel(id);
          },
        };
  const sweeps = sweepStore(stores.meta);
  const sweepRunner = new SweepRunner({
    sweeps,
    jobs,
    queue,
    events: stores.events,
    blobs: stores.blobs,
    registry: clients.registry,
    logger: options.logger,
  });
  return {
    runner,
    serviceDeps: {
      jobs,
      events: stores.events,
      queue,
      datasets: clients.datasets,
      features: clients.features,
      sweeps: { store: sweeps, runner: sweepRunner },
      logger: options.logger,
    },
    embedded: bull === undefined,
    async close() {
      await sweepRunner.close();
      await runner.close();
      await bull?.close();
    },
  };
}

/**
 * Builds the runtime of a training process from its config. Embedded stores: the JobQueue
 * is this process's runner. Redis: the queue is BullMQ on that Redis, and this process
 * trains jobs from it when TRAINING_WORKERS > 0 (`seam worker training` processes do the
 * same on other hosts).
 */
export function createTrainingRuntime(
  config: TrainingConfig,
  stores: Stores,
  logger: Logger,
  executor: TrainingExecutor = new ThreadExecutor(),
): TrainingRuntime {
  const transports = [
    config.SEAM_DATASETS_ADDRESS,
    config.SEAM_REGISTRY_ADDRESS,
    config.SEAM_FEATURES_ADDRESS,
  ].map((address) => createGrpcTransport({ address }));
  const [datasets, registry, features] = transports as [
    ReturnType<typeof createGrpcTransport>,
    ReturnType<typeof createGrpcTransport>,
    ReturnType<typeof createGrpcTransport>,
  ];
  const redisUrl = stores.kind === "redis" ? config.REDIS_URL : undefined;
  const runtime = assembleTraining(
    stores,
    {
      datasets: createClient(DatasetService, datasets),
      registry: createClient(ModelRegistryService, registry),
      features: createClient(FeatureStoreService, features),
    },
    {
      executor,
      logger,
      concurrency: Math.max(1, config.TRAINING_WORKERS),
      ...(config.TRAINING_BACKEND === undefined ? {} : { backend: config.TRAINING_BACKEND }),
      ...(redisUrl === undefined
        ? {}
        : {
            distributed: (runner: JobRunner) =>
              new BullJobQueue({
                redisUrl,
                ...(config.TRAINING_WORKERS > 0 ? { runner, concurrency: config.TRAINING_WORKERS } : {}),
                lockMs: config.TRAINING_LOCK_MS,
                logger,
              }),
          }),
    },
  );
  return {
    ...runtime,
    async close() {
      await runtime.close();
      for (const transport of transports) transport.close();
    },
  };
}
