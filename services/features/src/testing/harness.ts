import { join } from "node:path";
import { type Client, createClient, createRouterTransport } from "@connectrpc/connect";
import { createTestDatasets, uploadCsv } from "@seam/datasets/testing";
import { createDomainErrorInterceptor } from "@seam/kit/errors";
import type { OnlineStore, Stores } from "@seam/kit/storage";
import { type StoreKind, startTestBackend } from "@seam/kit/testing";
import type { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { createDatasetsAccess } from "../datasets-access.js";
import type { ModelBindings } from "../model-bindings.js";
import { FeaturesService } from "../service.js";

/** A {@link ModelBindings} answering from a fixed table (feature service → model versions). */
export class FixedBindings implements ModelBindings {
  constructor(readonly bound: Map<string, string[]> = new Map()) {}

  async versionsBoundTo(featureService: string): Promise<string[]> {
    return [...(this.bound.get(featureService) ?? [])];
  }
}

/** A feature store and the dataset service it reads, in memory, on real stores of one kind. */
export interface TestFeatures {
  readonly features: Client<typeof FeatureStoreService>;
  readonly datasets: Client<typeof DatasetService>;
  readonly stores: Stores;
  readonly online: OnlineStore;
  readonly bindings: FixedBindings;
  /** The service's clock: tests move it to age values. */
  readonly clock: { now: number };
  /**
   * Another replica of the feature store on the same backend, with its own connections
   * (on Redis) and a definition cache that only expires after `cacheMaxAgeMs`.
   */
  replica(cacheMaxAgeMs: number): Promise<Client<typeof FeatureStoreService>>;
  /** Uploads CSV text as a new version of `dataset` (created when missing); returns the version id. */
  uploadCsv(dataset: string, csv: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts a feature store over fresh stores: LMDB in a temp dir, or a private redis-server.
 * Both services are served through Connect's router transport (real serialization), and
 * the domain errors are mapped as in production.
 */
export async function startTestFeatures(
  kind: StoreKind,
  options: { cacheMaxAgeMs?: number } = {},
): Promise<TestFeatures> {
  const backend = await startTestBackend(kind);
  const stores = await backend.open();
  const online = await backend.openOnline();
  const interceptors = [createDomainErrorInterceptor()];
  const datasets = createTestDatasets({
    meta: stores.meta,
    blobs: stores.blobs,
    tmpDir: join(backend.dataDir, "tmp"),
  }).client;
  const bindings = new FixedBindings();
  const clock = { now: Date.now() };
  const cleanups: Array<() => Promise<void>> = [];
  const serve = async (
    replicaStores: Stores,
    replicaOnline: OnlineStore,
    cacheMaxAgeMs: number | undefined,
  ) => {
    const service = new FeaturesService({
      meta: replicaStores.meta,
      online: replicaOnline,
      events: replicaStores.events,
      datasets: createDatasetsAccess(datasets),
      bindings,
      now: () => clock.now,
      ...(cacheMaxAgeMs === undefined ? {} : { cacheMaxAgeMs }),
    });
    const following = new AbortController();
    await service.followDefinitionChanges(following.signal);
    cleanups.push(async () => following.abort());
    return createClient(
      FeatureStoreService,
      createRouterTransport(({ service: route }) => route(FeatureStoreService, service), {
        router: { interceptors },
      }),
    );
  };
  const features = await serve(stores, online, options.cacheMaxAgeMs);
  return {
    features,
    datasets,
    stores,
    online,
    bindings,
    clock,
    async replica(cacheMaxAgeMs) {
      const replicaStores = await backend.open();
      const replicaOnline = await backend.openOnline();
      cleanups.push(async () => {
        await replicaOnline.close();
        await replicaStores.close();
      });
      return serve(replicaStores, replicaOnline, cacheMaxAgeMs);
    },
    uploadCsv: (dataset, csv) => uploadCsv(datasets, dataset, csv),
    async close() {
      for (const cleanup of cleanups.reverse()) await cleanup();
      await online.close();
      await stores.close();
      await backend.stop();
    },
  };
}
