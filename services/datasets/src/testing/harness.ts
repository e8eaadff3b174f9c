import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { createDomainErrorInterceptor } from "@seam/kit/errors";
import {
  DatasetService,
  SourceFormat,
  type UploadDatasetVersionRequest,
  UploadDatasetVersionRequestSchema,
  type UploadMetadataSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { ModelLineage } from "../lineage.js";
import { type DatasetsDeps, DatasetsService } from "../service.js";

/** A client of the datasets service. */
export type DatasetsClient = Client<typeof DatasetService>;

/** An in-memory datasets service and a client of it. */
export interface TestDatasets {
  readonly client: DatasetsClient;
  readonly service: DatasetsService;
  /**
   * Resolves once every call the server has started has finished: a client that cancels
   * returns at once, while the handler may still be cleaning up.
   */
  idle(): Promise<void>;
}

/**
 * Serves a datasets service in memory through Connect's router transport (real
 * serialization of every message) and returns a client of it with the service. Without
 * `lineage`, no model version uses any dataset.
 */
export function createTestDatasets(
  deps: Omit<DatasetsDeps, "lineage"> & { readonly lineage?: DatasetsDeps["lineage"] },
): TestDatasets {
  const service = new DatasetsService({ lineage: { versionsUsingDataset: async () => [] }, ...deps });
  const running = new Set<Promise<unknown>>();
  const track: Interceptor = (next) => (req) => {
    const call = next(req);
    const settled = call.then(
      () => {},
      () => {},
    );
    running.add(settled);
    void settled.then(() => running.delete(settled));
    return call;
  };
  const transport = createRouterTransport(({ service: route }) => route(DatasetService, service), {
    router: { interceptors: [track, createDomainErrorInterceptor()] },
  });
  return {
    client: createClient(DatasetService, transport),
    service,
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}

/**
 * A {@link ModelLineage} adapter answering from a fixed table (dataset → model versions),
 * standing in for the registry at the port boundary.
 */
export class FixedLineage implements ModelLineage {
  /** How many times the port was asked (a forced delete must not ask). */
  calls = 0;

  constructor(readonly usages: Map<string, string[]> = new Map()) {}

  async versionsUsingDataset(dataset: string): Promise<string[]> {
    this.calls++;
    return [...(this.usages.get(dataset) ?? [])];
  }
}

/** An upload stream: the metadata, then the file in chunks of `chunkSize` bytes. */
export async function* uploadStream(
  metadata: MessageInitShape<typeof UploadMetadataSchema>,
  file: Uint8Array | string,
  chunkSize = 1024,
): AsyncGenerator<UploadDatasetVersionRequest> {
  const bytes = typeof file === "string" ? new TextEncoder().encode(file) : file;
  yield create(UploadDatasetVersionRequestSchema, { payload: { case: "metadata", value: metadata } });
  for (let i = 0; i < bytes.length; i += chunkSize) {
    yield create(UploadDatasetVersionRequestSchema, {
      payload: { case: "chunk", value: bytes.subarray(i, i + chunkSize) },
    });
  }
}

/**
 * Uploads CSV text as a new version of `dataset` (created when missing); resolves with the
 * version id. What the other services' test harnesses feed their dataset service with.
 */
export async function uploadCsv(client: DatasetsClient, dataset: string, csv: string): Promise<string> {
  const { version } = await client.uploadDatasetVersion(
    uploadStream({ dataset, createDataset: true, format: SourceFormat.CSV }, csv, 64 * 1024),
  );
  if (version === undefined) throw new Error(`the dataset service returned no version of ${dataset}`);
  return version.id;
}
