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
  const tracesUrl = tracesUrlOf(
    parsed.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    parsed.OTEL_EXPORTER_OTLP_ENDPOINT,
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
function tracesUrlOf(tracesEndpoint: string | undefined, endpoint: string | undefined): string | undefined {
  if (tracesEndpoint !== undefined) return tracesEndpoint;
  if (endpoint === undefined) return undefined;
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}
