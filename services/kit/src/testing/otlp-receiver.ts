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

/** OTLP span kinds used in assertions. */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

/**
 * A minimal OTLP/HTTP collector for tests: accepts POST /v1/traces in the JSON
 * encoding (start the exporters with OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json)
 * and keeps every span it receives. Spans really travel over HTTP from the
 * process under test, so the whole export path is exercised.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Content types of the export requests, protobuf ones included (not decoded). */
  readonly contentTypes: string[] = [];
  requests = 0;
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      this.requests++;
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      const contentType = req.headers["content-type"] ?? "";
      this.contentTypes.push(contentType);
      if (contentType.startsWith("application/json")) {
        this.collect(JSON.parse(Buffer.concat(chunks).toString("utf8")));
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
