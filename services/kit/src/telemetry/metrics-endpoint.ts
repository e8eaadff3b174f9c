import type { Logger } from "pino";

// A global symbol, not module state: the SDK the preload loads from dist and a server
// built from another copy of this module must meet in the one endpoint of the process.
const METRICS_ENDPOINT = Symbol.for("seam.telemetry.metricsEndpoint");

/** Opens the process's Prometheus endpoint (once); resolves to its URL. */
export type MetricsEndpointOpener = (logger?: Logger) => Promise<string>;

type Slot = { [METRICS_ENDPOINT]?: MetricsEndpointOpener | undefined };

/** Installed by the metrics SDK when SEAM_METRICS_PORT is set; removed at its shutdown. */
export function setMetricsEndpointOpener(opener: MetricsEndpointOpener | undefined): void {
  (globalThis as Slot)[METRICS_ENDPOINT] = opener;
}

/**
 * Opens the Prometheus text endpoint (`http://SEAM_METRICS_HOST:SEAM_METRICS_PORT/metrics`)
 * when the process's telemetry was started with SEAM_METRICS_PORT, and logs its address
 * on `logger`. One endpoint per process, however many servers call this: the kit's gRPC
 * server and the gateway call it once they listen, so a client-only process (a CLI
 * command) never opens a port. Resolves to the endpoint's URL, or `undefined` when the
 * process has none; rejects when the port cannot be bound.
 */
export function startMetricsEndpoint(logger?: Logger): Promise<string | undefined> {
  const open = (globalThis as Slot)[METRICS_ENDPOINT];
  return open === undefined ? Promise.resolve(undefined) : open(logger);
}
