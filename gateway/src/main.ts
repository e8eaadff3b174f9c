import { logLevelSchema, parseEnv } from "@seam/kit/config";
import { installShutdownHandlers } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { shutdownTelemetry } from "@seam/kit/telemetry";
import { z } from "zod";
import { connectBackends, loadBackendAddresses } from "./backends.js";
import { loadGatewayConfig } from "./config.js";
import { createGateway } from "./gateway.js";

/**
 * Composition root of a gateway process (`seam serve gateway`): config → logger →
 * backend transports → gateway; SIGTERM/SIGINT close it (in-flight calls get the grace period).
 */
export async function runGateway(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = loadGatewayConfig(env);
  const addresses = loadBackendAddresses(env);
  const { LOG_LEVEL } = parseEnv(z.object({ LOG_LEVEL: logLevelSchema }), env);
  const logger = createLogger({ service: "gateway", level: LOG_LEVEL });
  const { services, transports } = connectBackends(addresses);
  const gateway = createGateway({
    services,
    logger,
    maxRequestBytes: config.maxRequestBytes,
    corsOrigins: config.corsOrigins,
  });
  const port = await gateway.listen(config.host, config.port);
  logger.info({ url: `http://${config.host}:${port}`, backends: addresses }, "gateway listening");
  installShutdownHandlers({ shutdown: () => gateway.close() }, logger, {
    beforeExit: async () => {
      for (const transport of transports) transport.close();
      await shutdownTelemetry();
    },
  });
}
