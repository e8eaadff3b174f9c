import { createRequire } from "node:module";
import { Writable } from "node:stream";
import { SpanKind } from "@opentelemetry/api";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { createLogger } from "@seam/kit/logging";
import { shouldIgnoreIncomingRequest } from "@seam/kit/telemetry";
import { type InMemoryTracing, startInMemoryTracing } from "@seam/kit/testing";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "./gateway.js";
import { createFakeRegistry } from "./testing/fake-registry.js";

// The design choice under test: the tracing interceptor's RPC span is the gateway's
// only SERVER span. The http instrumentation (configured as the kit's SDK does) sees
// HTTP/1.1 connections, so the gateway marks its connections untraced.
const spans = new InMemorySpanExporter();
let tracing: InMemoryTracing;
const instrumentation = new HttpInstrumentation({ ignoreIncomingRequestHook: shouldIgnoreIncomingRequest });
let gateway: Gateway;
let baseUrl: string;

beforeAll(async () => {
  tracing = startInMemoryTracing(spans);
  instrumentation.setTracerProvider(tracing.provider);
  instrumentation.enable();
  // The patch lands on http.Server.prototype when http is required after enable().
  createRequire(import.meta.url)("node:http");

  gateway = createGateway({
    services: [{ service: ModelRegistryService, transport: createFakeRegistry().transport }],
    logger: createLogger({
      service: "gateway-test",
      destination: new Writable({ write: (_c, _e, done) => done() }),
    }),
  });
  baseUrl = `http://127.0.0.1:${await gateway.listen("127.0.0.1", 0)}`;
});

afterAll(async () => {
  await gateway.close();
  instrumentation.disable();
  tracing.stop();
});

describe("http instrumentation and the gateway", () => {
  it("is active for an ordinary http server (control)", async () => {
    const http = createRequire(import.meta.url)("node:http") as typeof import("node:http");
    const server = http.createServer((_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as import("node:net").AddressInfo;
    spans.reset();
    await (await fetch(`http://127.0.0.1:${port}/plain`)).text();
    server.close();
    expect(spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(1);
  });

  it("leaves one SERVER span, the RPC span, for a Connect call over HTTP/1.1", async () => {
    spans.reset();
    const response = await fetch(`${baseUrl}/seam.registry.v1.ModelRegistryService/ListModels`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(200);
    await response.text();
    const server = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(server.map((s) => s.name)).toEqual(["seam.registry.v1.ModelRegistryService/ListModels"]);
  });
});
