import { parseEnv } from "@seam/kit/config";
import { createLogger } from "@seam/kit/logging";
import { openStores } from "@seam/kit/storage";
import { shutdownTelemetry, startMetricsEndpoint } from "@seam/kit/telemetry";
import { trainingConfigSchema } from "./config.js";
import { createTrainingRuntime } from "./runtime.js";

/**
 * `seam worker training`: a process that only trains, taking jobs from the BullMQ queue on
 * REDIS_URL (TRAINING_WORKERS at a time); run any number on any host. SIGTERM lets its
 * running jobs go (another worker resumes them from their checkpoints) and exits.
 */
export async function runTrainingWorker(
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  const config = parseEnv(trainingConfigSchema, env);
  if (config.REDIS_URL === undefined) {
    throw new Error("seam worker training needs REDIS_URL: workers take jobs from the queue on that Redis");
  }
  if (config.TRAINING_WORKERS === 0)
    throw new Error("seam worker training needs TRAINING_WORKERS of at least 1");
  const logger = createLogger({ service: "training-worker", level: config.LOG_LEVEL });
  // Listening from the first moment: a SIGTERM during start-up (an orchestrator scaling
  // down at once) closes what is open and exits 0 instead of killing the process mid-way.
  const opening = openStores({ dataDir: config.SEAM_DATA_DIR, redisUrl: config.REDIS_URL });
  let runtime: ReturnType<typeof createTrainingRuntime> | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const stores = await opening.catch(() => undefined);
    await runtime?.close();
    await stores?.close();
    await shutdownTelemetry();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
  const stores = await opening;
  if (stopping) return;
  runtime = createTrainingRuntime(config, stores, logger);
  // No gRPC server here to open it: the worker's own Prometheus endpoint, if SEAM_METRICS_PORT asks.
  await startMetricsEndpoint(logger);
  logger.info({ workers: config.TRAINING_WORKERS, pid: process.pid }, "training worker ready");
}
