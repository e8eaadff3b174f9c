import { join } from "node:path";
import { type Client, createClient, createRouterTransport } from "@connectrpc/connect";
import { createTestDatasets, uploadCsv } from "@seam/datasets/testing";
import { createDatasetsAccess, createRegistryBindings, FeaturesService } from "@seam/features";
import { createDomainErrorInterceptor } from "@seam/kit/errors";
import { createGrpcServer, createGrpcTransport, type GrpcServer } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import type { OnlineStore, Stores } from "@seam/kit/storage";
import { type StoreKind, startTestBackend } from "@seam/kit/testing";
import { GRPCInferenceService } from "@seam/proto/inference/grpc_predict_v2_pb";
import type { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { InferenceService } from "@seam/proto/seam/inference/v1/inference_pb";
import { ArtifactFormat, type ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { createTestRegistry } from "@seam/registry/testing";
import { inferenceConfigSchema } from "../config.js";
import { assembleInference, type InferenceRuntime, type InferenceSettings } from "../runtime.js";
import { registerInference } from "../server.js";

/** The inference service on a real grpc-js port, with registry, feature store and datasets in memory. */
export interface TestInference {
  /** Seam's API over grpc-js. */
  readonly inference: Client<typeof InferenceService>;
  /** The Open Inference Protocol over grpc-js, on the same port. */
  readonly oip: Client<typeof GRPCInferenceService>;
  readonly registry: Client<typeof ModelRegistryService>;
  readonly features: Client<typeof FeatureStoreService>;
  readonly datasets: Client<typeof DatasetService>;
  readonly runtime: InferenceRuntime;
  readonly server: GrpcServer;
  /** host:port of the inference server. */
  readonly address: string;
  readonly stores: Stores;
  /** Uploads an ONNX model as a new version (model created when missing); returns the version number. */
  uploadModel(
    name: string,
    artifact: Uint8Array,
    options?: { alias?: string; featureService?: string; tags?: Record<string, string> },
  ): Promise<number>;
  /** Uploads CSV text as a new version of `dataset` (created when missing); returns the version id. */
  uploadCsv(dataset: string, csv: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the inference service over fresh stores (LMDB in a temp dir, or a private
 * redis-server): hosted on grpc-js on a free loopback port, as in production, with the
 * registry, the feature store and the dataset service in memory (Connect router
 * transport, real serialization, domain errors mapped). `settings` override the
 * process defaults (e.g. batching, queue sizes, the prediction log's sample rate).
 */
export async function startTestInference(
  settings: Partial<InferenceSettings> = {},
  kind: StoreKind = "embedded",
  options: { maxMessageBytes?: number } = {},
): Promise<TestInference> {
  const backend = await startTestBackend(kind);
  const stores = await backend.open();
  const online: OnlineStore = await backend.openOnline();
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
  const featuresService = new FeaturesService({
    meta: stores.meta,
    online,
    events: stores.events,
    datasets: createDatasetsAccess(datasets),
    bindings: createRegistryBindings(registry),
  });
  const following = new AbortController();
  await featuresService.followDefinitionChanges(following.signal);
  const features = createClient(
    FeatureStoreService,
    router(({ service }) => service(FeatureStoreService, featuresService)),
  );
  const logger = createLogger({ service: "inference-test", level: "silent" });
  const defaults = inferenceConfigSchema.parse({});
  const maxMessageBytes = options.maxMessageBytes ?? defaults.INFERENCE_MAX_MESSAGE_BYTES;
  const server = createGrpcServer({
    logger,
    maxReceiveMessageBytes: maxMessageBytes,
    maxSendMessageBytes: maxMessageBytes,
  });
  const runtime = await assembleInference(
    { ...defaults, ...settings },
    {
      meta: stores.meta,
      events: stores.events,
      registry,
      features,
      datasets,
      logger,
      ready: () => !server.draining,
    },
  );
  registerInference(server, runtime);
  const port = await server.listen("127.0.0.1", 0);
  const address = `127.0.0.1:${port}`;
  const transport = createGrpcTransport({ address, maxReceiveMessageBytes: maxMessageBytes * 2 });
  return {
    inference: createClient(InferenceService, transport),
    oip: createClient(GRPCInferenceService, transport),
    registry,
    features,
    datasets,
    runtime,
    server,
    address,
    stores,
    async uploadModel(name, artifact, uploadOptions = {}) {
      async function* stream() {
        yield {
          payload: {
            case: "metadata" as const,
            value: {
              modelName: name,
              createModel: true,
              format: ArtifactFormat.ONNX,
              alias: uploadOptions.alias ?? "",
              tags: uploadOptions.tags ?? {},
              lineage: { featureService: uploadOptions.featureService ?? "" },
            },
          },
        };
        yield { payload: { case: "chunk" as const, value: artifact } };
      }
      const { version } = await registry.uploadModelVersion(stream());
      return Number(version?.version ?? 0);
    },
    uploadCsv: (dataset, csv) => uploadCsv(datasets, dataset, csv),
    async close() {
      transport.close();
      await server.shutdown(1_000);
      await runtime.close();
      following.abort();
      await online.close();
      await stores.close();
      await backend.stop();
    },
  };
}
