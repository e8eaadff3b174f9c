import { parseEnv } from "@seam/kit/config";
import { installShutdownHandlers } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { openStores } from "@seam/kit/storage";
import { shutdownTelemetry } from "@seam/kit/telemetry";
import { inferenceConfigSchema } from "./config.js";
import { startInferenceServer } from "./server.js";

/**
 * Composition root of an inference process (`seam serve inference`): config → logger →
 * stores → server; SIGTERM drains (readiness turns false, requests in flight finish),
 * then the prediction log is flushed and the models unloaded.
 */
export async function runInference(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = parseEnv(inferenceConfigSchema, env);
  const logger = createLogger({ service: "inference", level: config.LOG_LEVEL });
  const stores = await openStores({
    dataDir: config.SEAM_DATA_DIR,
    ...(config.REDIS_URL === undefined ? {} : { redisUrl: config.REDIS_URL }),
  });
  const inference = await startInferenceServer(config, stores, logger);
  logger.info(
    {
      address: `${config.INFERENCE_HOST}:${inference.port}`,
      storage: stores.kind,
      registry: config.SEAM_REGISTRY_ADDRESS,
      features: config.SEAM_FEATURES_ADDRESS,
      batching: config.INFERENCE_BATCHING,
    },
    "inference listening",
  );
  installShutdownHandlers(inference.server, logger, {
    beforeExit: async () => {
      await inference.close();
      await stores.close();
      await shutdownTelemetry();
    },
  });
}
