import { createClient } from "@connectrpc/connect";
import {
  createGrpcServer,
  createGrpcTransport,
  type GrpcServer,
  type MessageEncoder,
} from "@seam/kit/hosting";
import type { Logger } from "@seam/kit/logging";
import { type OnlineStore, openOnlineStore, type Stores } from "@seam/kit/storage";
import { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import type { FeaturesConfig } from "./config.js";
import { createDatasetsAccess } from "./datasets-access.js";
import { createRegistryBindings } from "./model-bindings.js";
import { encodeOnlineFeaturesResponse } from "./online/encode-response.js";
import { FeaturesService } from "./service.js";

// Push messages carry up to 10 000 rows; online responses for 1000 entities × many
// features are large too.
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** A feature store listening on its gRPC port; `close()` after the server has shut down. */
export interface RunningFeatures {
  readonly server: GrpcServer;
  readonly port: number;
  readonly online: OnlineStore;
  /** Stops following definition changes, closes the clients and the online store. */
  close(): Promise<void>;
}

/**
 * Hosts the feature store on grpc-js (with health and reflection) over the given stores,
 * its own online store (Redis when REDIS_URL is set, else LMDB under SEAM_DATA_DIR), and
 * clients of the dataset service and the registry.
 */
export async function startFeaturesServer(
  config: FeaturesConfig,
  stores: Stores,
  logger: Logger,
): Promise<RunningFeatures> {
  const online = await openOnlineStore({
    dataDir: config.SEAM_DATA_DIR,
    ...(config.REDIS_URL === undefined ? {} : { redisUrl: config.REDIS_URL }),
  });
  const datasetsTransport = createGrpcTransport({ address: config.SEAM_DATASETS_ADDRESS });
  const registryTransport = createGrpcTransport({ address: config.SEAM_REGISTRY_ADDRESS });
  const service = new FeaturesService({
    meta: stores.meta,
    online,
    events: stores.events,
    datasets: createDatasetsAccess(createClient(DatasetService, datasetsTransport)),
    bindings: createRegistryBindings(createClient(ModelRegistryService, registryTransport)),
    logger,
  });
  const following = new AbortController();
  await service.followDefinitionChanges(following.signal);
  const server = createGrpcServer({
    logger,
    maxReceiveMessageBytes: MAX_MESSAGE_BYTES,
    maxSendMessageBytes: MAX_MESSAGE_BYTES,
  });
  server.register(FeatureStoreService, service, {
    responseEncoders: { getOnlineFeatures: encodeOnlineFeaturesResponse as MessageEncoder },
  });
  const port = await server.listen(config.FEATURES_HOST, config.FEATURES_PORT);
  return {
    server,
    port,
    online,
    async close() {
      following.abort();
      datasetsTransport.close();
      registryTransport.close();
      await online.close();
    },
  };
}
