import { byteSizeSchema, hostSchema, logLevelSchema, portSchema } from "@seam/kit/config";
import { z } from "zod";

/**
 * Environment of the registry process, validated at start (see `parseEnv` in `@seam/kit/config`).
 * This is the only place the registry's settings come from.
 */
export const registryConfigSchema = z.object({
  /** Interface to bind; loopback unless told otherwise. */
  REGISTRY_HOST: hostSchema,
  /** gRPC port. */
  REGISTRY_PORT: portSchema.default(50051),
  /** Embedded stores (LMDB, blob directory) live here when REDIS_URL is not set. */
  SEAM_DATA_DIR: z.string().min(1).default("./.seam"),
  /** Shared Redis for many replicas; embedded stores when absent. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Largest artifact an upload may carry; 512 MiB by default. */
  REGISTRY_MAX_ARTIFACT_BYTES: byteSizeSchema.default(512 * 1024 * 1024),
  LOG_LEVEL: logLevelSchema,
});

/** The registry's validated configuration. */
export type RegistryConfig = z.infer<typeof registryConfigSchema>;
