import { createGrpcServer, type GrpcServer } from "@seam/kit/hosting";
import type { Logger } from "@seam/kit/logging";
import type { Stores } from "@seam/kit/storage";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import type { RegistryConfig } from "./config.js";
import { ModelRegistry } from "./service.js";

// Upload chunks are small, but one message may carry a whole small artifact.
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** A registry listening on its gRPC port. */
export interface RunningRegistry {
  readonly server: GrpcServer;
  readonly port: number;
}

/** Hosts the registry on grpc-js (with health and reflection) over the given stores. */
export async function startRegistryServer(
  config: RegistryConfig,
  stores: Stores,
  logger: Logger,
): Promise<RunningRegistry> {
  const server = createGrpcServer({
    logger,
    maxReceiveMessageBytes: MAX_MESSAGE_BYTES,
    maxSendMessageBytes: MAX_MESSAGE_BYTES,
  });
  server.register(
    ModelRegistryService,
    new ModelRegistry({
      meta: stores.meta,
      blobs: stores.blobs,
      events: stores.events,
      logger,
      maxArtifactBytes: config.REGISTRY_MAX_ARTIFACT_BYTES,
      stopWatches: server.drainSignal,
    }),
  );
  const port = await server.listen(config.REGISTRY_HOST, config.REGISTRY_PORT);
  return { server, port };
}
