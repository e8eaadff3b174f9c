import { addressSchema, hostSchema, logLevelSchema, portSchema } from "@seam/kit/config";
import { z } from "zod";

/**
 * Environment of the training process, validated at start (see `parseEnv` in
 * `@seam/kit/config`). This is the only place the service's settings come from.
 */
export const trainingConfigSchema = z.object({
  /** Interface to bind; loopback unless told otherwise. */
  TRAINING_HOST: hostSchema,
  /** gRPC port. */
  TRAINING_PORT: portSchema.default(50054),
  /** Embedded stores (jobs in LMDB, checkpoints in the blob directory) live here when REDIS_URL is not set. */
  SEAM_DATA_DIR: z.string().min(1).default("./.seam"),
  /** Shared Redis for jobs, events and checkpoints; embedded when absent. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** The dataset service (host:port): the training data. */
  SEAM_DATASETS_ADDRESS: addressSchema.default("127.0.0.1:50052"),
  /** The model registry (host:port): where trained models are registered. */
  SEAM_REGISTRY_ADDRESS: addressSchema.default("127.0.0.1:50051"),
  /** The feature store (host:port): a features job's feature service and point-in-time join. */
  SEAM_FEATURES_ADDRESS: addressSchema.default("127.0.0.1:50053"),
  /**
   * Jobs this process trains at once, each on its own worker thread. With REDIS_URL, 0 makes
   * the service only accept jobs, for `seam worker training` processes to train.
   */
  TRAINING_WORKERS: z.coerce.number().int().min(0).max(64).default(1),
  /**
   * With REDIS_URL: how long a process's hold on a running job lasts without renewal; a job
   * whose process died is taken over by another after this (resuming from its checkpoint).
   */
  TRAINING_LOCK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  /** TF.js backend to try first: tensorflow (tfjs-node-gpu/tfjs-node), wasm or cpu; the fastest that loads when unset. */
  TRAINING_BACKEND: z.enum(["tensorflow", "wasm", "cpu"]).optional(),
  LOG_LEVEL: logLevelSchema,
});

/** The training service's validated configuration. */
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;
