import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { shutdownTelemetry, startMetricsEndpoint, startTelemetry } from "@seam/kit/telemetry";
import { findSamples, type PrometheusSample, parsePrometheusText } from "@seam/kit/testing";
import { EchoService } from "@seam/proto/seam/testing/v1/echo_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetricsInterceptor } from "./metrics.js";

describe("createMetricsInterceptor", () => {
  let url: string;
  let server: Http2Server | undefined;
  beforeAll(async () => {
    expect(createMetricsInterceptor()).toBeUndefined();
    await startTelemetry({ serviceName: "gateway-metrics-test", env: { SEAM_METRICS_PORT: "0" } });
    url = (await startMetricsEndpoint()) as string;
  });
  afterAll(async () => {
    server?.close();
    await shutdownTelemetry();
  });

  async function scrape(): Promise<PrometheusSample[]> {
    return parsePrometheusText(await (await fetch(url)).text());
  }

  it("records unary and streamed calls with their outcome, a stream the client left as CANCELLED", async () => {
    const interceptor = createMetricsInterceptor();
    expect(interceptor).toBeDefined();
    server = createServer(
      connectNodeAdapter({
        routes(router) {
          router.service(EchoService, {
            echo(req) {
              if (req.text === "missing") throw new ConnectError("no such echo", Code.NotFound);
              return { text: req.text };
            },
            // Like the gateway's forwarding, it stops when the client goes (ctx.signal).
            async *echoServerStream(req, ctx) {
              for (let index = 0; index < req.repeat; index++) {
                yield { text: req.text, index };
                await new Promise((resolve) => setTimeout(resolve, 10));
                ctx.signal.throwIfAborted();
              }
            },
          });
        },
        interceptors: interceptor === undefined ? [] : [interceptor],
      }),
    );
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    const transport = createGrpcTransport({
      baseUrl: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`,
    });
    const client = createClient(EchoService, transport);

    await client.echo({ text: "a" });
    await expect(client.echo({ text: "missing" })).rejects.toThrow(/no such echo/);
    for await (const _ of client.echoServerStream({ text: "s", repeat: 2 })) {
      // read to the end
    }
    const leaving = new AbortController();
    await expect(
      (async () => {
        for await (const _ of client.echoServerStream(
          { text: "s", repeat: 100 },
          { signal: leaving.signal },
        )) {
          leaving.abort();
        }
      })(),
    ).rejects.toThrow();

    // The server learns that the client left asynchronously.
    let samples = await scrape();
    for (
      let i = 0;
      i < 50 && findSamples(samples, "rpc_server_duration_count", { rpc_grpc_status_code: "1" }).length === 0;
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      samples = await scrape();
    }
    const calls = (method: string, code: Code | 0) =>
      findSamples(samples, "rpc_server_duration_count", {
        rpc_system: "connect_rpc",
        rpc_service: "seam.testing.v1.EchoService",
        rpc_method: method,
        rpc_grpc_status_code: String(code),
        otel_scope_name: "@seam/gateway",
      })[0]?.value;
    expect(calls("Echo", 0)).toBe(1);
    expect(calls("Echo", Code.NotFound)).toBe(1);
    expect(calls("EchoServerStream", 0)).toBe(1);
    expect(calls("EchoServerStream", Code.Canceled)).toBe(1);
    expect(
      findSamples(samples, "seam_rpc_errors_total", { rpc_method: "Echo", rpc_grpc_status_code: "5" })[0]
        ?.value,
    ).toBe(1);
  });
});
