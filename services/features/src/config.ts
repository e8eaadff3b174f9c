import { addressSchema, hostSchema, logLevelSchema, portSchema } from "@seam/kit/config";
import { z } from "zod";

/**
 * Environment of the feature store process, validated at start (see `parseEnv` in
 * `@seam/kit/config`). This is the only place the service's settings come from.
 */
export const featuresConfigSchema = z.object({
  /** Interface to bind; loopback unless told otherwise. */
  FEATURES_HOST: hostSchema,
  /** gRPC port. */
  FEATURES_PORT: portSchema.default(50053),
  /** Embedded stores (definitions in LMDB, online values in <dir>/online) live here when REDIS_URL is not set. */
  SEAM_DATA_DIR: z.string().min(1).default("./.seam"),
  /** Shared Redis for many replicas: definitions, events and the online store; embedded when absent. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** The dataset service (host:port): sources, entity datasets, joined outputs. */
  SEAM_DATASETS_ADDRESS: addressSchema.default("127.0.0.1:50052"),
  /** The model registry (host:port), asked which model versions use a feature service before it is deleted. */
  SEAM_REGISTRY_ADDRESS: addressSchema.default("127.0.0.1:50051"),
  LOG_LEVEL: logLevelSchema,
});

/** The feature store's validated configuration. */
export type FeaturesConfig = z.infer<typeof featuresConfigSchema>;
