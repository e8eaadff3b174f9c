import { z } from "zod";
import { parseEnv } from "../config/index.js";

// The standard OTEL_* variables treat an empty value as unset.
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));

const optionalUrl = optionalString.pipe(z.url({ protocol: /^https?$/ }).optional());

const protocolSchema = optionalString.pipe(z.enum(["http/protobuf", "http/json"]).optional());

const booleanFlag = optionalString.transform((value) => value?.toLowerCase() === "true");

const optionalMillis = optionalString.pipe(z.coerce.number<string | undefined>().int().positive().optional());

/**
 * The OTEL_* variables Seam itself acts on. The exporters still read their own
 * standard knobs (OTEL_EXPORTER_OTLP_HEADERS, ..._TIMEOUT, ..._COMPRESSION).
 */
export const telemetryEnvSchema = z.object({
  OTEL_SERVICE_NAME: optionalString,
  OTEL_SDK_DISABLED: booleanFlag,
  OTEL_TRACES_EXPORTER: optionalString,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_PROTOCOL: protocolSchema,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocolSchema,
});

/**
 * The variables of the metrics pipeline: the standard OTEL_* ones of OTLP metric export
 * plus Seam's own Prometheus endpoint (SEAM_METRICS_PORT, SEAM_METRICS_HOST).
 */
export const metricsEnvSchema = z.object({
  OTEL_SDK_DISABLED: booleanFlag,
  OTEL_METRICS_EXPORTER: optionalString,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_PROTOCOL: protocolSchema,
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: protocolSchema,
  OTEL_METRIC_EXPORT_INTERVAL: optionalMillis,
  OTEL_METRIC_EXPORT_TIMEOUT: optionalMillis,
  SEAM_METRICS_PORT: optionalString.pipe(
    z.coerce.number<string | undefined>().int().min(0).max(65535).optional(),
  ),
  SEAM_METRICS_HOST: optionalString,
});

/** OTLP encodings over HTTP that Seam can export traces with. */
export type OtlpHttpProtocol = "http/protobuf" | "http/json";

/** What {@link resolveTelemetryConfig} decided; `enabled: false` means nothing is started. */
export type TelemetryConfig =
  | { readonly enabled: false; readonly serviceName: string }
  | {
      readonly enabled: true;
      readonly serviceName: string;
      /** Full URL spans are POSTed to, e.g. http://collector:4318/v1/traces. */
      readonly tracesUrl: string;
      readonly protocol: OtlpHttpProtocol;
    };

/** The service name when neither OTEL_SERVICE_NAME nor an explicit name is given. */
export const DEFAULT_SERVICE_NAME = "seam";

/**
 * Decides from the environment whether tracing is on and where spans go.
 * Off unless an OTLP endpoint is set (and not switched off by OTEL_SDK_DISABLED
 * or OTEL_TRACES_EXPORTER=none), so a laptop run pays nothing for telemetry.
 * An explicit `serviceName` loses to OTEL_SERVICE_NAME: operators have the last word.
 * Throws ConfigError on a malformed endpoint or an unsupported protocol (e.g. grpc).
 */
export function resolveTelemetryConfig(
  env: Record<string, string | undefined> = process.env,
  serviceName?: string,
): TelemetryConfig {
  const parsed = parseEnv(telemetryEnvSchema, env);
  const name = parsed.OTEL_SERVICE_NAME ?? serviceName ?? DEFAULT_SERVICE_NAME;
  const tracesUrl = signalUrlOf(
    parsed.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    parsed.OTEL_EXPORTER_OTLP_ENDPOINT,
    "traces",
  );
  const off = parsed.OTEL_SDK_DISABLED || parsed.OTEL_TRACES_EXPORTER === "none" || tracesUrl === undefined;
  if (off) return { enabled: false, serviceName: name };
  return {
    enabled: true,
    serviceName: name,
    tracesUrl,
    protocol:
      parsed.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? parsed.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf",
  };
}

