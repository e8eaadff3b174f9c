export {
  DEFAULT_SERVICE_NAME,
  type OtlpHttpProtocol,
  resolveTelemetryConfig,
  type TelemetryConfig,
  telemetryEnvSchema,
} from "./config.js";
export { shutdownTelemetry, startTelemetry, type Telemetry, type TelemetryOptions } from "./sdk.js";
export { markConnectionUntraced, shouldIgnoreIncomingRequest } from "./untraced.js";
export { withSpan } from "./with-span.js";
