#!/usr/bin/env node
// The `seam` executable. Telemetry must be registered before grpc-js, ioredis or
// http load (ESM loader hook), so everything else is imported dynamically after it.
const argv = process.argv.slice(2);
if (process.env.OTEL_SERVICE_NAME === undefined) {
  // One name for a service everywhere: `seam serve registry` reports as "registry".
  process.env.OTEL_SERVICE_NAME = argv[0] === "serve" && argv[1] !== undefined ? argv[1] : "seam";
}
await import("@seam/kit/telemetry/register");
const { run } = await import("./run.js");
process.exitCode = await run(argv);