// Per the OTLP exporter spec: the signal-specific endpoint is used as is, the
// generic one gets the signal path appended.
function signalUrlOf(
  signalEndpoint: string | undefined,
  endpoint: string | undefined,
  signal: "traces" | "metrics",
): string | undefined {
  if (signalEndpoint !== undefined) return signalEndpoint;
  if (endpoint === undefined) return undefined;
  return `${endpoint.replace(/\/+$/, "")}/v1/${signal}`;
}

/** Where and how often metrics are pushed over OTLP/HTTP. */
export interface OtlpMetricsConfig {
  /** Full URL metrics are POSTed to, e.g. http://collector:4318/v1/metrics. */
  readonly url: string;
  readonly protocol: OtlpHttpProtocol;
  /** OTEL_METRIC_EXPORT_INTERVAL: time between exports, 60 s by default. */
  readonly intervalMs: number;
  /** OTEL_METRIC_EXPORT_TIMEOUT (30 s by default), never more than the interval. */
  readonly timeoutMs: number;
}

/** Where the Prometheus text endpoint listens. */
export interface PrometheusConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/**
 * What {@link resolveMetricsConfig} decided. With `enabled: false` no MeterProvider is
 * started and every instrument stays the API's no-op.
 */
export type MetricsConfig =
  | { readonly enabled: false }
  | {
      readonly enabled: true;
      /** Present when an OTLP endpoint is configured. */
      readonly otlp?: OtlpMetricsConfig;
      /** Present when SEAM_METRICS_PORT is set. */
      readonly prometheus?: PrometheusConfig;
    };

/** Host of the Prometheus endpoint when SEAM_METRICS_HOST is not set: loopback only. */
export const DEFAULT_METRICS_HOST = "127.0.0.1";

const DEFAULT_EXPORT_INTERVAL_MS = 60_000;
const DEFAULT_EXPORT_TIMEOUT_MS = 30_000;

/**
 * Decides from the environment whether metrics are collected and where they go: pushed
 * over OTLP/HTTP when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as is,
 * or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics; OTEL_METRICS_EXPORTER=none turns this
 * part off), and served as Prometheus text on SEAM_METRICS_HOST:SEAM_METRICS_PORT/metrics
 * when SEAM_METRICS_PORT is set. Off when neither is, or with OTEL_SDK_DISABLED=true.
 * Throws ConfigError on a malformed endpoint, port or interval, or an unsupported protocol.
 */
export function resolveMetricsConfig(env: Record<string, string | undefined> = process.env): MetricsConfig {
  const parsed = parseEnv(metricsEnvSchema, env);
  if (parsed.OTEL_SDK_DISABLED) return { enabled: false };
  const url =
    parsed.OTEL_METRICS_EXPORTER === "none"
      ? undefined
      : signalUrlOf(
          parsed.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
          parsed.OTEL_EXPORTER_OTLP_ENDPOINT,
          "metrics",
        );
  const intervalMs = parsed.OTEL_METRIC_EXPORT_INTERVAL ?? DEFAULT_EXPORT_INTERVAL_MS;
  const otlp: OtlpMetricsConfig | undefined =
    url === undefined
      ? undefined
      : {
          url,
          protocol:
            parsed.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ??
            parsed.OTEL_EXPORTER_OTLP_PROTOCOL ??
            "http/protobuf",
          intervalMs,
          // The SDK refuses a timeout longer than the interval.
          timeoutMs: Math.min(parsed.OTEL_METRIC_EXPORT_TIMEOUT ?? DEFAULT_EXPORT_TIMEOUT_MS, intervalMs),
        };
  const prometheus: PrometheusConfig | undefined =
    parsed.SEAM_METRICS_PORT === undefined
      ? undefined
      : { host: parsed.SEAM_METRICS_HOST ?? DEFAULT_METRICS_HOST, port: parsed.SEAM_METRICS_PORT };
  if (otlp === undefined && prometheus === undefined) return { enabled: false };
  return {
    enabled: true,
    ...(otlp === undefined ? {} : { otlp }),
    ...(prometheus === undefined ? {} : { prometheus }),
  };
}
