import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A span as the OTLP/JSON encoding carries it, with its resource's service name. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly serviceName: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/**
 * One data point of a metric as the OTLP/JSON encoding carries it, flattened with its
 * metric's name and unit, its scope and its resource's service name.
 */
export interface ReceivedMetricPoint {
  readonly name: string;
  readonly unit: string;
  /** The instrumentation scope (meter) name, e.g. "@seam/kit". */
  readonly scope: string;
  readonly serviceName: string;
  readonly kind: "sum" | "gauge" | "histogram";
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** A sum's or gauge's value; a histogram's sum of recorded values. */
  readonly value: number;
  /** A histogram's number of recorded values; absent on sums and gauges. */
  readonly count?: number;
}

/** OTLP span kinds used in assertions. */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

/**
 * A minimal OTLP/HTTP collector for tests: accepts POST /v1/traces and /v1/metrics in
 * the JSON encoding (start the exporters with OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
 * OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=http/json) and keeps every span and metric data
 * point it receives. They really travel over HTTP from the process under test, so the
 * whole export path is exercised.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Content types of the trace export requests, protobuf ones included (not decoded). */
  readonly contentTypes: string[] = [];
  /** Every metric data point of every export, in arrival order (cumulative points repeat). */
  readonly metrics: ReceivedMetricPoint[] = [];
  /** Content types of the metric export requests, protobuf ones included (not decoded). */
  readonly metricContentTypes: string[] = [];
  /** Requests of any kind received, traces and metrics alike. */
  requests = 0;
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      this.requests++;
      const signal = req.method === "POST" ? SIGNAL_PATHS[req.url ?? ""] : undefined;
      if (signal === undefined) {
        res.writeHead(404).end();
        return;
      }
      const contentType = req.headers["content-type"] ?? "";
      (signal === "traces" ? this.contentTypes : this.metricContentTypes).push(contentType);
      if (contentType.startsWith("application/json")) {
        const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        if (signal === "traces") this.collect(body);
        else this.collectMetrics(body);
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });

  /** Starts listening on a free loopback port; resolves to the base URL (the OTLP endpoint). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  /** The data points received of the metric `name`, in arrival order. */
  metricPoints(name: string): ReceivedMetricPoint[] {
    return this.metrics.filter((point) => point.name === name);
  }

  // biome-ignore lint/suspicious/noExplicitAny: OTLP JSON is walked defensively
  private collect(body: any): void {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const serviceName = attributeValue(
        (resourceSpans.resource?.attributes ?? []).find((a: { key: string }) => a.key === "service.name"),
      );
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          const attributes: Record<string, string | number | boolean> = {};
          for (const attribute of span.attributes ?? []) {
            const value = attributeValue(attribute);
            if (value !== undefined) attributes[attribute.key] = value;
          }
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
            name: span.name,
            kind: span.kind,
            serviceName: String(serviceName ?? ""),
            attributes,
          });
        }
      }
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: OTLP JSON is walked defensively
  private collectMetrics(body: any): void {
    for (const resourceMetrics of body.resourceMetrics ?? []) {
      const serviceName = attributeValue(
        (resourceMetrics.resource?.attributes ?? []).find((a: { key: string }) => a.key === "service.name"),
      );
      for (const scopeMetrics of resourceMetrics.scopeMetrics ?? []) {
        for (const metric of scopeMetrics.metrics ?? []) {
          const kind = (["sum", "gauge", "histogram"] as const).find((k) => metric[k] !== undefined);
          if (kind === undefined) continue;
          for (const point of metric[kind].dataPoints ?? []) {
            this.metrics.push({
              name: metric.name,
              unit: metric.unit ?? "",
              scope: scopeMetrics.scope?.name ?? "",
              serviceName: String(serviceName ?? ""),
              kind,
              attributes: attributesOf(point.attributes),
              // int64 values arrive as JSON numbers or strings, depending on the encoder.
              value: Number(kind === "histogram" ? (point.sum ?? 0) : (point.asDouble ?? point.asInt ?? 0)),
              ...(kind === "histogram" ? { count: Number(point.count ?? 0) } : {}),
            });
          }
        }
      }
    }
  }
}

const SIGNAL_PATHS: Readonly<Record<string, "traces" | "metrics">> = {
  "/v1/traces": "traces",
  "/v1/metrics": "metrics",
};

// biome-ignore lint/suspicious/noExplicitAny: OTLP KeyValue list
function attributesOf(list: any): Record<string, string | number | boolean> {
  const attributes: Record<string, string | number | boolean> = {};
  for (const attribute of list ?? []) {
    const value = attributeValue(attribute);
    if (value !== undefined) attributes[attribute.key] = value;
  }
  return attributes;
}

// biome-ignore lint/suspicious/noExplicitAny: OTLP AnyValue
function attributeValue(attribute: any): string | number | boolean | undefined {
  const value = attribute?.value;
  if (value === undefined) return undefined;
  if ("stringValue" in value) return value.stringValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return value.doubleValue;
  if ("boolValue" in value) return value.boolValue;
  return undefined;
}
