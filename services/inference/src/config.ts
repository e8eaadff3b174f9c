import { addressSchema, byteSizeSchema, hostSchema, logLevelSchema, portSchema } from "@seam/kit/config";
import { z } from "zod";

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const flag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/**
 * Environment of the inference process, validated at start (see `parseEnv` in
 * `@seam/kit/config`). This is the only place the service's settings come from.
 */
export const inferenceConfigSchema = z.object({
  /** Interface to bind; loopback unless told otherwise. */
  INFERENCE_HOST: hostSchema,
  /** gRPC port: seam.inference.v1.InferenceService and the Open Inference Protocol. */
  INFERENCE_PORT: portSchema.default(50055),
  /** Embedded stores (traffic splits) live here when REDIS_URL is not set. */
  SEAM_DATA_DIR: z.string().min(1).default("./.seam"),
  /** Shared Redis for many replicas: traffic splits and their change events. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** The model registry (host:port): versions, artifacts and alias events. */
  SEAM_REGISTRY_ADDRESS: addressSchema.default("127.0.0.1:50051"),
  /** The feature store (host:port): online features for predictions by entity key. */
  SEAM_FEATURES_ADDRESS: addressSchema.default("127.0.0.1:50053"),
  /** The dataset service (host:port): where the prediction log is written. */
  SEAM_DATASETS_ADDRESS: addressSchema.default("127.0.0.1:50052"),
  /** Most model versions loaded at once; the least recently used beyond it are unloaded. */
  INFERENCE_MAX_LOADED_MODELS: count(1, 1000).default(8),
  /** ONNX Runtime execution provider: cuda where its provider is installed (auto), or forced. */
  INFERENCE_EXECUTION_PROVIDER: z.enum(["auto", "cpu", "cuda"]).default("auto"),
  /** ONNX Runtime threads per operator; 0 lets it choose. One suits small models best. */
  INFERENCE_INTRA_OP_THREADS: count(0, 256).default(1),
  /** ONNX Runtime threads across operators; 0 lets it choose. */
  INFERENCE_INTER_OP_THREADS: count(0, 256).default(1),
  /** Dynamic batching on or off. */
  INFERENCE_BATCHING: flag.default(true),
  /**
   * Most rows in one batch. Best kept below the number of requests usually in flight: when
   * they are equal, every batch waits for the last client, and clients and service take
   * turns instead of working at once. With 64 clients of one row each (the inference bench,
   * Predict), 32 gave 9.7k req/s on average over 5 runs against 7.6k over 4 runs for 64; the
   * queue delay still bounds the wait at lower load.
   */
  INFERENCE_MAX_BATCH_ROWS: count(1, 1_000_000).default(32),
  /** How long a batch's first request may wait for more, in microseconds. */
  INFERENCE_MAX_QUEUE_DELAY_US: count(0, 10_000_000).default(500),
  /** Requests waiting per model version beyond which new ones get RESOURCE_EXHAUSTED. */
  INFERENCE_MAX_QUEUED_REQUESTS: count(1, 1_000_000).default(1024),
  /**
   * Model runs in flight at once per model version. onnxruntime-node runs sessions on the
   * JS thread, so runs never overlap; 1 lets requests gather while a batch runs.
   */
  INFERENCE_MAX_CONCURRENT_RUNS: count(1, 64).default(1),
  /** Most rows one request may carry (RESOURCE_EXHAUSTED beyond). */
  INFERENCE_MAX_REQUEST_ROWS: count(1, 10_000_000).default(65_536),
  /** Largest gRPC message accepted or sent (RESOURCE_EXHAUSTED beyond). */
  INFERENCE_MAX_MESSAGE_BYTES: byteSizeSchema.default(64 * 1024 * 1024),
  /** NaN/Infinity in float tensor inputs: reject, or allow; a version's "seam.nonfinite_inputs" tag overrides. */
  INFERENCE_NONFINITE_INPUTS: z.enum(["reject", "allow"]).default("reject"),
  /** Missing or stale features by entity key: reject or impute; a version's "seam.missing_features" tag overrides. */
  INFERENCE_MISSING_FEATURES: z.enum(["reject", "impute"]).default("reject"),
  /** Dataset the prediction log is appended to. */
  INFERENCE_LOG_DATASET: z.string().min(1).default("prediction-log"),
  /** Share of predictions logged, 0 (off) to 1. */
  INFERENCE_LOG_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Predictions buffered for the log at most; beyond, they are dropped and counted. */
  INFERENCE_LOG_BUFFER: count(1, 10_000_000).default(10_000),
  /** How often the log buffer is written, milliseconds. */
  INFERENCE_LOG_FLUSH_MS: count(10, 3_600_000).default(5_000),
  LOG_LEVEL: logLevelSchema,
});

/** The inference service's validated configuration. */
export type InferenceConfig = z.infer<typeof inferenceConfigSchema>;
