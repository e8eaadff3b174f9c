import {
  type MetricsConfig,
  resolveMetricsConfig,
  resolveTelemetryConfig,
  type TelemetryConfig,
} from "./config.js";
import { shouldIgnoreIncomingRequest } from "./untraced.js";

/** Options of {@link startTelemetry}. */
export interface TelemetryOptions {
  /** service.name when OTEL_SERVICE_NAME is not set; "seam" when neither is. */
  readonly serviceName?: string;
  /** Where the OTEL_* and SEAM_METRICS_* variables are read from; process.env by default. */
  readonly env?: Record<string, string | undefined>;
}

/** A started (or deliberately not started) telemetry pipeline. */
export interface Telemetry {
  /** Whether an SDK is running and exporting spans. */
  readonly enabled: boolean;
  readonly config: TelemetryConfig;
  /** The metrics pipeline: a global MeterProvider runs when `metrics.enabled`. */
  readonly metrics: MetricsConfig;
  /** Flushes pending spans and metrics and stops both pipelines. Idempotent; never rejects. */
  shutdown(): Promise<void>;
}

// One SDK per process: a second start would patch modules twice.
let current: Promise<Telemetry> | undefined;

/**
 * Starts OpenTelemetry once per process. Traces: the Node SDK with grpc-js, http and
 * ioredis instrumentations, W3C tracecontext propagation and an OTLP/HTTP trace exporter
 * configured by the standard OTEL_EXPORTER_OTLP_* variables (`enabled`). Metrics, on
 * their own switch (`metrics.enabled`, see {@link resolveMetricsConfig}): a global
 * MeterProvider exporting over OTLP/HTTP and/or serving Prometheus text once a server
 * calls `startMetricsEndpoint`. What is off is neither loaded nor started. Later calls
 * return the first result. In ESM the loader hook must already be registered, which
 * `@seam/kit/telemetry/register` does; call this directly only from CommonJS or tests.
 */
export function startTelemetry(options: TelemetryOptions = {}): Promise<Telemetry> {
  current ??= start(options);
  return current;
}

/** Flushes and stops the process's SDK if one was started; for a service's SIGTERM drain. */
export async function shutdownTelemetry(): Promise<void> {
  if (current === undefined) return;
  await (await current).shutdown();
}

async function start(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const config = resolveTelemetryConfig(env, options.serviceName);
  const metricsConfig = resolveMetricsConfig(env);
  const stopTraces = config.enabled ? await startTraces(config) : undefined;
  // After the trace SDK: its instrumentations keep the no-op meter they were built with,
  // so they add no http/grpc metrics of their own next to the kit's per-RPC ones.
  const startedMetrics = metricsConfig.enabled
    ? await (await import("./metrics-sdk.js")).startMetrics(metricsConfig, config.serviceName)
    : undefined;

  let stopped: Promise<void> | undefined;
  return {
    enabled: config.enabled,
    config,
    metrics: metricsConfig,
    shutdown() {
      stopped ??= Promise.all([stopTraces?.(), startedMetrics?.shutdown()]).then(() => undefined);
      return stopped;
    },
  };
}

async function startTraces(
  config: Extract<TelemetryConfig, { enabled: true }>,
): Promise<() => Promise<void>> {
  // Loaded only when tracing is on, so a process without an endpoint never pays for the SDK.
  const [
    { NodeSDK },
    { BatchSpanProcessor },
    { W3CTraceContextPropagator },
    { resourceFromAttributes },
    { ATTR_SERVICE_NAME },
    { GrpcInstrumentation },
    { HttpInstrumentation },
    { IORedisInstrumentation },
  ] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/semantic-conventions"),
    import("@opentelemetry/instrumentation-grpc"),
    import("@opentelemetry/instrumentation-http"),
    import("@opentelemetry/instrumentation-ioredis"),
  ]);
  const { OTLPTraceExporter } =
    config.protocol === "http/json"
      ? await import("@opentelemetry/exporter-trace-otlp-http")
      : await import("@opentelemetry/exporter-trace-otlp-proto");

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
    textMapPropagator: new W3CTraceContextPropagator(),
    // Traces only: without these NodeSDK would also start OTLP metric and log exporters.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // Health checks (load balancers, kubelet probes every few seconds) are not requests.
      // The server side matches the method's last name only: no Seam method is called so.
      new GrpcInstrumentation({ ignoreGrpcMethods: ["Check", "Watch"] }),
      new HttpInstrumentation({ ignoreIncomingRequestHook: shouldIgnoreIncomingRequest }),
      // Command names only: the arguments are stored values (protobuf records, blob chunks).
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
    ],
  });
  sdk.start();

  // A failed flush must not turn a clean exit into a crash: the spans are lost either way.
  return () => sdk.shutdown().catch(() => undefined);
}
