export {
  DEFAULT_METRICS_HOST,
  DEFAULT_SERVICE_NAME,
  type MetricsConfig,
  metricsEnvSchema,
  type OtlpHttpProtocol,
  type OtlpMetricsConfig,
  type PrometheusConfig,
  resolveMetricsConfig,
  resolveTelemetryConfig,
  type TelemetryConfig,
  telemetryEnvSchema,
} from "./config.js";
export { createInstruments } from "./instruments.js";
export { startMetricsEndpoint } from "./metrics-endpoint.js";
export {
  createRpcServerMetrics,
  type RpcRecorder,
  type RpcServerMetrics,
  type RpcServerMetricsOptions,
} from "./rpc-metrics.js";
export { shutdownTelemetry, startTelemetry, type Telemetry, type TelemetryOptions } from "./sdk.js";
export { markConnectionUntraced, shouldIgnoreIncomingRequest } from "./untraced.js";
export { withSpan } from "./with-span.js";
