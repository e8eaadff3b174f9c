import { connect as connectHttp2, constants as http2 } from "node:http2";
import { Writable } from "node:stream";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  compressionGzip,
  createGrpcTransport as createClientGrpcTransport,
  createConnectTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import type { GrpcTransport } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { type InMemoryTracing, startInMemoryTracing } from "@seam/kit/testing";
import { ModelRegistryService, RegisteredModelSchema } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../gateway.js";
import { type FakeRegistry, type GrpcFakeRegistry, startGrpcFakeRegistry } from "../testing/fake-registry.js";

// The production shape (gateway → kit grpc-js transport → grpc-js backend), with the
// backend transport counted: `unaryBytes` is the pass-through, `unary` connect-node's path.
const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
const logger = createLogger({ service: "passthrough-test", destination: silent });
const spans = new InMemorySpanExporter();
let tracing: InMemoryTracing;
const MAX_REQUEST_BYTES = 16 * 1024;
const GET_MODEL = "/seam.registry.v1.ModelRegistryService/GetModel";

let registry: FakeRegistry;
let backend: GrpcFakeRegistry;
const taken = { bytes: 0, connect: 0 };
let gateway: Gateway;
let baseUrl: string;

function counted(transport: GrpcTransport): GrpcTransport {
  return {
    unary: (...args) => {
      taken.connect++;
      return transport.unary(...args);
    },
    stream: (...args) => transport.stream(...args),
    unaryBytes: (...args) => {
      taken.bytes++;
      return transport.unaryBytes(...args);
    },
    close: () => transport.close(),
  };
}

beforeAll(async () => {
  tracing = startInMemoryTracing(spans);
  backend = await startGrpcFakeRegistry(logger);
  registry = backend.registry;
  gateway = createGateway({
    services: [{ service: ModelRegistryService, transport: counted(backend.transport) }],
    logger,
    maxRequestBytes: MAX_REQUEST_BYTES,
  });
  baseUrl = `http://127.0.0.1:${await gateway.listen("127.0.0.1", 0)}`;
  const client = createClient(ModelRegistryService, createClientGrpcTransport({ baseUrl }));
  await client.createModel({ name: "iris", description: "flowers" });
});

afterAll(async () => {
  await gateway.close();
  await backend.close();
  tracing.stop();
});

