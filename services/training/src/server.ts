import { createGrpcServer, type GrpcServer } from "@seam/kit/hosting";
import type { Logger } from "@seam/kit/logging";
import type { Stores } from "@seam/kit/storage";
import { TrainingService } from "@seam/proto/seam/training/v1/training_pb";
import type { TrainingConfig } from "./config.js";
import type { TrainingExecutor } from "./runner/executor.js";
import type { JobRunner } from "./runner/job-runner.js";
import { createTrainingRuntime } from "./runtime.js";
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
 * Hosts the training service on grpc-js (with health and reflection) over the given stores,
 * with its job queue (embedded runner, or BullMQ on Redis) and clients of the dataset
 * service, the registry and the feature store. Embedded, unfinished jobs of an earlier process are requeued.
 */
export async function startTrainingServer(
  config: TrainingConfig,
  stores: Stores,
  logger: Logger,
  executor?: TrainingExecutor,
): Promise<RunningTraining> {
  const runtime = createTrainingRuntime(config, stores, logger, executor);
  const server = createGrpcServer({ logger });
  server.register(TrainingService, new TrainingServiceImpl(runtime.serviceDeps));
  const port = await server.listen(config.TRAINING_HOST, config.TRAINING_PORT);
  if (runtime.embedded) {
    const recovered = await runtime.runner.recover();
    if (recovered > 0) logger.info({ jobs: recovered }, "requeued unfinished jobs");
    const sweeps = await runtime.serviceDeps.sweeps.runner.recover();
    if (sweeps > 0) logger.info({ sweeps }, "drives the running sweeps again");
  }
  return { server, port, runner: runtime.runner, close: () => runtime.close() };
}
