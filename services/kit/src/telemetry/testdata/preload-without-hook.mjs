// Control preload for register.test.ts: starts the same SDK as register.js but
// registers no ESM loader hook, and emits one manual span so an empty result
// cannot come from a broken exporter.
import { shutdownTelemetry, startTelemetry, withSpan } from "../../../dist/telemetry/index.js";

const telemetry = await startTelemetry();
if (!telemetry.enabled) throw new Error("expected telemetry to be enabled for this fixture");
await withSpan("control", {}, () => undefined);

process.once("SIGTERM", () => {
  void shutdownTelemetry().then(() => process.exit(0));
});
