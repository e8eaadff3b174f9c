import type { Logger } from "pino";
import type { GrpcServer } from "./server.js";

/** Options of {@link installShutdownHandlers}. */
export interface ShutdownHandlerOptions {
  /** Time running calls get before they are cancelled. Default 10 s. */
  readonly graceMs?: number;
  /** Signals that start the drain. Default SIGTERM and SIGINT. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Runs after the server is down, before exiting (close stores, flush telemetry). */
  readonly beforeExit?: () => Promise<void>;
  /** How to end the process; injectable for tests. Default `process.exit`. */
  readonly exit?: (code: number) => void;
}

/**
 * On SIGTERM/SIGINT: drain `server` (NOT_SERVING, finish running calls, cancel
 * stragglers after the grace period), run `beforeExit`, then exit 0. A second
 * signal exits 1 at once. Returns a function that removes the handlers.
 */
export function installShutdownHandlers(
  server: Pick<GrpcServer, "shutdown">,
  logger: Logger,
  options: ShutdownHandlerOptions = {},
): () => void {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let draining = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      logger.warn({ signal }, "second signal during shutdown; exiting now");
      exit(1);
      return;
    }
    draining = true;
    logger.info({ signal }, "shutting down");
    void (async () => {
      try {
        await server.shutdown(options.graceMs ?? 10_000);
        await options.beforeExit?.();
        exit(0);
      } catch (err) {
        logger.error({ err }, "shutdown failed");
        exit(1);
      }
    })();
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.removeListener(signal, onSignal);
  };
}
