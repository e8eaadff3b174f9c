// Which headers cross the gateway. Request headers are an allowlist: only what the
// application means (credentials, custom x- metadata) reaches a backend; protocol,
// hop-by-hop and browser headers belong to one hop. Trace context is not copied
// here: the tracing interceptor and OTel propagation write a fresh traceparent.

// x- headers that are gRPC-Web protocol, not application metadata.
const PROTOCOL_X_HEADERS = new Set(["x-grpc-web", "x-user-agent"]);

// Hop-by-hop (RFC 9110 §7.6.1) and per-protocol headers: never copied in either direction.
const NEVER_FORWARDED = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-type",
  "content-length",
  "content-encoding",
  "accept-encoding",
  "date",
  "server",
  "vary",
  "traceparent",
  "tracestate",
  ...PROTOCOL_X_HEADERS,
]);

// Prefixes of headers each protocol writes for itself (status, timeouts, encodings).
const PROTOCOL_PREFIXES = ["grpc-", "connect-", "access-control-", ":"];

/** Request headers an application may send through the gateway besides any `x-` header. */
export const DEFAULT_FORWARDED_HEADERS: readonly string[] = ["authorization"];

/**
 * The request headers to send to the backend: `authorization` (and any extra
 * `names`) plus custom `x-` headers, minus gRPC-Web protocol ones.
 */
export function requestHeadersToForward(incoming: Headers, names: ReadonlySet<string>): Headers {
  const out = new Headers();
  incoming.forEach((value, key) => {
    if (isForwardedRequestHeader(key, names)) out.append(key, value);
  });
  return out;
}

/** True for a (lower-case) request header the backend receives: one of `names` or a custom `x-` header. */
export function isForwardedRequestHeader(key: string, names: ReadonlySet<string>): boolean {
  return !NEVER_FORWARDED.has(key) && (names.has(key) || key.startsWith("x-"));
}

/** True for a backend response header or trailer the gateway relays (not one its protocol writes). */
export function isRelayedResponseHeader(key: string): boolean {
  return !NEVER_FORWARDED.has(key) && !PROTOCOL_PREFIXES.some((prefix) => key.startsWith(prefix));
}

/**
 * Copies backend response headers, trailers or error metadata onto the gateway's
 * response, leaving out what the serving protocol writes itself: a copied
 * content-type or grpc-status would corrupt the client-facing response.
 */
export function copyResponseMetadata(from: Headers, to: Headers): void {
  from.forEach((value, key) => {
    if (isRelayedResponseHeader(key)) to.append(key, value);
  });
}
