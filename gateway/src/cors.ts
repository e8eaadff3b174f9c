import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { cors } from "@connectrpc/connect";

/** A request as the gateway's HTTP/2 server with HTTP/1.1 fallback hands it over. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
/** The matching response. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

// Browsers cache a preflight this long (seconds), sparing an OPTIONS per call.
const PREFLIGHT_MAX_AGE = "7200";

/**
 * Applies the CORS policy to a request: allowed origins get Access-Control-* headers
 * (connect-es's lists of methods and headers plus the application headers the gateway
 * forwards), preflights are answered here. Returns true when the response is complete.
 * `origins` holds exact origins or "*".
 */
export function createCorsHandler(
  origins: readonly string[],
  forwardedHeaders: ReadonlySet<string>,
): (req: NodeRequest, res: NodeResponse) => boolean {
  const anyOrigin = origins.includes("*");
  const allowed = new Set(origins);
  const exposed = cors.exposedHeaders.join(", ");

  return (req, res) => {
    const origin = req.headers.origin;
    if (origin === undefined) return false; // not a cross-origin browser request
    const originAllowed = anyOrigin || allowed.has(origin);
    const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;

    if (originAllowed) {
      res.setHeader("access-control-allow-origin", anyOrigin ? "*" : origin);
      if (!anyOrigin) res.setHeader("vary", "Origin");
      res.setHeader("access-control-expose-headers", exposed);
    }
    if (!preflight) return false;
    if (!originAllowed) {
      res.writeHead(403).end();
      return true;
    }
    res.setHeader("access-control-allow-methods", cors.allowedMethods.join(", "));
    res.setHeader("access-control-allow-headers", allowedHeaders(req, forwardedHeaders).join(", "));
    res.setHeader("access-control-max-age", PREFLIGHT_MAX_AGE);
    res.writeHead(204).end();
    return true;
  };
}

// The protocol headers plus the application headers that the gateway would forward anyway.
function allowedHeaders(req: NodeRequest, forwardedHeaders: ReadonlySet<string>): string[] {
  const requested = String(req.headers["access-control-request-headers"] ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.startsWith("x-"));
  return [...new Set([...cors.allowedHeaders, ...forwardedHeaders, ...requested])];
}
