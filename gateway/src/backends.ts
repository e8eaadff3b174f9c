import type { DescService } from "@bufbuild/protobuf";
import { addressSchema, parseEnv } from "@seam/kit/config";
import { createGrpcTransport, type GrpcTransport } from "@seam/kit/hosting";
import { GRPCInferenceService } from "@seam/proto/inference/grpc_predict_v2_pb";
import { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { InferenceService } from "@seam/proto/seam/inference/v1/inference_pb";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { TrainingService } from "@seam/proto/seam/training/v1/training_pb";
import { z } from "zod";
import type { GatewayService } from "./gateway.js";

/** Where the gateway finds each internal service (host:port of its grpc-js server). */
export const backendsEnvSchema = z.object({
  SEAM_REGISTRY_ADDRESS: addressSchema.default("127.0.0.1:50051"),
  SEAM_DATASETS_ADDRESS: addressSchema.default("127.0.0.1:50052"),
  SEAM_FEATURES_ADDRESS: addressSchema.default("127.0.0.1:50053"),
  SEAM_TRAINING_ADDRESS: addressSchema.default("127.0.0.1:50054"),
  SEAM_INFERENCE_ADDRESS: addressSchema.default("127.0.0.1:50055"),
});

/** Addresses of the internal services. */
export interface BackendAddresses {
  readonly registry: string;
  readonly datasets: string;
  readonly features: string;
  readonly training: string;
  /** Serves both Seam's InferenceService and the Open Inference Protocol. */
  readonly inference: string;
}

/** Reads the backend addresses; throws ConfigError naming every bad variable. */
export function loadBackendAddresses(
  env: Record<string, string | undefined> = process.env,
): BackendAddresses {
  const parsed = parseEnv(backendsEnvSchema, env);
  return {
    registry: parsed.SEAM_REGISTRY_ADDRESS,
    datasets: parsed.SEAM_DATASETS_ADDRESS,
    features: parsed.SEAM_FEATURES_ADDRESS,
    training: parsed.SEAM_TRAINING_ADDRESS,
    inference: parsed.SEAM_INFERENCE_ADDRESS,
  };
}

/** The public services and one grpc-js transport per backend; close the transports on shutdown. */
export function connectBackends(addresses: BackendAddresses): {
  readonly services: GatewayService[];
  readonly transports: GrpcTransport[];
} {
  const routes: Array<[DescService, string]> = [
    [ModelRegistryService, addresses.registry],
    [DatasetService, addresses.datasets],
    [FeatureStoreService, addresses.features],
    [TrainingService, addresses.training],
    [InferenceService, addresses.inference],
    [GRPCInferenceService, addresses.inference],
  ];
  // One transport (one HTTP/2 connection pool) per backend address.
  const byAddress = new Map<string, GrpcTransport>();
  const services = routes.map(([service, address]) => {
    let transport = byAddress.get(address);
    if (transport === undefined) {
      transport = createGrpcTransport({ address });
      byAddress.set(address, transport);
    }
    return { service, transport };
  });
  const transports = [...byAddress.values()];
  return { services, transports };
}
