import { createClient } from "@connectrpc/connect";
import { createGrpcServer, createGrpcTransport, type GrpcServer } from "@seam/kit/hosting";
import type { Logger } from "@seam/kit/logging";
import type { Stores } from "@seam/kit/storage";
import { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { TrainingService } from "@seam/proto/seam/training/v1/training_pb";
import type { TrainingConfig } from "./config.js";
import { JobStore } from "./jobs/job-store.js";
import type { TrainingExecutor } from "./runner/executor.js";
import { JobRunner } from "./runner/job-runner.js";
import { ThreadExecutor } from "./runner/thread-executor.js";
import { TrainingServiceImpl } from "./service.js";

/** A training service listening on its gRPC port; `close()` after the server has shut down. */
export interface RunningTraining {
  readonly server: GrpcServer;
  readonly port: number;
  readonly runner: JobRunner;
  /** Stops the runner (running jobs are requeued at the next start) and closes the clients. */
  close(): Promise<void>;
}

/**
 * Hosts the training service on grpc-js (with health and reflection) over the given
 * stores, with a JobRunner training on worker threads, and clients of the dataset service
 * and the registry. Unfinished jobs of an earlier process are requeued (embedded stores:
 * this process owns them).
 */
export async function startTrainingServer(
  config: TrainingConfig,
  stores: Stores,
  logger: Logger,
  executor: TrainingExecutor = new ThreadExecutor(),
): Promise<RunningTraining> {
  const datasetsTransport = createGrpcTransport({ address: config.SEAM_DATASETS_ADDRESS });
  const registryTransport = createGrpcTransport({ address: config.SEAM_REGISTRY_ADDRESS });
  const datasets = createClient(DatasetService, datasetsTransport);
  const jobs = new JobStore(stores.meta);
  const runner = new JobRunner({
    jobs,
    events: stores.events,
    blobs: stores.blobs,
    datasets,
    registry: createClient(ModelRegistryService, registryTransport),
    executor,
    logger,
    concurrency: config.TRAINING_WORKERS,
  });
  const server = createGrpcServer({ logger });
  server.register(
    TrainingService,
    new TrainingServiceImpl({ jobs, events: stores.events, runner, datasets, logger }),
  );
  const port = await server.listen(config.TRAINING_HOST, config.TRAINING_PORT);
  if (stores.kind === "embedded") {
    const recovered = await runner.recover();
    if (recovered > 0) logger.info({ jobs: recovered }, "requeued unfinished jobs");
  }
  return {
    server,
    port,
    runner,
    async close() {
      await runner.close();
      datasetsTransport.close();
      registryTransport.close();
    },
  };
}