beforeEach(() => {
  spans.reset();
  registry.seen.clear();
  taken.bytes = 0;
  taken.connect = 0;
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}

const passedThrough: Record<string, () => Transport> = {
  gRPC: () => createClientGrpcTransport({ baseUrl }),
  "Connect JSON over HTTP/1.1": () => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  "Connect binary over HTTP/2": () =>
    createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
};

describe.each(Object.entries(passedThrough))("unary pass-through, %s", (_name, makeTransport) => {
  it("forwards the call as bytes with app headers, and relays response headers and trailers", async () => {
    const client = createClient(ModelRegistryService, makeTransport());
    let trailer: Headers | undefined;
    const response = await client.getModel(
      { name: "iris" },
      {
        headers: { authorization: "Bearer t", "x-tenant": "acme", cookie: "session=1" },
        onTrailer: (t) => (trailer = t),
      },
    );
    expect(response.model).toMatchObject({ name: "iris", description: "flowers" });
    expect(taken).toEqual({ bytes: 1, connect: 0 });
    const seen = registry.seen.get("GetModel")?.headers;
    expect(seen?.get("authorization")).toBe("Bearer t");
    expect(seen?.get("x-tenant")).toBe("acme");
    expect(seen?.has("cookie")).toBe(false);
    expect(trailer?.get("x-seam-served-by")).toBe("fake");

    let header: Headers | undefined;
    await client.createModel({ name: `created-${_name}` }, { onHeader: (h) => (header = h) });
    expect(header?.get("x-seam-created")).toBe(`created-${_name}`);
  });

  it("keeps a backend error's code, message, metadata and details", async () => {
    const client = createClient(ModelRegistryService, makeTransport());
    const error = await client.getModel({ name: "" }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toBe("name is required");
    expect(error?.metadata.get("x-seam-field")).toBe("name");
    expect(error?.findDetails(RegisteredModelSchema).map((d) => d.name)).toEqual(["example"]);
    expect(taken.bytes).toBe(1);
  });

  it("passes the deadline on, and answers DEADLINE_EXCEEDED when a slow backend passes it", async () => {
    const client = createClient(ModelRegistryService, makeTransport());
    await client.getModel({ name: "iris" }, { timeoutMs: 5_000 });
    const timeoutMs = registry.seen.get("GetModel")?.timeoutMs;
    expect(timeoutMs).toBeGreaterThan(4_000);
    expect(timeoutMs).toBeLessThanOrEqual(5_000);

    await expect(client.resolveModel({ model: "iris" }, { timeoutMs: 200 })).rejects.toMatchObject({
      code: Code.DeadlineExceeded,
    });
    await until(() => registry.seen.get("ResolveModel")?.signal.aborted === true);
  });

  it("cancels the backend call when the client cancels", async () => {
    const client = createClient(ModelRegistryService, makeTransport());
    const abort = new AbortController();
    const call = client.resolveModel({ model: "iris" }, { signal: abort.signal });
    await until(() => registry.seen.has("ResolveModel"));
    abort.abort();
    await expect(call).rejects.toMatchObject({ code: Code.Canceled });
    await until(() => registry.seen.get("ResolveModel")?.signal.aborted === true);
  });

  it("refuses a request over the gateway's limit with RESOURCE_EXHAUSTED, before the backend", async () => {
    const client = createClient(ModelRegistryService, makeTransport());
    await expect(
      client.createModel({ name: "big", description: "x".repeat(MAX_REQUEST_BYTES + 1) }),
    ).rejects.toMatchObject({ code: Code.ResourceExhausted });
    expect(registry.seen.has("CreateModel")).toBe(false);
    // The connection is still good for the next call.
    await expect(client.getModel({ name: "iris" })).resolves.toBeDefined();
  });

  it("continues the caller's trace in one SERVER span, whose CLIENT span parents the backend call", async () => {
    const client = createClient(ModelRegistryService, makeTransport());
    const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    await client.getModel(
      { name: "iris" },
      { headers: { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` } },
    );
    await client.getModel({ name: "missing" }).catch(() => undefined);
    const server = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(server.map((s) => s.name)).toEqual([
      "seam.registry.v1.ModelRegistryService/GetModel",
      "seam.registry.v1.ModelRegistryService/GetModel",
    ]);
    const [ok, failed] = server;
    expect(ok?.spanContext().traceId).toBe(callerTrace);
    expect(ok?.attributes["rpc.grpc.status_code"]).toBe(0);
    expect(failed?.attributes["rpc.grpc.status_code"]).toBe(Code.NotFound);
    expect(failed?.attributes["rpc.connect_rpc.error_code"]).toBe("not_found");
    // Each backend call is a CLIENT span under the gateway's span, and the backend's parent.
    const calls = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(calls.map((s) => s.name)).toEqual([
      "grpc.seam.registry.v1.ModelRegistryService/GetModel",
      "grpc.seam.registry.v1.ModelRegistryService/GetModel",
    ]);
    const [, failedCall] = calls;
    expect(failedCall?.parentSpanContext?.spanId).toBe(failed?.spanContext().spanId);
    expect(failedCall?.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "seam.registry.v1.ModelRegistryService",
      "rpc.method": "GetModel",
      "rpc.grpc.status_code": Code.NotFound,
    });
    expect(failedCall?.status.code).toBe(SpanStatusCode.ERROR);
    const traceparent = registry.seen.get("GetModel")?.headers.get("traceparent");
    expect(traceparent).toBe(
      `00-${failedCall?.spanContext().traceId}-${failedCall?.spanContext().spanId}-01`,
    );
  });
});

describe("unary pass-through, bad requests", () => {
  it("answers malformed Connect JSON with INVALID_ARGUMENT, without calling the backend", async () => {
    const response = await fetch(`${baseUrl}${GET_MODEL}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name": 42',
    });
    expect(response.status).toBe(400);
    const error = (await response.json()) as { code: string; message: string };
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toMatch(/seam\.registry\.v1\.GetModelRequest/);
    expect(taken.bytes).toBe(0);
    expect(registry.seen.size).toBe(0);
  });

  it("answers bytes that are no protobuf message with the backend's INVALID_ARGUMENT", async () => {
    const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff]);
    const connect = await fetch(`${baseUrl}${GET_MODEL}`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: garbage,
    });
    expect(connect.status).toBe(400);
    expect(await connect.json()).toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/request is not a valid seam\.registry\.v1\.GetModelRequest/),
    });

    const grpc = await rawGrpcCall(GET_MODEL, frame(garbage));
    expect(grpc.status).toBe(String(Code.InvalidArgument));
    expect(decodeURIComponent(grpc.message)).toMatch(
      /request is not a valid seam\.registry\.v1\.GetModelRequest/,
    );
  });

  it("refuses broken gRPC framing with INVALID_ARGUMENT", async () => {
    const message = new Uint8Array([0x0a, 0x04, 0x69, 0x72, 0x69, 0x73]); // name: "iris"
    const ok = await rawGrpcCall(GET_MODEL, frame(message));
    expect(ok.status).toBe("0");
    const twoMessages = await rawGrpcCall(GET_MODEL, Buffer.concat([frame(message), frame(message)]));
    expect(twoMessages.status).toBe(String(Code.InvalidArgument));
    const none = await rawGrpcCall(GET_MODEL, Buffer.alloc(0));
    expect(none.status).toBe(String(Code.InvalidArgument));
    const compressedFlag = frame(message);
    compressedFlag[0] = 1;
    const compressed = await rawGrpcCall(GET_MODEL, compressedFlag);
    expect(compressed.status).toBe(String(Code.InvalidArgument));
    expect(decodeURIComponent(compressed.message)).toMatch(/compressed message without grpc-encoding/);
  });
});

