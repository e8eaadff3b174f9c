#!/usr/bin/env node
// The `seam` executable. Telemetry must be registered before grpc-js, ioredis or
// http load (ESM loader hook), so everything else is imported dynamically after it.
const argv = process.argv.slice(2);
if (process.env.OTEL_SERVICE_NAME === undefined) {
  // One name for a service everywhere: `seam serve registry` reports as "registry".
  process.env.OTEL_SERVICE_NAME = argv[0] === "serve" && argv[1] !== undefined ? argv[1] : "seam";
}
// onnxruntime-node 1.30 starts Microsoft's usage telemetry on Linux (a local database and
// uploads) unless told not to; Seam's telemetry is OpenTelemetry, and only where configured.
process.env.ORT_DISABLE_TELEMETRY ??= "1";
await import("@seam/kit/telemetry/register");
const { run } = await import("./run.js");
process.exitCode = await run(argv);
