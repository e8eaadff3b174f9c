import { parseEnv } from "@seam/kit/config";
import { installShutdownHandlers } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { openStores } from "@seam/kit/storage";
import { shutdownTelemetry } from "@seam/kit/telemetry";
import { registryConfigSchema } from "./config.js";
import { startRegistryServer } from "./server.js";

/**
 * Composition root of a registry process (`seam serve registry`):
 * config → logger → stores → server; SIGTERM drains, then closes the stores.
 */
export async function runRegistry(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = parseEnv(registryConfigSchema, env);
  const logger = createLogger({ service: "registry", level: config.LOG_LEVEL });
  const stores = await openStores({
    dataDir: config.SEAM_DATA_DIR,
    ...(config.REDIS_URL === undefined ? {} : { redisUrl: config.REDIS_URL }),
  });
  const { server, port } = await startRegistryServer(config, stores, logger);
  logger.info({ address: `${config.REGISTRY_HOST}:${port}`, storage: stores.kind }, "registry listening");
  installShutdownHandlers(server, logger, {
    beforeExit: async () => {
      await stores.close();
      await shutdownTelemetry();
    },
  });
}
