import { createClient } from "@connectrpc/connect";
import {
  createGrpcServer,
  createGrpcTransport,
  type GrpcServer,
  type MessageEncoder,
} from "@seam/kit/hosting";
import type { Logger } from "@seam/kit/logging";
import type { Stores } from "@seam/kit/storage";
import { GRPCInferenceService } from "@seam/proto/inference/grpc_predict_v2_pb";
import { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { InferenceService } from "@seam/proto/seam/inference/v1/inference_pb";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import type { InferenceConfig } from "./config.js";
import { encodePredictResponse } from "./encode-response.js";
import { encodeModelInferResponse } from "./oip/encode-response.js";
import { assembleInference, type InferenceRuntime } from "./runtime.js";

/** An inference server listening on its gRPC port; `close()` after the server has shut down. */
export interface RunningInference {
  readonly server: GrpcServer;
  readonly port: number;
  readonly runtime: InferenceRuntime;
  /** Stops following, flushes the prediction log, unloads models, closes the clients. */
  close(): Promise<void>;
}

/**
 * Hosts `seam.inference.v1.InferenceService` and the Open Inference Protocol's
 * `inference.GRPCInferenceService` on one grpc-js port (with health and reflection),
 * with clients of the registry, the feature store and the dataset service.
 */
export async function startInferenceServer(
  config: InferenceConfig,
  stores: Stores,
  logger: Logger,
): Promise<RunningInference> {
  const registryTransport = createGrpcTransport({ address: config.SEAM_REGISTRY_ADDRESS });
  const featuresTransport = createGrpcTransport({ address: config.SEAM_FEATURES_ADDRESS });
  const datasetsTransport = createGrpcTransport({ address: config.SEAM_DATASETS_ADDRESS });
  const server = createGrpcServer({
    logger,
    maxReceiveMessageBytes: config.INFERENCE_MAX_MESSAGE_BYTES,
    maxSendMessageBytes: config.INFERENCE_MAX_MESSAGE_BYTES,
  });
  const runtime = await assembleInference(config, {
    meta: stores.meta,
    events: stores.events,
    registry: createClient(ModelRegistryService, registryTransport),
    features: createClient(FeatureStoreService, featuresTransport),
    datasets: createClient(DatasetService, datasetsTransport),
    logger,
    ready: () => !server.draining,
  });
  registerInference(server, runtime);
  const port = await server.listen(config.INFERENCE_HOST, config.INFERENCE_PORT);
  return {
    server,
    port,
    runtime,
    async close() {
      await runtime.close();
      registryTransport.close();
      featuresTransport.close();
      datasetsTransport.close();
    },
  };
}

/**
 * Registers both APIs of the runtime on `server`, their hot responses (Predict, ModelInfer)
 * written by hand-written encoders instead of the generic toBinary.
 */
export function registerInference(
  server: GrpcServer,
  runtime: Pick<InferenceRuntime, "service" | "oip">,
): void {
  server.register(InferenceService, runtime.service, {
    responseEncoders: { predict: encodePredictResponse as MessageEncoder },
  });
  server.register(GRPCInferenceService, runtime.oip, {
    responseEncoders: { modelInfer: encodeModelInferResponse as MessageEncoder },
  });
}
