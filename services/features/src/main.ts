import { parseEnv } from "@seam/kit/config";
import { installShutdownHandlers } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { openStores } from "@seam/kit/storage";
import { shutdownTelemetry } from "@seam/kit/telemetry";
import { featuresConfigSchema } from "./config.js";
import { startFeaturesServer } from "./server.js";

/**
 * Composition root of a feature store process (`seam serve features`): config → logger →
 * stores → server (with its online store and clients); SIGTERM drains, then closes them.
 */
export async function runFeatures(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = parseEnv(featuresConfigSchema, env);
  const logger = createLogger({ service: "features", level: config.LOG_LEVEL });
  const stores = await openStores({
    dataDir: config.SEAM_DATA_DIR,
    ...(config.REDIS_URL === undefined ? {} : { redisUrl: config.REDIS_URL }),
  });
  const features = await startFeaturesServer(config, stores, logger);
  logger.info(
    {
      address: `${config.FEATURES_HOST}:${features.port}`,
      storage: stores.kind,
      datasets: config.SEAM_DATASETS_ADDRESS,
      registry: config.SEAM_REGISTRY_ADDRESS,
    },
    "features listening",
  );
  installShutdownHandlers(features.server, logger, {
    beforeExit: async () => {
      await features.close();
      await stores.close();
      await shutdownTelemetry();
    },
  });
}
