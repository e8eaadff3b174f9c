import { Writable } from "node:stream";
import { Code, createClient } from "@connectrpc/connect";
import {
  createGrpcTransport as createClientGrpcTransport,
  createConnectTransport,
} from "@connectrpc/connect-node";
import { createLogger } from "@seam/kit/logging";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "./gateway.js";
import { type FakeRegistry, type GrpcFakeRegistry, startGrpcFakeRegistry } from "./testing/fake-registry.js";

// The production shape: gateway → kit's grpc-js transport → registry hosted on grpc-js.
const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
const logger = createLogger({ service: "gateway-grpc-test", destination: silent });

let registry: FakeRegistry;
let backend: GrpcFakeRegistry;
let gateway: Gateway;
let baseUrl: string;

beforeAll(async () => {
  backend = await startGrpcFakeRegistry(logger);
  registry = backend.registry;
  gateway = createGateway({
    services: [{ service: ModelRegistryService, transport: backend.transport }],
    logger,
  });
  baseUrl = `http://127.0.0.1:${await gateway.listen("127.0.0.1", 0)}`;
});

afterAll(async () => {
  await gateway.close();
  await backend.close();
});

describe("gateway in front of a grpc-js backend", () => {
  it("serves Connect JSON from fetch, forwarding headers as gRPC metadata", async () => {
    const create = await fetch(`${baseUrl}/seam.registry.v1.ModelRegistryService/CreateModel`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-tenant": "acme" },
      body: JSON.stringify({ name: "iris" }),
    });
    expect(create.status).toBe(200);
    expect(create.headers.get("x-seam-created")).toBe("iris");
    expect(registry.seen.get("CreateModel")?.headers.get("x-tenant")).toBe("acme");

    const list = await fetch(`${baseUrl}/seam.registry.v1.ModelRegistryService/ListModels`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(await list.json()).toEqual({ models: [{ name: "iris" }] });
  });

  it("keeps NOT_FOUND, its message and metadata, for gRPC and Connect clients", async () => {
    const grpc = createClient(ModelRegistryService, createClientGrpcTransport({ baseUrl }));
    await expect(grpc.getModel({ name: "nope" })).rejects.toMatchObject({
      code: Code.NotFound,
      rawMessage: "model nope not found",
    });
    const connect = createClient(
      ModelRegistryService,
      createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    );
    const error = await connect.getModel({ name: "nope" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: Code.NotFound });
    expect((error as { metadata: Headers }).metadata.get("x-seam-missing")).toBe("nope");
  });

  it("passes the deadline on and cancels the backend when it passes", async () => {
    const client = createClient(ModelRegistryService, createClientGrpcTransport({ baseUrl }));
    await client.getModel({ name: "iris" }, { timeoutMs: 3_000 });
    const timeoutMs = registry.seen.get("GetModel")?.timeoutMs;
    expect(timeoutMs).toBeGreaterThan(0);
    expect(timeoutMs).toBeLessThanOrEqual(3_000);

    await expect(client.resolveModel({ model: "iris" }, { timeoutMs: 200 })).rejects.toMatchObject({
      code: Code.DeadlineExceeded,
    });
  });

  it("streams client and server streams through, and cancels a watch", async () => {
    const client = createClient(ModelRegistryService, createClientGrpcTransport({ baseUrl }));
    async function* upload() {
      yield { payload: { case: "metadata" as const, value: { modelName: "iris" } } };
      yield { payload: { case: "chunk" as const, value: new Uint8Array(10) } };
      yield { payload: { case: "chunk" as const, value: new Uint8Array(5) } };
    }
    expect((await client.uploadModelVersion(upload())).version?.sizeBytes).toBe(15n);

    const chunks: number[] = [];
    for await (const message of client.downloadModelVersion({ model: "iris" })) chunks.push(...message.chunk);
    expect(chunks).toEqual([1, 2, 3]);

    const abort = new AbortController();
    for await (const message of client.watchEvents({ modelName: "iris" }, { signal: abort.signal })) {
      expect(message.event?.kind.case).toBe("versionCreated");
      abort.abort();
      break;
    }
    await expect(registry.watchAborted).resolves.toBeUndefined();
  });
});
