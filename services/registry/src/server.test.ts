import { createHash } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createGrpcServer,
  createGrpcTransport,
  type GrpcServer,
  type GrpcTransport,
} from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import type { Stores } from "@seam/kit/storage";
import { openTestStores } from "@seam/kit/testing";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistryService } from "./index.js";
import { type RegistryClient, uploadStream } from "./testing/harness.js";
import { buildLinearModel, garbageArtifact } from "./testing/onnx-models.js";

// The registry hosted the way production hosts it: the kit's grpc-js server on a real port.
describe("registry on the kit's grpc-js server", () => {
  let stores: Stores;
  let server: GrpcServer;
  let transport: GrpcTransport;
  let client: RegistryClient;

  beforeAll(async () => {
    stores = await openTestStores("embedded");
    const logger = createLogger({ service: "registry", level: "silent" });
    const registry = createRegistryService({
      meta: stores.meta,
      blobs: stores.blobs,
      events: stores.events,
      logger,
    });
    server = createGrpcServer({ logger }).register(ModelRegistryService, registry);
    const port = await server.listen("127.0.0.1", 0);
    transport = createGrpcTransport({ address: `127.0.0.1:${port}`, retry: false });
    client = createClient(ModelRegistryService, transport);
  });

  afterAll(async () => {
    transport?.close();
    await server?.shutdown(1000);
    await stores?.close();
  });

  it("uploads in chunks, downloads the same bytes and maps refusals to gRPC codes", async () => {
    const artifact = buildLinearModel();
    const { version } = await client.uploadModelVersion(
      uploadStream({ modelName: "served", createModel: true, alias: "champion" }, artifact, 300),
    );
    expect(version?.version).toBe(1n);
    const chunks: Uint8Array[] = [];
    for await (const m of client.downloadModelVersion({ model: "served@champion", chunkSize: 128 }))
      chunks.push(m.chunk);
    expect(createHash("sha256").update(Buffer.concat(chunks)).digest("hex")).toBe(version?.sha256);

    const err = await client
      .uploadModelVersion(uploadStream({ modelName: "served" }, garbageArtifact()))
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toMatch(/^not a loadable ONNX model: /);
    const missing = await client.getModel({ name: "nope" }).catch((e: unknown) => ConnectError.from(e));
    expect(missing).toMatchObject({ code: Code.NotFound });
  });
});

describe("a draining registry", () => {
  it("ends open WatchEvents streams normally instead of holding the shutdown", {
    timeout: 20_000,
  }, async () => {
    const stores = await openTestStores("embedded");
    const logger = createLogger({ service: "registry", level: "silent" });
    const server = createGrpcServer({ logger });
    server.register(
      ModelRegistryService,
      createRegistryService({
        meta: stores.meta,
        blobs: stores.blobs,
        events: stores.events,
        logger,
        stopWatches: server.drainSignal,
      }),
    );
    const port = await server.listen("127.0.0.1", 0);
    const transport = createGrpcTransport({ address: `127.0.0.1:${port}`, retry: false });
    const client = createClient(ModelRegistryService, transport);
    try {
      await client.createModel({ name: "watched" });
      const seen: string[] = [];
      const watching = (async () => {
        for await (const message of client.watchEvents({})) seen.push(message.event?.kind.case ?? "");
        return "ended";
      })();
      // The subscription is made once the call reaches the server: an event proves it.
      for (let i = 0; seen.length === 0 && i < 50; i++) {
        await client.uploadModelVersion(uploadStream({ modelName: "watched" }, buildLinearModel()));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(seen.length).toBeGreaterThan(0);
      // A grace period far beyond the test's timeout: only an ended stream lets it finish.
      await server.shutdown(60_000);
      await expect(watching).resolves.toBe("ended");
    } finally {
      transport.close();
      await stores.close();
    }
  });
});
