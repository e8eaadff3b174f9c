import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { parseEnv } from "@seam/kit/config";
import { createGrpcTransport, type GrpcTransport } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { openStores, type Stores } from "@seam/kit/storage";
import { DatasetService, SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { datasetsConfigSchema } from "./config.js";
import { type RunningDatasets, startDatasetsServer } from "./server.js";
import { type DatasetsClient, FixedLineage, uploadStream } from "./testing/harness.js";
import { irisCsv } from "./testing/iris.js";
import { filesUnder, startTestBackend, type TestBackend } from "./testing/test-stores.js";

// The service hosted the way production hosts it: the kit's grpc-js server on a real port.
describe("datasets on the kit's grpc-js server", () => {
  let backend: TestBackend;
  let stores: Stores;
  let running: RunningDatasets;
  let transport: GrpcTransport;
  let client: DatasetsClient;

  beforeAll(async () => {
    backend = await startTestBackend("embedded");
    const config = parseEnv(datasetsConfigSchema, {
      DATASETS_PORT: "0",
      SEAM_DATA_DIR: backend.dataDir,
      DATASETS_MAX_UPLOAD_BYTES: "65536",
    });
    stores = await openStores({ dataDir: backend.dataDir });
    const logger = createLogger({ service: "datasets", level: "error" });
    running = await startDatasetsServer(
      config,
      stores,
      logger,
      new FixedLineage(new Map([["iris", ["m:1"]]])),
    );
    transport = createGrpcTransport({ address: `127.0.0.1:${running.port}`, retry: false });
    client = createClient(DatasetService, transport);
  });

  afterAll(async () => {
    transport?.close();
    await running?.server.shutdown(1000);
    await stores?.close();
    await backend?.stop();
  });

  it("uploads, streams the Arrow version back and maps refusals to gRPC codes", async () => {
    const meta = { dataset: "iris", createDataset: true, format: SourceFormat.CSV };
    const { version } = await client.uploadDatasetVersion(uploadStream(meta, irisCsv(1), 1000));
    expect(version?.rowCount).toBe(150n);
    const parts: Uint8Array[] = [];
    for await (const m of client.readDatasetVersion({ dataset: "iris", batchRows: 64, columns: ["species"] }))
      parts.push(m.arrowIpc);
    const table = tableFromIPC(Buffer.concat(parts));
    expect(table.numRows).toBe(150);
    expect(table.schema.fields.map((f) => f.name)).toEqual(["species"]);

    const tooBig = await client
      .uploadDatasetVersion(uploadStream(meta, irisCsv(2).repeat(20), 8000))
      .catch((e: unknown) => ConnectError.from(e));
    expect(tooBig).toMatchObject({ code: Code.ResourceExhausted });
    expect(await filesUnder(backend.tmpDir)).toEqual([]);
    const inUse = await client.deleteDataset({ name: "iris" }).catch((e: unknown) => ConnectError.from(e));
    expect(inUse).toMatchObject({ code: Code.FailedPrecondition });
  });
});
