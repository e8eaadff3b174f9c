import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ANY_FREE_PORTS } from "@seam/cli";
import { buildMlpModel } from "@seam/inference/testing";
import {
  findSamples,
  OtlpReceiver,
  type PrometheusSample,
  parsePrometheusText,
  type ReceivedMetricPoint,
} from "@seam/kit/testing";
import { DatasetService, SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { ArtifactFormat, ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSeam, type SeamProcess, startSeam } from "./support/seam-process.js";

// Metrics as an operator meets them: `seam up` with SEAM_METRICS_PORT=0 serves every
// service's metrics as Prometheus text on one endpoint; separate processes with an OTLP
// endpoint push theirs over OTLP/HTTP to a collector (here, a receiver the test runs).

const DEFINITIONS_YAML = `entities:
  - name: driver
    join_keys: [{ name: driver_id, type: int64 }]
feature_views:
  - name: driver_stats
    entities: [driver]
    features:
      - { name: conv_rate, type: float64 }
      - { name: trips }
    source: { dataset: driver_stats_src, timestamp_column: event_timestamp }
`;
const STATS_CSV = "driver_id,event_timestamp,conv_rate,trips\n1,2024-01-01T00:00:00Z,0.1,1\n";

// biome-ignore lint/suspicious/noExplicitAny: Connect JSON bodies are asserted field by field
type Json = any;

async function connectJson(
  baseUrl: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${baseUrl}/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe("seam up with SEAM_METRICS_PORT=0: one Prometheus endpoint for every service", () => {
  let dir: string;
  let seam: SeamProcess;
  let gatewayUrl: string;
  let metricsUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "seam-metrics-"));
    seam = startSeam(["up"], {
      SEAM_DATA_DIR: join(dir, "data"),
      ...ANY_FREE_PORTS,
      SEAM_METRICS_PORT: "0",
      LOG_LEVEL: "info",
    });
    gatewayUrl = (await seam.waitFor(/gateway\s+(http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
    metricsUrl = (await seam.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/))[1] as string;
  });

  afterAll(async () => {
    const code = await seam?.stop();
    await rm(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  async function scrape(): Promise<PrometheusSample[]> {
    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    return parsePrometheusText(await res.text());
  }

  it("opens exactly one metrics endpoint, whatever the number of servers, and lists it", async () => {
    expect(seam.stdout().match(/metrics endpoint listening/g)).toHaveLength(1);
    const listed = (await seam.waitFor(/^\s+metrics\s+(\S+)\s+\(Prometheus text\)$/m))[1];
    expect(listed).toBe(metricsUrl);
  });

  it("has per-RPC metrics of the gateway and the services behind it, plus features and inference metrics", async () => {
    const transport = createGrpcTransport({ baseUrl: gatewayUrl });
    const registry = createClient(ModelRegistryService, transport);
    const datasets = createClient(DatasetService, transport);

    // Registry: a call that works and one that fails NOT_FOUND.
    expect(
      (await connectJson(gatewayUrl, "seam.registry.v1.ModelRegistryService/ListModels", {})).status,
    ).toBe(200);
    const missing = await connectJson(gatewayUrl, "seam.registry.v1.ModelRegistryService/GetModel", {
      name: "nope",
    });
    expect(missing.json.code).toBe("not_found");

    // Inference: a model uploaded (a client stream), then a prediction.
    async function* upload() {
      yield {
        payload: {
          case: "metadata" as const,
          value: { modelName: "mlp", createModel: true, format: ArtifactFormat.ONNX, alias: "champion" },
        },
      };
      yield { payload: { case: "chunk" as const, value: buildMlpModel({ seed: 7 }) } };
    }
    await registry.uploadModelVersion(upload());
    const x = Array.from({ length: 20 }, (_, i) => (i - 10) / 7);
    const predicted = await connectJson(gatewayUrl, "seam.inference.v1.InferenceService/Predict", {
      model: "mlp",
      rows: [{ x }],
    });
    expect(predicted.status).toBe(200);

    // Features: a source dataset, definitions over it, an online read of an unmaterialized view.
    async function* csv() {
      yield {
        payload: {
          case: "metadata" as const,
          value: { dataset: "driver_stats_src", createDataset: true, format: SourceFormat.CSV },
        },
      };
      yield { payload: { case: "chunk" as const, value: new TextEncoder().encode(STATS_CSV) } };
    }
    await datasets.uploadDatasetVersion(csv());
    const file = join(dir, "features.yaml");
    await writeFile(file, DEFINITIONS_YAML);
    // A CLI command is a client: with SEAM_METRICS_PORT set (even to the busy port) it opens nothing.
    const applied = await runSeam(["features", "apply", file], {
      SEAM_GATEWAY_URL: gatewayUrl,
      SEAM_METRICS_PORT: new URL(metricsUrl).port,
    });
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).not.toContain("metrics");
    const online = await connectJson(gatewayUrl, "seam.features.v1.FeatureStoreService/GetOnlineFeatures", {
      features: { refs: ["driver_stats:*"] },
      entities: [{ joinKeys: { driver_id: "1" } }, { joinKeys: { driver_id: "2" } }],
    });
    expect(online.status, JSON.stringify(online.json)).toBe(200);

    const samples = await scrape();
    const count = (labels: Record<string, string>): number =>
      findSamples(samples, "rpc_server_duration_count", labels).reduce((sum, s) => sum + s.value, 0);

    // The gateway's own (Connect) side and the backends' (grpc-js) side of the same calls.
    const getModel = { rpc_service: "seam.registry.v1.ModelRegistryService", rpc_method: "GetModel" };
    for (const system of ["connect_rpc", "grpc"]) {
      expect(count({ ...getModel, rpc_system: system, rpc_grpc_status_code: "5" }), system).toBe(1);
      expect(
        findSamples(samples, "seam_rpc_errors_total", {
          ...getModel,
          rpc_system: system,
          rpc_grpc_status_code: "5",
        }),
      ).toEqual([expect.objectContaining({ value: 1 })]);
    }
    for (const [service, method] of [
      ["seam.registry.v1.ModelRegistryService", "ListModels"],
      ["seam.registry.v1.ModelRegistryService", "UploadModelVersion"],
      ["seam.inference.v1.InferenceService", "Predict"],
      ["seam.datasets.v1.DatasetService", "UploadDatasetVersion"],
      ["seam.features.v1.FeatureStoreService", "ApplyDefinitions"],
      ["seam.features.v1.FeatureStoreService", "GetOnlineFeatures"],
    ] as const) {
      const labels = { rpc_service: service, rpc_method: method, rpc_grpc_status_code: "0" };
      expect(count({ ...labels, rpc_system: "connect_rpc" }), `gateway ${method}`).toBeGreaterThanOrEqual(1);
      expect(count({ ...labels, rpc_system: "grpc" }), `${service} ${method}`).toBeGreaterThanOrEqual(1);
    }

    // Feature lookups and the status of every value they returned.
    expect(findSamples(samples, "seam_features_lookups_total")[0]?.value).toBeGreaterThanOrEqual(1);
    expect(
      findSamples(samples, "seam_features_values_total", {
        seam_feature_view: "driver_stats",
        seam_feature_status: "not_found",
      })[0]?.value,
    ).toBe(4);

    // Inference: the prediction, its batch, the model's load, and the (empty) queue.
    const mlp = { seam_model: "mlp", seam_model_version: "1" };
    expect(
      findSamples(samples, "seam_inference_requests_total", { ...mlp, outcome: "ok" })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
    expect(findSamples(samples, "seam_inference_batch_rows_count", mlp)[0]?.value).toBeGreaterThanOrEqual(1);
    expect(findSamples(samples, "seam_inference_model_load_time_count", mlp)[0]?.value).toBe(1);
    expect(findSamples(samples, "seam_inference_queue_depth", mlp)).toEqual([
      expect.objectContaining({ value: 0 }),
    ]);
  });
});

describe("separate processes with an OTLP endpoint: metrics pushed over OTLP/HTTP", () => {
  let receiver: OtlpReceiver;
  let dir: string;
  let registry: SeamProcess;
  let gateway: SeamProcess;
  let gatewayUrl: string;

  beforeAll(async () => {
    receiver = new OtlpReceiver();
    const endpoint = await receiver.listen();
    dir = await mkdtemp(join(tmpdir(), "seam-metrics-otlp-"));
    // Metrics only: no traces, so no loader hook and no trace SDK either.
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/json",
      OTEL_TRACES_EXPORTER: "none",
      OTEL_METRIC_EXPORT_INTERVAL: "200",
    };
    registry = startSeam(["serve", "registry"], {
      ...otel,
      REGISTRY_PORT: "0",
      SEAM_DATA_DIR: join(dir, "data"),
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
    const codes = [await gateway?.stop(), await registry?.stop()];
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
    expect(codes).toEqual([0, 0]);
  });

  it("exports each process's per-RPC metrics under its service name", async () => {
    const created = await connectJson(gatewayUrl, "seam.registry.v1.ModelRegistryService/CreateModel", {
      name: "pushed",
    });
    expect(created.status).toBe(200);
    const missing = await connectJson(gatewayUrl, "seam.registry.v1.ModelRegistryService/GetModel", {
      name: "nope",
    });
    expect(missing.json.code).toBe("not_found");

    const createModel = (point: ReceivedMetricPoint, service: string, system: string): boolean =>
      point.serviceName === service &&
      point.attributes["rpc.system"] === system &&
      point.attributes["rpc.method"] === "CreateModel" &&
      point.attributes["rpc.grpc.status_code"] === 0 &&
      (point.count ?? 0) >= 1;
    const errors = (point: ReceivedMetricPoint, service: string): boolean =>
      point.serviceName === service && point.attributes["rpc.grpc.status_code"] === 5 && point.value >= 1;
    await waitFor(
      () =>
        receiver.metricPoints("rpc.server.duration").some((p) => createModel(p, "registry", "grpc")) &&
        receiver.metricPoints("rpc.server.duration").some((p) => createModel(p, "gateway", "connect_rpc")) &&
        receiver.metricPoints("seam.rpc.errors").some((p) => errors(p, "registry")) &&
        receiver.metricPoints("seam.rpc.errors").some((p) => errors(p, "gateway")),
      () => JSON.stringify(receiver.metrics.slice(-20), null, 1),
    );
    const point = receiver
      .metricPoints("rpc.server.duration")
      .find((p) => createModel(p, "registry", "grpc"));
    expect(point).toMatchObject({ kind: "histogram", unit: "ms", scope: "@seam/kit" });
    expect(receiver.metricContentTypes.every((type) => type.startsWith("application/json"))).toBe(true);
    // OTEL_TRACES_EXPORTER=none: metrics went out, spans did not.
    expect(receiver.contentTypes).toEqual([]);
  });
});

async function waitFor(done: () => boolean, describe: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out; last points received:\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
