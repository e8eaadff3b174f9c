import type { Client } from "@connectrpc/connect";
import type { Logger } from "@seam/kit/logging";
import type { EventBus, MetaStore } from "@seam/kit/storage";
import type { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import type { InferenceConfig } from "./config.js";
import type { FeatureLookup } from "./features/entity-inputs.js";
import { ModelRouter } from "./models/model-router.js";
import { registryModelSource } from "./models/model-source.js";
import { TrafficSplits } from "./models/traffic-splits.js";
import { VersionCache } from "./models/version-cache.js";
import { OipServiceImpl } from "./oip/oip-service.js";
import { PredictionLog } from "./prediction-log/index.js";
import { Predictor } from "./predictor.js";
import { InferenceServiceImpl } from "./service.js";

/** Settings the runtime reads (the process config, or a test's). */
export type InferenceSettings = Omit<
  InferenceConfig,
  | "INFERENCE_HOST"
  | "INFERENCE_PORT"
  | "SEAM_DATA_DIR"
  | "REDIS_URL"
  | "SEAM_REGISTRY_ADDRESS"
  | "SEAM_FEATURES_ADDRESS"
  | "SEAM_DATASETS_ADDRESS"
  | "LOG_LEVEL"
  | "INFERENCE_MAX_MESSAGE_BYTES"
>;

/** What the inference runtime talks to. */
export interface InferenceParts {
  readonly meta: MetaStore;
  readonly events: EventBus;
  readonly registry: Client<typeof ModelRegistryService>;
  readonly features: FeatureLookup;
  readonly datasets: Client<typeof DatasetService>;
  readonly logger?: Logger;
  /** False while the server drains. */
  readonly ready?: () => boolean;
}

/** The assembled service implementations and their shared state. */
export interface InferenceRuntime {
  readonly service: InferenceServiceImpl;
  readonly oip: OipServiceImpl;
  /** Every protocol's predictions go through it. */
  readonly predictor: Predictor;
  readonly router: ModelRouter;
  readonly cache: VersionCache;
  readonly log: PredictionLog | undefined;
  /** Stops following the registry and splits, flushes the prediction log, unloads every model. */
  close(): Promise<void>;
}

/**
 * Wires the inference service in one place, for the process and for tests alike: the
 * registry as model source, the version cache, traffic splits (followed across
 * replicas), the router (following registry events), the prediction log, the predictor,
 * and both APIs over them.
 */
export async function assembleInference(
  settings: InferenceSettings,
  parts: InferenceParts,
): Promise<InferenceRuntime> {
  const following = new AbortController();
  const source = registryModelSource(parts.registry);
  const logger = parts.logger;
  const cache = new VersionCache(source, {
    session: {
      executionProvider: settings.INFERENCE_EXECUTION_PROVIDER,
      intraOpThreads: settings.INFERENCE_INTRA_OP_THREADS,
      interOpThreads: settings.INFERENCE_INTER_OP_THREADS,
    },
    batching: {
      enabled: settings.INFERENCE_BATCHING,
      maxBatchRows: settings.INFERENCE_MAX_BATCH_ROWS,
      maxQueueDelayMicros: settings.INFERENCE_MAX_QUEUE_DELAY_US,
      maxQueuedRequests: settings.INFERENCE_MAX_QUEUED_REQUESTS,
      maxConcurrentRuns: settings.INFERENCE_MAX_CONCURRENT_RUNS,
    },
    maxLoaded: settings.INFERENCE_MAX_LOADED_MODELS,
    ...(logger === undefined ? {} : { logger }),
  });
  const splits = new TrafficSplits(parts.meta, parts.events, logger);
  await splits.follow(following.signal);
  const router = new ModelRouter({ source, cache, splits, ...(logger === undefined ? {} : { logger }) });
  router.follow(following.signal);
  const log =
    settings.INFERENCE_LOG_SAMPLE_RATE > 0
      ? new PredictionLog(parts.datasets, {
          dataset: settings.INFERENCE_LOG_DATASET,
          sampleRate: settings.INFERENCE_LOG_SAMPLE_RATE,
          maxBufferedRecords: settings.INFERENCE_LOG_BUFFER,
          flushIntervalMs: settings.INFERENCE_LOG_FLUSH_MS,
          maxRecordsPerFlush: 5_000,
          ...(logger === undefined ? {} : { logger }),
        })
      : undefined;
  const predictor = new Predictor({
    router,
    features: parts.features,
    ...(log === undefined ? {} : { log }),
    options: {
      maxRequestRows: settings.INFERENCE_MAX_REQUEST_ROWS,
      nonFinite: settings.INFERENCE_NONFINITE_INPUTS,
      missingFeatures: settings.INFERENCE_MISSING_FEATURES,
    },
  });
  return {
    service: new InferenceServiceImpl({ predictor, router, cache, splits }),
    oip: new OipServiceImpl({ predictor, router, cache, ready: parts.ready ?? (() => true) }),
    predictor,
    router,
    cache,
    log,
    async close() {
      following.abort();
      await log?.close();
      await cache.close();
    },
  };
}
