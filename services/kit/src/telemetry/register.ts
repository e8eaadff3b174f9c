/**
 * Process preload: `node --import @seam/kit/telemetry/register app.js`.
 *
 * Registers the OpenTelemetry ESM loader hook and then starts the SDK, both before
 * the application's first import runs. In ESM the hook is what lets instrumentations
 * patch grpc-js, ioredis and http: without it an `import` of them never reaches the
 * require hooks and no client/server spans appear. With no OTLP endpoint configured
 * neither the hook nor the SDK is installed, so the default run pays nothing.
 *
 * Metrics have their own switch (an OTLP endpoint, or SEAM_METRICS_PORT for Prometheus
 * text): their MeterProvider is started here too, but needs no hook, so metrics alone
 * (SEAM_METRICS_PORT without an OTLP endpoint) register none and load no trace SDK.
 *
 * On SIGTERM pending spans and metrics are flushed. When the application handles SIGTERM itself
 * it owns the exit and should `await shutdownTelemetry()` last in its drain; otherwise
 * the signal is re-raised after the flush so the default exit still happens.
 */
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";
import { resolveMetricsConfig, resolveTelemetryConfig } from "./config.js";

// Only these modules go through import-in-the-middle's wrapper: wrapping every
// module costs startup time and breaks the odd package with unusual exports.
const INSTRUMENTED_MODULES = ["@grpc/grpc-js", "ioredis", "http", "https"];

// Worker threads inherit --import; one SDK per process is enough (and a second one
// in a worker would export its spans separately, unparented).
const tracing = isMainThread && resolveTelemetryConfig(process.env).enabled;
const metering = isMainThread && resolveMetricsConfig(process.env).enabled;
if (tracing || metering) {
  if (tracing) {
    register("@opentelemetry/instrumentation/hook.mjs", import.meta.url, {
      data: { include: INSTRUMENTED_MODULES },
    });
  }
  // Imported only after the hook exists, so nothing instrumented loads unhooked.
  const { startTelemetry } = await import("./sdk.js");
  const telemetry = await startTelemetry();

  process.once("SIGTERM", () => {
    // Decided now: an application `once` listener is gone by the time the flush ends.
    const applicationHandlesSignal = process.listenerCount("SIGTERM") > 0;
    void telemetry.shutdown().then(() => {
      if (!applicationHandlesSignal) process.kill(process.pid, "SIGTERM");
    });
  });
  // A process that simply runs out of work (a CLI command) still gets its spans out.
  process.once("beforeExit", () => {
    void telemetry.shutdown();
  });
}
