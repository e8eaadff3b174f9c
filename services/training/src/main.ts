import { parseEnv } from "@seam/kit/config";
import { installShutdownHandlers } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { openStores } from "@seam/kit/storage";
import { shutdownTelemetry } from "@seam/kit/telemetry";
import { trainingConfigSchema } from "./config.js";
import { startTrainingServer } from "./server.js";

/**
 * Composition root of a training process (`seam serve training`): config → logger → stores
 * → server (with its job runner and clients); SIGTERM drains, then stops the runner.
 */
export async function runTraining(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = parseEnv(trainingConfigSchema, env);
  const logger = createLogger({ service: "training", level: config.LOG_LEVEL });
  const stores = await openStores({
    dataDir: config.SEAM_DATA_DIR,
    ...(config.REDIS_URL === undefined ? {} : { redisUrl: config.REDIS_URL }),
  });
  const training = await startTrainingServer(config, stores, logger);
  logger.info(
    {
      address: `${config.TRAINING_HOST}:${training.port}`,
      storage: stores.kind,
      workers: config.TRAINING_WORKERS,
      datasets: config.SEAM_DATASETS_ADDRESS,
      registry: config.SEAM_REGISTRY_ADDRESS,
    },
    "training listening",
  );
  installShutdownHandlers(training.server, logger, {
    beforeExit: async () => {
      await training.close();
      await stores.close();
      await shutdownTelemetry();
    },
  });
}
