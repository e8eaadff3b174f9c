import { addressSchema, byteSizeSchema, hostSchema, logLevelSchema, portSchema } from "@seam/kit/config";
import { z } from "zod";

/**
 * Environment of the datasets process, validated at start (see `parseEnv` in `@seam/kit/config`).
 * This is the only place the datasets service's settings come from.
 */
export const datasetsConfigSchema = z.object({
  /** Interface to bind; loopback unless told otherwise. */
  DATASETS_HOST: hostSchema,
  /** gRPC port. */
  DATASETS_PORT: portSchema.default(50052),
  /** Embedded stores live here when REDIS_URL is not set; upload temp files always do (tmp/datasets). */
  SEAM_DATA_DIR: z.string().min(1).default("./.seam"),
  /** Shared Redis for many replicas; embedded stores when absent. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Largest uploaded file (as sent, before conversion to Arrow); 2 GiB by default. */
  DATASETS_MAX_UPLOAD_BYTES: byteSizeSchema.default(2 * 1024 * 1024 * 1024),
  /** The model registry (host:port), asked which model versions use a dataset before it is deleted. */
  SEAM_REGISTRY_ADDRESS: addressSchema.default("127.0.0.1:50051"),
  LOG_LEVEL: logLevelSchema,
});

/** The datasets service's validated configuration. */
export type DatasetsConfig = z.infer<typeof datasetsConfigSchema>;