describe("what connect-node still serves", () => {
  it("takes compressed requests, gRPC-Web and streams through connect-node", async () => {
    const gzip = createClient(
      ModelRegistryService,
      createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        sendCompression: compressionGzip,
        compressMinBytes: 0,
      }),
    );
    expect((await gzip.getModel({ name: "iris" })).model?.name).toBe("iris");
    const grpcWeb = createClient(
      ModelRegistryService,
      createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
    );
    expect((await grpcWeb.getModel({ name: "iris" })).model?.name).toBe("iris");
    expect(taken).toEqual({ bytes: 0, connect: 2 });

    const grpc = createClient(ModelRegistryService, createClientGrpcTransport({ baseUrl }));
    const chunks: number[] = [];
    for await (const message of grpc.downloadModelVersion({ model: "iris" })) chunks.push(...message.chunk);
    expect(chunks).toEqual([1, 2, 3]);
    expect(taken.bytes).toBe(0);
  });

  it("serves every call through connect-node when interceptors are configured", async () => {
    let intercepted = 0;
    const countCalls: Interceptor = (next) => (request) => {
      intercepted++;
      return next(request);
    };
    const guarded = createGateway({
      services: [{ service: ModelRegistryService, transport: counted(backend.transport) }],
      logger,
      interceptors: [countCalls],
    });
    const url = `http://127.0.0.1:${await guarded.listen("127.0.0.1", 0)}`;
    try {
      const grpc = createClient(ModelRegistryService, createClientGrpcTransport({ baseUrl: url }));
      const json = createClient(
        ModelRegistryService,
        createConnectTransport({ baseUrl: url, httpVersion: "1.1" }),
      );
      await grpc.getModel({ name: "iris" });
      await json.getModel({ name: "iris" });
      expect(intercepted).toBe(2);
      expect(taken).toEqual({ bytes: 0, connect: 2 });
    } finally {
      await guarded.close();
    }
  });
});

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

// A gRPC call by hand, to send framings no client library would.
async function rawGrpcCall(path: string, body: Buffer): Promise<{ status: string; message: string }> {
  const session = connectHttp2(baseUrl);
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({
        [http2.HTTP2_HEADER_METHOD]: "POST",
        [http2.HTTP2_HEADER_PATH]: path,
        "content-type": "application/grpc",
        te: "trailers",
      });
      let headers: Record<string, unknown> = {};
      stream.on("response", (h) => (headers = h));
      stream.on("trailers", (t) => (headers = { ...headers, ...t }));
      stream.on("data", () => undefined);
      stream.on("error", reject);
      stream.on("close", () =>
        resolve({ status: String(headers["grpc-status"]), message: String(headers["grpc-message"] ?? "") }),
      );
      stream.end(body);
    });
  } finally {
    session.close();
  }
}
