export { failure } from "./failure.js";
export { type InMemoryTracing, startInMemoryTracing } from "./in-memory-tracing.js";
export { OtlpReceiver, type ReceivedMetricPoint, type ReceivedSpan, SPAN_KIND } from "./otlp-receiver.js";
export { findSamples, type PrometheusSample, parsePrometheusText } from "./prometheus-text.js";
export { type RedisServer, type RedisServerOptions, startRedisServer } from "./redis-server.js";
export {
  filesUnder,
  openTestStores,
  type StoreKind,
  startTestBackend,
  type TestBackend,
  type TestStores,
} from "./test-stores.js";
