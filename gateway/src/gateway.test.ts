import { Writable } from "node:stream";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { createLogger } from "@seam/kit/logging";
import { type InMemoryTracing, startInMemoryTracing } from "@seam/kit/testing";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createGateway, type Gateway } from "./gateway.js";
import { createFakeRegistry, type FakeRegistry } from "./testing/fake-registry.js";

const spans = new InMemorySpanExporter();
let tracing: InMemoryTracing;
const silent = new Writable({ write: (_chunk, _encoding, done) => done() });

let backend: FakeRegistry;
let gateway: Gateway;
let baseUrl: string;

beforeAll(async () => {
  tracing = startInMemoryTracing(spans);

  backend = createFakeRegistry();
  gateway = createGateway({
    services: [{ service: ModelRegistryService, transport: backend.transport }],
    logger: createLogger({ service: "gateway-test", destination: silent }),
    maxRequestBytes: 64 * 1024,
    corsOrigins: ["https://console.example"],
    shutdownGraceMs: 1_000,
  });
  const port = await gateway.listen("127.0.0.1", 0);
  baseUrl = `http://127.0.0.1:${port}`;
  const client = createClient(ModelRegistryService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
  await client.createModel({ name: "iris", description: "flowers" });
});

afterAll(async () => {
  await gateway.close();
  tracing.stop();
});

beforeEach(() => spans.reset());

// Spans of earlier tests' calls may still end late (a deadline fires on both sides).
const watchSpans = () => spans.getFinishedSpans().filter((s) => s.name.endsWith("/WatchEvents"));

const transports: Record<string, () => Transport> = {
  "Connect binary over HTTP/1.1": () =>
    createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  "Connect JSON over HTTP/2": () => createConnectTransport({ baseUrl, httpVersion: "2" }),
  "gRPC-Web over HTTP/1.1": () => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  gRPC: () => createGrpcTransport({ baseUrl }),
};

describe("gateway", () => {
  it("answers Connect JSON from a plain fetch", async () => {
    const response = await fetch(`${baseUrl}/seam.registry.v1.ModelRegistryService/ListModels`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({ models: [{ name: "iris", description: "flowers" }] });
  });

  it("answers GET /healthz with 200", async () => {
    const response = await fetch(`${baseUrl}/healthz`);
    expect(response.status).toBe(200);
  });

  describe.each(Object.entries(transports))("%s", (_name, makeTransport) => {
    it("forwards unary calls with app headers and response headers", async () => {
      const client = createClient(ModelRegistryService, makeTransport());
      const headers = new Headers({ authorization: "Bearer t", "x-tenant": "acme", cookie: "session=1" });
      let responseHeader: Headers | undefined;
      const response = await client.getModel(
        { name: "iris" },
        { headers, onHeader: (h) => (responseHeader = h) },
      );
      expect(response.model?.name).toBe("iris");
      const seen = backend.seen.get("GetModel")?.headers;
      expect(seen?.get("authorization")).toBe("Bearer t");
      expect(seen?.get("x-tenant")).toBe("acme");
      expect(seen?.has("cookie")).toBe(false);
      expect(seen?.has("x-grpc-web")).toBe(false);
      expect(responseHeader).toBeDefined();
    });

    it("keeps a backend error's code, message and metadata", async () => {
      const client = createClient(ModelRegistryService, makeTransport());
      const error = await client.getModel({ name: "nope" }).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(error?.code).toBe(Code.NotFound);
      expect(error?.rawMessage).toBe("model nope not found");
      expect(error?.metadata.get("x-seam-missing")).toBe("nope");
    });

    it("passes the caller's deadline on, shortened by the time spent", async () => {
      const client = createClient(ModelRegistryService, makeTransport());
      await client.getModel({ name: "iris" }, { timeoutMs: 5_000 });
      const timeoutMs = backend.seen.get("GetModel")?.timeoutMs;
      expect(timeoutMs).toBeGreaterThan(0);
      expect(timeoutMs).toBeLessThanOrEqual(5_000);
    });

    it("streams a server stream through, trailers included", async () => {
      const client = createClient(ModelRegistryService, makeTransport());
      let trailer: Headers | undefined;
      const chunks: number[] = [];
      for await (const message of client.downloadModelVersion(
        { model: "iris" },
        { onTrailer: (t) => (trailer = t) },
      )) {
        chunks.push(...message.chunk);
      }
      expect(chunks).toEqual([1, 2, 3]);
      expect(trailer?.get("x-seam-chunks")).toBe("2");
    });
  });

  it("streams a client stream through (gRPC over HTTP/2)", async () => {
    const client = createClient(ModelRegistryService, transports.gRPC?.() as Transport);
    async function* upload() {
      yield { payload: { case: "metadata" as const, value: { modelName: "iris" } } };
      for (let i = 0; i < 3; i++) yield { payload: { case: "chunk" as const, value: new Uint8Array(1000) } };
    }
    const response = await client.uploadModelVersion(upload());
    expect(response.version?.sizeBytes).toBe(3000n);
  });

  it("turns the caller's deadline into DEADLINE_EXCEEDED from a slow backend", async () => {
    const client = createClient(ModelRegistryService, transports.gRPC?.() as Transport);
    const started = Date.now();
    await expect(client.resolveModel({ model: "iris" }, { timeoutMs: 200 })).rejects.toMatchObject({
      code: Code.DeadlineExceeded,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("cancels the backend stream when the client cancels", async () => {
    const client = createClient(ModelRegistryService, transports.gRPC?.() as Transport);
    const abort = new AbortController();
    const stream = client.watchEvents({ modelName: "iris" }, { signal: abort.signal });
    for await (const message of stream) {
      expect(message.event?.modelName).toBe("iris");
      // The RPC span stays open as long as the stream does.
      expect(watchSpans()).toEqual([]);
      abort.abort();
      break;
    }
    await expect(backend.watchAborted).resolves.toBeUndefined();
    await vi.waitFor(() => expect(watchSpans()).toHaveLength(1));
    expect(watchSpans()[0]?.attributes["rpc.connect_rpc.error_code"]).toBe("canceled");
  });

  it("refuses a request bigger than maxRequestBytes with RESOURCE_EXHAUSTED", async () => {
    const client = createClient(ModelRegistryService, transports.gRPC?.() as Transport);
    await expect(
      client.createModel({ name: "big", description: "x".repeat(128 * 1024) }),
    ).rejects.toMatchObject({
      code: Code.ResourceExhausted,
    });
    expect(backend.seen.get("CreateModel")?.headers).toBeDefined();
    await expect(client.getModel({ name: "big" })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("answers CORS preflights for allowed origins only", async () => {
    const preflight = (origin: string) =>
      fetch(`${baseUrl}/seam.registry.v1.ModelRegistryService/GetModel`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,connect-protocol-version,x-tenant",
        },
      });
    const allowed = await preflight("https://console.example");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://console.example");
    expect(allowed.headers.get("access-control-allow-methods")).toContain("POST");
    const allowedHeaders = allowed.headers.get("access-control-allow-headers")?.toLowerCase();
    expect(allowedHeaders).toContain("connect-protocol-version");
    expect(allowedHeaders).toContain("x-tenant");
    expect(allowedHeaders).toContain("authorization");

    const refused = await preflight("https://evil.example");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("exposes the gRPC-Web status headers to allowed browser origins", async () => {
    const response = await fetch(`${baseUrl}/seam.registry.v1.ModelRegistryService/ListModels`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://console.example" },
      body: "{}",
    });
    expect(response.headers.get("access-control-allow-origin")).toBe("https://console.example");
    expect(response.headers.get("access-control-expose-headers")).toContain("Grpc-Status");
  });

  describe("tracing interceptor", () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const parentSpanId = "b7ad6b7169203331";
    const traceparent = `00-${traceId}-${parentSpanId}-01`;

    it("continues the caller's trace in a SERVER span that parents the backend call", async () => {
      const client = createClient(ModelRegistryService, transports.gRPC?.() as Transport);
      await client.getModel({ name: "iris" }, { headers: { traceparent } });

      const [span] = spans.getFinishedSpans();
      expect(span?.name).toBe("seam.registry.v1.ModelRegistryService/GetModel");
      expect(span?.kind).toBe(SpanKind.SERVER);
      expect(span?.spanContext().traceId).toBe(traceId);
      expect(span?.parentSpanContext?.spanId).toBe(parentSpanId);
      expect(span?.attributes).toMatchObject({
        "rpc.system": "connect_rpc",
        "rpc.service": "seam.registry.v1.ModelRegistryService",
        "rpc.method": "GetModel",
        "rpc.grpc.status_code": 0,
      });
      // The backend got a traceparent naming the gateway span as its parent.
      const forwarded = backend.seen.get("GetModel")?.headers.get("traceparent");
      expect(forwarded).toBe(`00-${traceId}-${span?.spanContext().spanId}-01`);
    });

    it("records the error code of a failed call", async () => {
      const client = createClient(
        ModelRegistryService,
        transports["Connect JSON over HTTP/2"]?.() as Transport,
      );
      await expect(client.getModel({ name: "nope" }, { headers: { traceparent } })).rejects.toThrow();

      const [span] = spans.getFinishedSpans();
      expect(span?.attributes["rpc.connect_rpc.error_code"]).toBe("not_found");
      expect(span?.attributes["rpc.grpc.status_code"]).toBe(Code.NotFound);
    });

    it("ends a streaming call's span when the stream completes", async () => {
      const client = createClient(ModelRegistryService, transports.gRPC?.() as Transport);
      for await (const _ of client.downloadModelVersion({ model: "iris" }, { headers: { traceparent } })) {
        // drain
      }
      const [span] = spans.getFinishedSpans();
      expect(span?.name).toBe("seam.registry.v1.ModelRegistryService/DownloadModelVersion");
      expect(span?.spanContext().traceId).toBe(traceId);
      expect(span?.attributes["rpc.grpc.status_code"]).toBe(0);
      // The handler's backend call ran inside the span, so it carries its context.
      const forwarded = backend.seen.get("DownloadModelVersion")?.headers.get("traceparent");
      expect(forwarded).toBe(`00-${traceId}-${span?.spanContext().spanId}-01`);
    });
  });
});
