import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";

// A global symbol, not a module-level WeakSet: the mark must be seen by the SDK
// loaded from dist by the preload even if the marking code came from another copy.
const UNTRACED = Symbol.for("seam.telemetry.untracedConnection");

/**
 * Marks a server-side connection whose requests the http instrumentation must not
 * turn into spans, because the server on it makes its own (the gateway's RPC spans).
 */
export function markConnectionUntraced(socket: Socket): void {
  (socket as Socket & { [UNTRACED]?: true })[UNTRACED] = true;
}

/**
 * The http instrumentation's ignoreIncomingRequestHook: drops load-balancer probes
 * (`GET /healthz`, which would drown real traces) and requests on connections marked
 * with {@link markConnectionUntraced}.
 */
export function shouldIgnoreIncomingRequest(request: IncomingMessage): boolean {
  if ((request.socket as (Socket & { [UNTRACED]?: true }) | null)?.[UNTRACED] === true) return true;
  return (
    request.method === "GET" && (request.url === "/healthz" || request.url?.startsWith("/healthz?") === true)
  );
}
