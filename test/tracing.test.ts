import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OtlpReceiver, type ReceivedSpan, SPAN_KIND, startRedisServer } from "@seam/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SeamProcess, startSeam } from "./support/seam-process.js";

// One Connect call entering the gateway must be ONE trace across processes:
// gateway server span → grpc-js client span → registry grpc-js server span → storage spans.
// The spans really travel over OTLP/HTTP from both processes to a receiver the test runs.
describe.each([{ storage: "lmdb" as const }, { storage: "redis" as const }])(
  "one trace through gateway and registry ($storage)",
  ({ storage }) => {
    let receiver: OtlpReceiver;
    let dir: string;
    let redis: { url: string; stop(): Promise<void> } | undefined;
    let registry: SeamProcess;
    let gateway: SeamProcess;
    let gatewayUrl: string;

    beforeAll(async () => {
      receiver = new OtlpReceiver();
      const endpoint = await receiver.listen();
      dir = await mkdtemp(join(tmpdir(), "seam-trace-"));
      if (storage === "redis") redis = await startRedisServer();
      const otel = {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
        OTEL_BSP_SCHEDULE_DELAY: "100",
      };
      registry = startSeam(["serve", "registry"], {
        ...otel,
        REGISTRY_PORT: "0",
        SEAM_DATA_DIR: join(dir, "data"),
        ...(redis === undefined ? {} : { REDIS_URL: redis.url }),
      });
      const registryAddress = (await registry.waitFor(/"address":"(127\.0\.0\.1:\d+)"/))[1] as string;
      gateway = startSeam(["serve", "gateway"], {
        ...otel,
        SEAM_GATEWAY_PORT: "0",
        SEAM_REGISTRY_ADDRESS: registryAddress,
      });
      gatewayUrl = (await gateway.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/))[1] as string;
    });

    afterAll(async () => {
      await gateway?.stop();
      await registry?.stop();
      await redis?.stop();
      await receiver?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("links the client's traceparent, the gateway, the registry and its storage in one trace", async () => {
      const traceId = randomBytes(16).toString("hex");
      const clientSpanId = randomBytes(8).toString("hex");
      const res = await fetch(`${gatewayUrl}/seam.registry.v1.ModelRegistryService/CreateModel`, {
        method: "POST",
        headers: { "Content-Type": "application/json", traceparent: `00-${traceId}-${clientSpanId}-01` },
        body: JSON.stringify({ name: "traced-model", description: "made in a trace" }),
      });
      expect(res.status).toBe(200);

      const spans = await waitForTrace(receiver, traceId, (all) =>
        all.some((s) => s.serviceName === "registry" && isStorageSpan(s, storage)),
      );

      const gatewayServer = only(spans, (s) => s.serviceName === "gateway" && s.kind === SPAN_KIND.SERVER);
      expect(gatewayServer.name).toBe("seam.registry.v1.ModelRegistryService/CreateModel");
      expect(gatewayServer.parentSpanId).toBe(clientSpanId);

      const grpcClient = only(spans, (s) => s.serviceName === "gateway" && s.kind === SPAN_KIND.CLIENT);
      expect(grpcClient.parentSpanId).toBe(gatewayServer.spanId);

      const registryServer = only(spans, (s) => s.serviceName === "registry" && s.kind === SPAN_KIND.SERVER);
      expect(registryServer.name).toContain("ModelRegistryService/CreateModel");
      expect(registryServer.parentSpanId).toBe(grpcClient.spanId);

      // Spans carry names and keys, never the stored payload.
      for (const span of spans) expect(JSON.stringify(span.attributes)).not.toContain("made in a trace");

      const storageSpans = spans.filter((s) => isStorageSpan(s, storage));
      expect(storageSpans.length).toBeGreaterThan(0);
      for (const span of storageSpans) {
        expect(span.serviceName).toBe("registry");
        expect(descendsFrom(spans, span, registryServer.spanId)).toBe(true);
      }
    });
  },
);

function isStorageSpan(span: ReceivedSpan, storage: "lmdb" | "redis"): boolean {
  return span.attributes["db.system"] === storage || span.attributes["db.system.name"] === storage;
}

function only(spans: ReceivedSpan[], predicate: (s: ReceivedSpan) => boolean): ReceivedSpan {
  const found = spans.filter(predicate);
  if (found.length !== 1) {
    throw new Error(
      `expected exactly one matching span, got ${found.length}:\n${JSON.stringify(spans, null, 1)}`,
    );
  }
  return found[0] as ReceivedSpan;
}

function descendsFrom(spans: ReceivedSpan[], span: ReceivedSpan, ancestorId: string): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  let current: ReceivedSpan | undefined = span;
  while (current?.parentSpanId !== undefined) {
    if (current.parentSpanId === ancestorId) return true;
    current = byId.get(current.parentSpanId);
  }
  return false;
}

async function waitForTrace(
  receiver: OtlpReceiver,
  traceId: string,
  complete: (spans: ReceivedSpan[]) => boolean,
): Promise<ReceivedSpan[]> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const spans = receiver.trace(traceId);
    if (complete(spans)) {
      // Spans of one trace arrive in several exports; give the stragglers a moment.
      await new Promise((resolve) => setTimeout(resolve, 500));
      return receiver.trace(traceId);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`trace ${traceId} incomplete: ${JSON.stringify(receiver.trace(traceId), null, 1)}`);
}
