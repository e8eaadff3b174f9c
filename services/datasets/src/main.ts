import { createClient } from "@connectrpc/connect";
import { parseEnv } from "@seam/kit/config";
import { createGrpcTransport, installShutdownHandlers } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { openStores } from "@seam/kit/storage";
import { shutdownTelemetry } from "@seam/kit/telemetry";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { datasetsConfigSchema } from "./config.js";
import { createRegistryLineage } from "./registry-lineage.js";
import { startDatasetsServer } from "./server.js";

/**
 * Composition root of a datasets process (`seam serve datasets`): config → logger →
 * stores → registry client (lineage checks before deletes) → server; SIGTERM drains,
 * then closes the registry channel and the stores.
 */
export async function runDatasets(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = parseEnv(datasetsConfigSchema, env);
  const logger = createLogger({ service: "datasets", level: config.LOG_LEVEL });
  const stores = await openStores({
    dataDir: config.SEAM_DATA_DIR,
    ...(config.REDIS_URL === undefined ? {} : { redisUrl: config.REDIS_URL }),
  });
  const registryTransport = createGrpcTransport({ address: config.SEAM_REGISTRY_ADDRESS });
  const lineage = createRegistryLineage(createClient(ModelRegistryService, registryTransport));
  const { server, port } = await startDatasetsServer(config, stores, logger, lineage);
  logger.info(
    {
      address: `${config.DATASETS_HOST}:${port}`,
      storage: stores.kind,
      registry: config.SEAM_REGISTRY_ADDRESS,
    },
    "datasets listening",
  );
  installShutdownHandlers(server, logger, {
    beforeExit: async () => {
      registryTransport.close();
      await stores.close();
      await shutdownTelemetry();
    },
  });
}
