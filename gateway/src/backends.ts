import type { DescService } from "@bufbuild/protobuf";
import { addressSchema, parseEnv } from "@seam/kit/config";
import { createGrpcTransport, type GrpcTransport } from "@seam/kit/hosting";
import { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
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
});

/** Addresses of the internal services. */
export interface BackendAddresses {
  readonly registry: string;
  readonly datasets: string;
  readonly features: string;
  readonly training: string;
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
  ];
  const transports: GrpcTransport[] = [];
  const services = routes.map(([service, address]) => {
    const transport = createGrpcTransport({ address });
    transports.push(transport);
    return { service, transport };
  });
  return { services, transports };
}
