import { join } from "node:path";
import { createGrpcServer, type GrpcServer } from "@seam/kit/hosting";
import type { Logger } from "@seam/kit/logging";
import type { Stores } from "@seam/kit/storage";
import { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { DatasetsConfig } from "./config.js";
import type { ModelLineage } from "./lineage.js";
import { DatasetsService } from "./service.js";
import { prestartStatsWorker } from "./stats/index.js";

// Upload chunks and read batches are small, but a client may send a whole small file in
// one chunk, and a read of wide rows may produce a large record batch.
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** A datasets service listening on its gRPC port. */
export interface RunningDatasets {
  readonly server: GrpcServer;
  readonly port: number;
}

/** Where uploads put their temporary files: `<SEAM_DATA_DIR>/tmp/datasets`. */
export function uploadTmpDir(config: Pick<DatasetsConfig, "SEAM_DATA_DIR">): string {
  return join(config.SEAM_DATA_DIR, "tmp", "datasets");
}

/** Hosts the datasets service on grpc-js (with health and reflection) over the given stores. */
export async function startDatasetsServer(
  config: DatasetsConfig,
  stores: Stores,
  logger: Logger,
  lineage: ModelLineage,
): Promise<RunningDatasets> {
  const server = createGrpcServer({
    logger,
    maxReceiveMessageBytes: MAX_MESSAGE_BYTES,
    maxSendMessageBytes: MAX_MESSAGE_BYTES,
  });
  server.register(
    DatasetService,
    new DatasetsService({
      meta: stores.meta,
      blobs: stores.blobs,
      lineage,
      tmpDir: uploadTmpDir(config),
      logger,
      maxUploadBytes: config.DATASETS_MAX_UPLOAD_BYTES,
    }),
  );
  const port = await server.listen(config.DATASETS_HOST, config.DATASETS_PORT);
  // A new worker takes about 0.3 s to answer: as long as a whole small upload.
  prestartStatsWorker();
  return { server, port };
}
