import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { metrics } from "@opentelemetry/api";
import { afterAll, describe, expect, it } from "vitest";
import { NotFoundError } from "../errors/index.js";
import { createGrpcServer, type GrpcServer } from "../hosting/server.js";
import { createCapturingLogger, EchoService, echoImpl } from "../hosting/testdata/echo.js";
import { createGrpcTransport, type GrpcTransport } from "../hosting/transport.js";
import { findSamples, parsePrometheusText } from "../testing/prometheus-text.js";
import { startMetricsEndpoint } from "./metrics-endpoint.js";
import { createRpcServerMetrics } from "./rpc-metrics.js";
import { shutdownTelemetry, startTelemetry } from "./sdk.js";

// One process-wide SDK (startTelemetry runs once per process), so the steps run in order:
// nothing before the start, then a kit-hosted service scraped through the Prometheus endpoint.
describe("metrics of kit-hosted services, scraped as Prometheus text", () => {
  const servers: GrpcServer[] = [];
  const transports: GrpcTransport[] = [];
  afterAll(async () => {
    for (const transport of transports) transport.close();
    for (const server of servers) await server.shutdown(1_000);
    await shutdownTelemetry();
    metrics.disable();
  });

  async function start(): Promise<{
    client: ReturnType<typeof createClient<typeof EchoService>>;
    lines: () => Record<string, unknown>[];
  }> {
    const { logger, lines } = createCapturingLogger();
    const server = createGrpcServer({ logger }).register(EchoService, {
      ...echoImpl,
      echo(req, ctx) {
        if (req.text === "missing") throw new NotFoundError("no such echo");
        return echoImpl.echo(req, ctx);
      },
    });
    servers.push(server);
    const port = await server.listen("127.0.0.1", 0);
    const transport = createGrpcTransport({ address: `127.0.0.1:${port}`, retry: false });
    transports.push(transport);
    return { client: createClient(EchoService, transport), lines };
  }

  it("records nothing and opens no endpoint while no MeterProvider is registered", async () => {
    expect(createRpcServerMetrics({ meterName: "test", system: "grpc" })).toBeUndefined();
    expect(await startMetricsEndpoint()).toBeUndefined();
    // A server built now serves normally, with no metrics.
    const { client, lines } = await start();
    expect((await client.echo({ text: "before" })).text).toBe("before");
    expect(lines().some((line) => line.msg === "metrics endpoint listening")).toBe(false);
  });

  it("counts calls by method and status code and times them, one endpoint per process", async () => {
    const telemetry = await startTelemetry({
      serviceName: "kit-metrics-test",
      env: { SEAM_METRICS_PORT: "0" },
    });
    expect(telemetry.enabled).toBe(false); // no OTLP endpoint: no traces
    expect(telemetry.metrics).toEqual({ enabled: true, prometheus: { host: "127.0.0.1", port: 0 } });

    const { client, lines } = await start();
    const listening = lines().find((line) => line.msg === "metrics endpoint listening");
    expect(listening?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const url = listening?.url as string;

    for (const text of ["a", "b", "c"]) expect((await client.echo({ text })).text).toBe(text);
    const missing = await client.echo({ text: "missing" }).catch((e: unknown) => ConnectError.from(e));
    expect(missing).toBeInstanceOf(ConnectError);
    expect((missing as ConnectError).code).toBe(Code.NotFound);
    const streamed: number[] = [];
    for await (const res of client.echoServerStream({ text: "s", repeat: 2 })) streamed.push(res.index);
    expect(streamed).toEqual([0, 1]);

    // A second server of the process shares the endpoint rather than opening another.
    const second = await start();
    expect(second.lines().some((line) => line.msg === "metrics endpoint listening")).toBe(false);
    expect(await startMetricsEndpoint()).toBe(url);

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const samples = parsePrometheusText(await res.text());
    const echo = { rpc_system: "grpc", rpc_service: "seam.testing.v1.EchoService", rpc_method: "Echo" };
    // 3, not 4: the server built before the SDK started ("before") stays without metrics.
    expect(findSamples(samples, "rpc_server_duration_count", { ...echo, rpc_grpc_status_code: "0" })).toEqual(
      [
        expect.objectContaining({
          value: 3,
          labels: expect.objectContaining({ otel_scope_name: "@seam/kit" }),
        }),
      ],
    );
    expect(
      findSamples(samples, "rpc_server_duration_count", {
        ...echo,
        rpc_grpc_status_code: String(Code.NotFound),
      }),
    ).toEqual([expect.objectContaining({ value: 1 })]);
    expect(findSamples(samples, "seam_rpc_errors_total", { ...echo, rpc_grpc_status_code: "5" })).toEqual([
      expect.objectContaining({ value: 1 }),
    ]);
    // Only failures are errors.
    expect(findSamples(samples, "seam_rpc_errors_total", { ...echo, rpc_grpc_status_code: "0" })).toEqual([]);
    expect(
      findSamples(samples, "rpc_server_duration_count", {
        rpc_method: "EchoServerStream",
        rpc_grpc_status_code: "0",
      }),
    ).toEqual([expect.objectContaining({ value: 1 })]);
    // The histogram's buckets and sum are there too, in milliseconds.
    const buckets = findSamples(samples, "rpc_server_duration_bucket", {
      ...echo,
      rpc_grpc_status_code: "0",
    });
    expect(buckets.find((b) => b.labels.le === "+Inf")?.value).toBe(3);
    const sum = findSamples(samples, "rpc_server_duration_sum", { ...echo, rpc_grpc_status_code: "0" })[0];
    expect(sum?.value).toBeGreaterThan(0);
    expect(sum?.value).toBeLessThan(3 * 5_000);
    // The resource names the service.
    expect(findSamples(samples, "target_info")[0]?.labels.service_name).toBe("kit-metrics-test");

    expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);
  });

  it("closes the endpoint when telemetry shuts down", async () => {
    const url = await startMetricsEndpoint();
    expect(url).toBeDefined();
    await shutdownTelemetry();
    await expect(fetch(url as string)).rejects.toThrow();
    expect(await startMetricsEndpoint()).toBeUndefined();
  });
});
