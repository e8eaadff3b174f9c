export {
  type BackendAddresses,
  backendsEnvSchema,
  connectBackends,
  loadBackendAddresses,
} from "./backends.js";
export {
  DEFAULT_MAX_REQUEST_BYTES,
  type GatewayConfig,
  gatewayEnvSchema,
  loadGatewayConfig,
} from "./config.js";
export { createGateway, type Gateway, type GatewayOptions, type GatewayService } from "./gateway.js";
export { DEFAULT_FORWARDED_HEADERS } from "./headers.js";
export { runGateway } from "./main.js";
export { createMetricsInterceptor } from "./metrics.js";
export { createTracingInterceptor } from "./tracing.js";
