import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { metrics } from "@opentelemetry/api";
import type { MetricReader } from "@opentelemetry/sdk-metrics";
import type { Logger } from "pino";
import type { MetricsConfig, PrometheusConfig } from "./config.js";
import { setMetricsEndpointOpener } from "./metrics-endpoint.js";
import { markConnectionUntraced } from "./untraced.js";

/** A running metrics pipeline. */
export interface StartedMetrics {
  /** Flushes the last OTLP export, closes the Prometheus endpoint. Never rejects. */
  shutdown(): Promise<void>;
}

// The Prometheus text format 0.0.4; the exporter itself sends a bare text/plain.
const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Starts a MeterProvider with the readers `config` asks for (a periodic OTLP/HTTP exporter,
 * a Prometheus pull reader) and registers it globally. Loaded only when metrics are on.
 * The Prometheus endpoint itself opens later, on the first `startMetricsEndpoint`.
 */
export async function startMetrics(
  config: Extract<MetricsConfig, { enabled: true }>,
  serviceName: string,
): Promise<StartedMetrics> {
  const [
    { MeterProvider, PeriodicExportingMetricReader },
    { resourceFromAttributes },
    { ATTR_SERVICE_NAME },
  ] = await Promise.all([
    import("@opentelemetry/sdk-metrics"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  const readers: MetricReader[] = [];
  if (config.otlp !== undefined) {
    const { OTLPMetricExporter } =
      config.otlp.protocol === "http/json"
        ? await import("@opentelemetry/exporter-metrics-otlp-http")
        : await import("@opentelemetry/exporter-metrics-otlp-proto");
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: config.otlp.url }),
        exportIntervalMillis: config.otlp.intervalMs,
        exportTimeoutMillis: config.otlp.timeoutMs,
      }),
    );
  }
  let endpoint: PrometheusEndpoint | undefined;
  if (config.prometheus !== undefined) {
    const { PrometheusExporter } = await import("@opentelemetry/exporter-prometheus");
    // Its own server cannot take port 0 (0 falls back to 9464), so it serves through ours.
    const exporter = new PrometheusExporter({ preventServerStart: true });
    readers.push(exporter);
    endpoint = new PrometheusEndpoint(config.prometheus, (req, res) => {
      exporter.getMetricsRequestHandler(req, res);
      res.setHeader("content-type", PROMETHEUS_CONTENT_TYPE);
    });
    const opener = endpoint;
    setMetricsEndpointOpener((logger) => opener.open(logger));
  }

  const provider = new MeterProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    readers,
  });
  metrics.setGlobalMeterProvider(provider);

  let stopped: Promise<void> | undefined;
  return {
    shutdown() {
      stopped ??= (async () => {
        setMetricsEndpointOpener(undefined);
        // The last OTLP export happens here; a failure loses those points either way.
        await provider.shutdown().catch(() => undefined);
        await endpoint?.close();
      })();
      return stopped;
    },
  };
}

/** The HTTP server of `GET /metrics`, opened once, on the first `open`. */
class PrometheusEndpoint {
  private opened: Promise<string> | undefined;
  private readonly server: Server;

  constructor(
    private readonly config: PrometheusConfig,
    handle: (req: IncomingMessage, res: ServerResponse) => void,
  ) {
    this.server = createServer((req, res) => {
      const path = req.url?.split("?", 1)[0];
      if ((req.method === "GET" || req.method === "HEAD") && path === "/metrics") handle(req, res);
      else res.writeHead(404).end();
    });
    // Scrapes every few seconds would drown the traces in spans of the http instrumentation.
    this.server.on("connection", markConnectionUntraced);
    // Never the reason a process stays up (as the exporter's own server does it).
    this.server.unref();
  }

  open(logger?: Logger): Promise<string> {
    this.opened ??= new Promise<string>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off("error", reject);
        const { port } = this.server.address() as AddressInfo;
        const host = this.config.host.includes(":") ? `[${this.config.host}]` : this.config.host;
        const url = `http://${host}:${port}/metrics`;
        logger?.info({ url }, "metrics endpoint listening");
        resolve(url);
      });
    });
    return this.opened;
  }

  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
